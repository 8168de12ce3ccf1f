// swift-tools-version: 6.1
// The benchmark suites, in their own package so that users of the library pull in no benchmark dependency.
//   cd Benchmarks && swift package benchmark            (all suites)
//   cd Benchmarks && swift package benchmark --target Kernels
import PackageDescription

let package = Package(
    name: "Seq2SeqBenchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "Seq2Seq", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "Kernels",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Seq2Seq", package: "Seq2Seq"),
            ],
            path: "Benchmarks/Kernels",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "Workloads",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Seq2Seq", package: "Seq2Seq"),
                .product(name: "Seq2SeqReference", package: "Seq2Seq"),
            ],
            path: "Benchmarks/Workloads",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
