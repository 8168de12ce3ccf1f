// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Seq2Seq",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "Seq2Seq", targets: ["Seq2Seq"]),
        .library(name: "Seq2SeqReference", targets: ["Seq2SeqReference"]),
        .library(name: "Seq2SeqConvert", targets: ["Seq2SeqConvert"]),
        .executable(name: "seq2seq", targets: ["seq2seq"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // MARK: The C boundary
        .systemLibrary(
            name: "CSystemBLAS",
            path: "CSystemBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]
        ),

        // MARK: Public API
        .target(
            name: "Seq2Seq",
            dependencies: ["CSystemBLAS"],
            resources: [.copy("Resources/dates")]
        ),
        .target(
            name: "Seq2SeqReference",
            dependencies: ["Seq2Seq"]
        ),
        .executableTarget(
            name: "seq2seq",
            dependencies: [
                "Seq2Seq",
                "Seq2SeqReference",
                "Seq2SeqConvert",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: Checkpoint conversion
        // Reads torch.save checkpoints (zip + restricted unpickler, nothing executed) for the toolkit converters.
        .target(
            name: "Seq2SeqConvert",
            dependencies: ["Seq2Seq", .product(name: "Yams", package: "Yams")]
        ),

        // MARK: Tests
        .testTarget(
            name: "Seq2SeqTests",
            dependencies: ["Seq2Seq", "Seq2SeqReference", "Seq2SeqConvert"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
