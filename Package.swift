// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Seq2Seq",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "Seq2Seq", targets: ["Seq2Seq"]),
        .library(name: "Seq2SeqReference", targets: ["Seq2SeqReference"]),
        .library(name: "Seq2SeqText", targets: ["Seq2SeqText"]),
        .library(name: "Seq2SeqConvert", targets: ["Seq2SeqConvert"]),
        .executable(name: "seq2seq", targets: ["seq2seq"]),
        .executable(name: "seq2seq-server", targets: ["seq2seq-server"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        // Documentation only: `swift package generate-documentation` (scripts/docs.sh).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
        // The server only (seq2seq-server, Seq2SeqServer): the library and the CLI pull in none of these.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),  // LogHandler.log(event:)
    ],
    targets: [
        // MARK: The C boundary
        .systemLibrary(
            name: "CSystemBLAS",
            path: "CSystemBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]
        ),
        .systemLibrary(
            name: "CSystemSentencePiece",
            path: "CSystemSentencePiece",
            pkgConfig: "sentencepiece",
            providers: [.apt(["libsentencepiece-dev"])]
        ),
        // The extern "C" surface over SentencePiece's C++ API; only Seq2SeqText uses it.
        .target(
            name: "CSentencePieceShim",
            dependencies: ["CSystemSentencePiece"]
        ),

        // The engine's own kernels (AVX2/FMA/F16C chosen at run time, scalar fallback); only
        // Sources/Seq2Seq/BLAS/Kernels.swift calls them.
        .target(
            name: "CSeq2SeqKernels",
            cSettings: [.define("_GNU_SOURCE")],
            linkerSettings: [.linkedLibrary("m", .when(platforms: [.linux]))]
        ),

        // MARK: Public API
        .target(
            name: "Seq2Seq",
            dependencies: ["CSystemBLAS", "CSeq2SeqKernels"],
            resources: [.copy("Resources/dates")]
        ),
        .target(
            name: "Seq2SeqReference",
            dependencies: ["Seq2Seq"]
        ),
        // Text in, text out: every tokenizer kind of MODEL.md (SentencePiece through the C++ shim, BPE in
        // Swift), kept out of Seq2Seq so that the core library stays free of C++.
        .target(
            name: "Seq2SeqText",
            dependencies: ["Seq2Seq", "CSentencePieceShim"]
        ),
        .executableTarget(
            name: "seq2seq",
            dependencies: [
                "Seq2Seq",
                "Seq2SeqReference",
                "Seq2SeqText",
                "Seq2SeqConvert",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: The server
        // Step-level continuous batching over HTTP (Hummingbird 2 + ServiceLifecycle), one engine thread per model.
        .target(
            name: "Seq2SeqServer",
            dependencies: [
                "Seq2Seq",
                "Seq2SeqText",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "seq2seq-server",
            dependencies: [
                "Seq2SeqServer",
                "Seq2Seq",
                "Seq2SeqText",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // MARK: Checkpoint conversion
        // Reads torch.save checkpoints (zip + restricted unpickler, nothing executed) for the toolkit converters.
        .target(
            name: "Seq2SeqConvert",
            dependencies: ["Seq2Seq", "Seq2SeqText", .product(name: "Yams", package: "Yams")]
        ),

        // MARK: Tests
        // Test support: counts the calling thread's heap allocations by interposing malloc & co. in the test
        // executable (glibc; compiled out under the sanitizers). Linked into Seq2SeqTests only.
        .target(
            name: "CAllocationCounter",
            path: "Tests/CAllocationCounter"
        ),
        .testTarget(
            name: "Seq2SeqTests",
            dependencies: ["Seq2Seq", "Seq2SeqReference", "Seq2SeqText", "Seq2SeqConvert", "CAllocationCounter"]
        ),
        .testTarget(
            name: "Seq2SeqServerTests",
            dependencies: [
                "Seq2SeqServer",
                "Seq2Seq",
                "Seq2SeqText",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6],
    cxxLanguageStandard: .cxx17
)
