// swift-tools-version: 6.1
// The server's open-loop load generator, in its own package so that neither the library nor the server
// pulls in an HTTP client.
//   cd Benchmarks/LoadGenerator && swift build -c release
//   .build/release/seq2seq-load --url http://127.0.0.1:8080 --rate 200 --duration 30
import PackageDescription

let package = Package(
    name: "Seq2SeqLoadGenerator",
    platforms: [.macOS(.v14)],  // withThrowingDiscardingTaskGroup
    dependencies: [
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(
            name: "seq2seq-load",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
