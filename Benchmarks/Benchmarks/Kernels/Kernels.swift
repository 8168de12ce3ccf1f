// sgemv and sgemm through the engine's Swift BLAS layer beside the same products as plain Swift loops.
// Each pair is checked to agree before it is timed.
import Benchmark
import Seq2Seq

/// Deterministic values in [-1, 1).
func values(_ n: Int, seed: UInt64) -> [Float] {
    var s = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1
    return (0..<n).map { _ in
        s = s &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Float(Int64(bitPattern: s >> 11) % 2_000_000) / 1_000_000 - 1
    }
}

/// `y = A x` with plain loops, `A (m, n)` row-major.
func naiveGemv(_ a: [Float], _ x: [Float], m: Int, n: Int, into y: inout [Float]) {
    for i in 0..<m {
        var s: Float = 0
        for j in 0..<n { s += a[i * n + j] * x[j] }
        y[i] = s
    }
}

/// `C = A Bᵀ` with plain loops: `A (m, k)`, `B (n, k)`, as the engine multiplies states by weights.
func naiveGemmNT(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int, into c: inout [Float]) {
    for i in 0..<m {
        for j in 0..<n {
            var s: Float = 0
            for p in 0..<k { s += a[i * k + p] * b[j * k + p] }
            c[i * n + j] = s
        }
    }
}

func verify(_ a: [Float], _ b: [Float], _ what: String) {
    precondition(a.count == b.count, "\(what): sizes differ")
    for i in a.indices where abs(a[i] - b[i]) > 1e-3 * max(1, abs(b[i])) {
        fatalError("\(what): element \(i) is \(a[i]) with BLAS but \(b[i]) with loops")
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput, .mallocCountTotal],
                                           maxDuration: .seconds(2), maxIterations: 10_000)

    // GEMV at the shapes of B1's output projection (8000 × 256) and recurrent product (768 × 256).
    for (m, n) in [(8000, 256), (768, 256)] {
        let a = values(m * n, seed: 1), x = values(n, seed: 2)
        let matrix = Matrix(rows: m, cols: n, storage: a)
        var y1 = [Float](repeating: 0, count: m), y2 = y1
        Matrix.gemv(matrix, x, into: &y1)
        naiveGemv(a, x, m: m, n: n, into: &y2)
        verify(y1, y2, "gemv \(m)x\(n)")
        Benchmark("sgemv \(m)x\(n) BLAS") { benchmark in
            for _ in benchmark.scaledIterations { Matrix.gemv(matrix, x, into: &y1); blackHole(y1[0]) }
        }
        Benchmark("sgemv \(m)x\(n) naive loop") { benchmark in
            for _ in benchmark.scaledIterations { naiveGemv(a, x, m: m, n: n, into: &y2); blackHole(y2[0]) }
        }
    }

    // GEMM for a batch of 32 states against the same weights.
    for (rows, m, k) in [(32, 768, 256), (32, 8000, 256)] {
        let w = values(m * k, seed: 3), s = values(rows * k, seed: 4)
        let weights = Matrix(rows: m, cols: k, storage: w), states = Matrix(rows: rows, cols: k, storage: s)
        var c1 = Matrix(rows: rows, cols: m), c2 = [Float](repeating: 0, count: rows * m)
        Matrix.gemm(states, weights, transposeB: true, into: &c1)
        naiveGemmNT(s, w, m: rows, n: m, k: k, into: &c2)
        verify(c1.storage, c2, "gemm \(rows)x\(m)x\(k)")
        Benchmark("sgemm \(rows)x\(m)x\(k) BLAS") { benchmark in
            for _ in benchmark.scaledIterations { Matrix.gemm(states, weights, transposeB: true, into: &c1); blackHole(c1.storage[0]) }
        }
        Benchmark("sgemm \(rows)x\(m)x\(k) naive loop", configuration: .init(maxDuration: .seconds(2), maxIterations: 20)) { benchmark in
            for _ in benchmark.scaledIterations { naiveGemmNT(s, w, m: rows, n: m, k: k, into: &c2); blackHole(c2[0]) }
        }
    }
}
