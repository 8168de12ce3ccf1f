#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What this machine's BLAS can do through the engine's own product path (OpenBLAS single-threaded in each
/// part, parts split across `BLASThreads.count` threads): the yardsticks that benchmark figures are read against.
public struct MachineLimits: Sendable, CustomStringConvertible {
    /// sgemm rate for a large square product (2048³), GFLOP/s.
    public var sgemmLarge: Double
    /// sgemm rate for `(32, k) · (k, m)` at the given shapes, GFLOP/s.
    public var sgemmBatch: [(shape: String, gflops: Double)]
    /// sgemv rate, GB/s of weights read, for shapes that fit in cache and that do not.
    public var sgemv: [(shape: String, gbPerSecond: Double)]
    /// Read bandwidth from memory (a 512 MiB sum with 64-byte vectors, split across the threads), GB/s.
    public var memoryRead: Double
    /// Threads used.
    public var threads: Int

    /// Measures the limits (takes a few seconds). Each figure is the median of several runs.
    public static func measure(shapes: [(rows: Int, cols: Int)] = [(8000, 256), (32000, 512)]) -> MachineLimits {
        BLASThreads.configure()
        let threads = BLASThreads.count
        let n = 2048
        let a = filled(n * n), b = filled(n * n), c = filled(n * n)
        let large = median(3) {
            BLAS.gemm(ConstMatrixView(a, rows: n, cols: n), .none, ConstMatrixView(b, rows: n, cols: n), .none,
                      into: MatrixView(c, rows: n, cols: n))
        }
        var batch: [(String, Double)] = []
        var gemv: [(String, Double)] = []
        for (m, k) in shapes {
            let w = filled(m * k), x = filled(32 * k), y = filled(32 * m)
            let wv = Weight(ConstMatrixView(w, rows: m, cols: k))
            let t = median(5) { accumulateProduct(ConstMatrixView(x, rows: 32, cols: k), wv, into: MatrixView(y, rows: 32, cols: m), beta: 0) }
            batch.append(("32×\(k) · \(k)×\(m)", 2.0 * 32 * Double(m * k) / t / 1e9))
            let tv = median(9) { accumulateProduct(ConstMatrixView(x, rows: 1, cols: k), wv, into: MatrixView(y, rows: 1, cols: m), beta: 0) }
            gemv.append(("\(m)×\(k)", Double(m * k * 4) / tv / 1e9))
            for p in [w, x, y] { p.deallocate() }
        }
        let count = 128 << 20  // 512 MiB of floats
        let big = filled(count)
        let sink = UnsafeMutablePointer<Float>.allocate(capacity: threads)  // (threads): keeps the sums alive
        var job = (base: big, chunk: count / threads, sink: sink)
        let read = median(3) {
            WorkerPool.shared.run(parts: threads, state: &job) { raw, p in
                let job = raw.assumingMemoryBound(to: (base: UnsafeMutablePointer<Float>, chunk: Int,
                                                       sink: UnsafeMutablePointer<Float>).self).pointee
                job.sink[p] = streamSum(job.base + p * job.chunk, job.chunk)
            }
        }
        sink.deallocate()
        for p in [a, b, c, big] { p.deallocate() }
        return MachineLimits(sgemmLarge: 2.0 * Double(n * n) * Double(n) / large / 1e9, sgemmBatch: batch,
                             sgemv: gemv, memoryRead: Double(count * 4) / read / 1e9, threads: threads)
    }

    public var description: String {
        var s = "machine (\(threads) thread\(threads == 1 ? "" : "s"), \(BLASThreads.configuration)):\n"
        s += "  sgemm 2048³: \(round1(sgemmLarge)) GFLOP/s\n"
        for (shape, g) in sgemmBatch { s += "  sgemm \(shape): \(round1(g)) GFLOP/s\n" }
        for (shape, g) in sgemv { s += "  sgemv \(shape): \(round1(g)) GB/s\n" }
        s += "  memory read (512 MiB): \(round1(memoryRead)) GB/s"
        return s
    }
}

/// Σ x over `n` floats (a multiple of 64) with four 16-lane accumulators: a pure read stream.
private func streamSum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
    var a = SIMD16<Float>(), b = a, c = a, d = a
    let raw = UnsafeRawPointer(x)
    var i = 0
    while i + 64 <= n {
        a += raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
        b += raw.loadUnaligned(fromByteOffset: 4 * i + 64, as: SIMD16<Float>.self)
        c += raw.loadUnaligned(fromByteOffset: 4 * i + 128, as: SIMD16<Float>.self)
        d += raw.loadUnaligned(fromByteOffset: 4 * i + 192, as: SIMD16<Float>.self)
        i += 64
    }
    return (a + b + c + d).sum()
}

private func round1(_ x: Double) -> String { "\((x * 10).rounded() / 10)" }

private func filled(_ n: Int) -> UnsafeMutablePointer<Float> {
    let p = UnsafeMutablePointer<Float>.allocate(capacity: n)
    for i in 0..<n { p[i] = Float(i % 7) * 0.01 - 0.03 }
    return p
}

/// Median seconds of `runs` calls of `body` after one warm-up call.
private func median(_ runs: Int, _ body: () -> Void) -> Double {
    body()
    var times: [Double] = []
    for _ in 0..<runs {
        var t0 = timespec(), t1 = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t0)
        body()
        clock_gettime(CLOCK_MONOTONIC, &t1)
        times.append(Double(t1.tv_sec - t0.tv_sec) + Double(t1.tv_nsec - t0.tv_nsec) * 1e-9)
    }
    return times.sorted()[runs / 2]
}
