import Foundation
import Synchronization
@testable import Seq2Seq
import Testing

/// The BLAS layer against plain loops, for odd sizes, both transposes, alpha/beta and leading dimensions.
@Suite("BLAS layer")
struct BLASTests {
    static let sizes = [1, 3, 17, 255]

    /// Deterministic values in [-1, 1).
    static func values(_ n: Int, seed: Int) -> [Float] {
        var state = UInt64(truncatingIfNeeded: seed) &* 0x9E37_79B9_7F4A_7C15 &+ 1
        return (0..<n).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state >> 11) % 2_000_000) / 1_000_000 - 1
        }
    }

    static func naiveProduct(_ a: Matrix, _ ta: Bool, _ b: Matrix, _ tb: Bool) -> [Double] {
        let m = ta ? a.cols : a.rows, k = ta ? a.rows : a.cols, n = tb ? b.rows : b.cols
        var out = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k { s += Double(ta ? a[p, i] : a[i, p]) * Double(tb ? b[j, p] : b[p, j]) }
                out[i * n + j] = s
            }
        }
        return out
    }

    static func expectClose(_ got: [Float], _ want: [Double], scale: Int, _ what: String) {
        #expect(got.count == want.count, "\(what): \(got.count) values, expected \(want.count)")
        let tol = 1e-5 * Double(max(scale, 1))
        if let worst = maxDifference(got.map(Double.init), want) {
            #expect(worst.diff <= tol, "\(what): element \(worst.index) differs by \(worst.diff) (tolerance \(tol))")
        }
    }

    @Test("gemm equals the triple loop", arguments: sizes, [false, true])
    func gemm(_ size: Int, _ transposeA: Bool) {
        for (k, n) in [(3, size), (size, 17), (255, 1)] {
            for transposeB in [false, true] {
                let m = size
                let a = transposeA ? Matrix(rows: k, cols: m, storage: Self.values(k * m, seed: m + k))
                                   : Matrix(rows: m, cols: k, storage: Self.values(m * k, seed: m + k))
                let b = transposeB ? Matrix(rows: n, cols: k, storage: Self.values(n * k, seed: n))
                                   : Matrix(rows: k, cols: n, storage: Self.values(k * n, seed: n))
                let c0 = Matrix(rows: m, cols: n, storage: Self.values(m * n, seed: 7))
                var c = c0
                Matrix.gemm(a, transposeA: transposeA, b, transposeB: transposeB, alpha: 0.5, beta: -2, into: &c)
                let p = Self.naiveProduct(a, transposeA, b, transposeB)
                let want = p.indices.map { 0.5 * p[$0] - 2 * Double(c0.storage[$0]) }
                Self.expectClose(c.storage, want, scale: k, "gemm m=\(m) n=\(n) k=\(k) tA=\(transposeA) tB=\(transposeB)")
            }
        }
    }

    @Test("gemv equals the double loop", arguments: sizes, [false, true])
    func gemv(_ size: Int, _ transpose: Bool) {
        for other in [1, 3, 17] {
            let a = Matrix(rows: size, cols: other, storage: Self.values(size * other, seed: size))
            let x = Self.values(transpose ? size : other, seed: 3)
            let y0 = Self.values(transpose ? other : size, seed: 5)
            var y = y0
            Matrix.gemv(a, transpose: transpose, x, alpha: 2, beta: 0.25, into: &y)
            let p = Self.naiveProduct(a, transpose, Matrix(vector: x), false)
            Self.expectClose(y, p.indices.map { 2 * p[$0] + 0.25 * Double(y0[$0]) }, scale: size, "gemv \(size)x\(other) t=\(transpose)")
        }
    }

    @Test("axpy and dot equal their loops", arguments: sizes)
    func axpyDot(_ n: Int) {
        let x = Self.values(n, seed: 11), y0 = Self.values(n, seed: 13)
        var y = y0
        axpy(-1.5, x, &y)
        Self.expectClose(y, (0..<n).map { Double(y0[$0]) - 1.5 * Double(x[$0]) }, scale: 1, "axpy \(n)")
        let d = dot(x, y0)
        let want = (0..<n).reduce(0.0) { $0 + Double(x[$1]) * Double(y0[$1]) }
        #expect(abs(Double(d) - want) <= 1e-5 * Double(n), "dot \(n): \(d) vs \(want)")
    }

    @Test("Views with a leading dimension larger than cols read and write only their columns")
    func strides() {
        // A (5, 3) view inside a (5, 8) buffer at column 2, times B (3, 4) into a (5, 4) view inside (5, 6).
        let big = Self.values(5 * 8, seed: 21)
        let b = Matrix(rows: 3, cols: 4, storage: Self.values(12, seed: 22))
        var out = [Float](repeating: 9, count: 5 * 6)
        big.withUnsafeBufferPointer { pa in
            b.storage.withUnsafeBufferPointer { pb in
                out.withUnsafeMutableBufferPointer { pc in
                    let a = ConstMatrixView(pa.baseAddress!, rows: 5, cols: 8).columns(2, 3)
                    let c = MatrixView(pc.baseAddress!, rows: 5, cols: 6).columns(1, 4)
                    BLAS.gemm(a, .none, ConstMatrixView(pb.baseAddress!, rows: 3, cols: 4), .none, into: c)
                }
            }
        }
        for i in 0..<5 {
            #expect(out[i * 6] == 9 && out[i * 6 + 5] == 9, "row \(i): columns outside the view were written")
            for j in 0..<4 {
                let want = (0..<3).reduce(0.0) { $0 + Double(big[i * 8 + 2 + $1]) * Double(b[$1, j]) }
                #expect(abs(Double(out[i * 6 + 1 + j]) - want) <= 1e-5, "C[\(i), \(j)]")
            }
        }
        // gemv with strides: every other element of x and y.
        let a = Matrix(rows: 3, cols: 2, storage: Self.values(6, seed: 23))
        let x: [Float] = [1, 100, -2, 100]
        var y: [Float] = [0, 7, 0, 7, 0, 7]
        a.storage.withUnsafeBufferPointer { pa in
            x.withUnsafeBufferPointer { px in
                y.withUnsafeMutableBufferPointer { py in
                    BLAS.gemv(ConstMatrixView(pa.baseAddress!, rows: 3, cols: 2), .none, x: px.baseAddress!, incX: 2,
                              y: py.baseAddress!, incY: 2)
                }
            }
        }
        for i in 0..<3 {
            #expect(abs(Double(y[2 * i]) - Double(a[i, 0] - 2 * a[i, 1])) <= 1e-6)
            #expect(y[2 * i + 1] == 7)
        }
    }

    @Test("Zero-sized products leave C scaled by beta and do not call BLAS with bad sizes")
    func zeroSizes() {
        var c = Matrix(rows: 2, cols: 3, repeating: 4)
        Matrix.gemm(Matrix(rows: 2, cols: 0), Matrix(rows: 0, cols: 3), beta: 0.5, into: &c)
        #expect(c.storage == [Float](repeating: 2, count: 6))
        var empty = Matrix(rows: 0, cols: 3)
        Matrix.gemm(Matrix(rows: 0, cols: 2), Matrix(rows: 2, cols: 3), into: &empty)
        #expect(empty.storage.isEmpty)
    }

    @Test("The thread count can be set and read back")
    func threads() {
        let before = BLASThreads.count
        BLASThreads.count = 1
        #expect(BLASThreads.count == 1)
        BLASThreads.count = before
        #expect(BLASThreads.configuration.contains("OpenBLAS"))
    }

    @Test("Pool workers that sleep at once and workers that poll give the same bits; the poll time is clamped")
    func poolSpin() throws {
        let config = ModelConfig(cell: .lstm, sourceVocabSize: 50, targetVocabSize: 300, embeddingSize: 32, hiddenSize: 96,
                                 bridge: .linearTanh, attention: .bahdanau, attentionSize: 64)
        let dir = try makeRandomModel(config, seed: 5)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let model = try Seq2SeqModel(directory: dir)
        var rng = SeededRandom(seed: 9)
        let sources = (0..<24).map { _ in (0..<Int.random(in: 3...20, using: &rng)).map { _ in Int.random(in: 0..<50, using: &rng) } }
        let savedCount = BLASThreads.count, savedSpin = BLASThreads.spinMicroseconds
        defer { BLASThreads.count = savedCount; BLASThreads.spinMicroseconds = savedSpin }
        BLASThreads.count = 2
        var results: [[[Int]]] = [], scores: [[Double]] = []
        for spin in [0, 100, 0] {
            BLASThreads.spinMicroseconds = spin
            #expect(BLASThreads.spinMicroseconds == spin)
            let out = try Translator(model: model, batchInvariant: true)
                .translate(sources, options: DecodingOptions(beamSize: 3, maxLength: 12))
            results.append(out.map(\.best.ids))
            scores.append(out.map(\.best.logProb))
        }
        #expect(results[0] == results[1] && results[1] == results[2])
        #expect(scores[0].map(\.bitPattern) == scores[1].map(\.bitPattern) && scores[1].map(\.bitPattern) == scores[2].map(\.bitPattern))
        BLASThreads.spinMicroseconds = -5
        #expect(BLASThreads.spinMicroseconds == 0)
        BLASThreads.spinMicroseconds = 5_000_000
        #expect(BLASThreads.spinMicroseconds == 1_000_000)
    }
}

/// Which threads ran a two-part job's parts; each part waits (up to `waitSeconds`) for the other to start.
private final class TwoParts {
    let caller = pthread_self()
    let thread = UnsafeMutablePointer<pthread_t>.allocate(capacity: 2)  // (2): each part writes its own
    let started = Atomic<Int>(0)
    let waitSeconds: Double
    init(waitSeconds: Double) {
        self.waitSeconds = waitSeconds
        thread.initialize(repeating: caller, count: 2)
    }
    deinit { thread.deallocate() }
}

extension BLASTests {
    @Test("A small job does not wake a sleeping pool worker (the caller runs every part); a large one does")
    func poolWake() {
        let pool = WorkerPool()  // its own: other suites share `WorkerPool.shared` concurrently
        pool.setWidth(2)
        pool.spinMicroseconds = 0  // the worker sleeps after 64 polls
        let job: WorkerPool.PartFunction = { raw, part in
            let j = raw.assumingMemoryBound(to: TwoParts.self).pointee
            j.thread[part] = pthread_self()
            j.started.wrappingAdd(1, ordering: .acquiringAndReleasing)
            let end = Date(timeIntervalSinceNow: j.waitSeconds)
            while j.started.load(ordering: .acquiring) < 2 && Date() < end { usleep(100) }
        }
        usleep(20_000)
        var small = TwoParts(waitSeconds: 0.05)
        pool.run(parts: 2, work: pool.wakeWork - 1, state: &small, job)
        #expect(pthread_equal(small.thread[0], small.caller) != 0 && pthread_equal(small.thread[1], small.caller) != 0,
                "a job below wakeWork ran a part on the sleeping worker")
        usleep(20_000)
        var large = TwoParts(waitSeconds: 10)
        pool.run(parts: 2, work: pool.wakeWork, state: &large, job)
        #expect(pthread_equal(large.thread[0], large.thread[1]) == 0, "a job of wakeWork did not wake the worker")
    }
}

@Suite("Vectorized math")
struct MathTests {
    @Test("fastExp and fastTanh agree with libm over a wide range")
    func expTanh() {
        var worstExp = 0.0, worstTanh = 0.0
        var x: Float = -90
        while x < 88 {
            let v = SIMD8<Float>((0..<8).map { x + Float($0) * 0.013 })
            let e = fastExp(v), t = fastTanh(v)
            for i in 0..<8 {
                let want = Foundation_exp(Double(v[i]))
                if want > 1e-37 { worstExp = max(worstExp, abs(Double(e[i]) - want) / want) }
                worstTanh = max(worstTanh, abs(Double(t[i]) - Foundation_tanh(Double(v[i]))))
            }
            x += 0.37
        }
        #expect(worstExp < 1e-6, "fastExp relative error \(worstExp)")
        #expect(worstTanh < 1e-6, "fastTanh absolute error \(worstTanh)")
    }

    @Test("fastTanh is within 8 ulp of tanh, small arguments included; NaN and ±∞ as libm")
    func tanhUlp() {
        var worst = 0.0, at: Float = 0
        var values: [Float] = []
        var x: Float = -10
        while x < 10 { values.append(x); x += 0.000_731 }
        var m: Float = 1e-9
        while m < 10 { values.append(m); values.append(-m); m *= 1.001 }
        for start in stride(from: 0, to: values.count - 7, by: 8) {
            let v = SIMD8<Float>(values[start..<start + 8])
            let t = fastTanh(v)
            for i in 0..<8 {
                let want = Foundation_tanh(Double(v[i]))
                let ulp = Double(Float(abs(want)).ulp)
                let e = abs(Double(t[i]) - want) / ulp
                if e > worst { worst = e; at = v[i] }
            }
        }
        #expect(worst <= 8, "fastTanh error \(worst) ulp at \(at)")
        let special = fastTanh(SIMD8<Float>(.nan, .infinity, -.infinity, 0, -0.0, 1e-30, 50, -50))
        #expect(special[0].isNaN && special[1] == 1 && special[2] == -1 && special[3] == 0 && special[4] == 0)
        #expect(special[5] == 1e-30 && special[6] == 1 && special[7] == -1)
    }

    @Test("The vectorized argmax answers as the scalar scan: ties, −∞, ±0, NaN anywhere, every length")
    func argmaxEqualsScan() {
        var rng = SeededRandom(seed: 2026)
        let specials: [Float] = [.nan, -.infinity, .infinity, 0, -0.0, 1, 1, -1]
        for n in Array(1...40) + [255, 8000, 8003] {
            for trial in 0..<40 {
                // Few distinct values, so the maximum is often tied; some rows get special values.
                var x = (0..<n).map { _ in Float(Int.random(in: -3...3, using: &rng)) }
                if trial % 2 == 1 {
                    for _ in 0..<Int.random(in: 1...3, using: &rng) {
                        x[Int.random(in: 0..<n, using: &rng)] = specials.randomElement(using: &rng)!
                    }
                }
                if trial == 3 { x = [Float](repeating: -.infinity, count: n) }
                if trial == 5 { x[0] = .nan }
                let (fast, scan) = x.withUnsafeBufferPointer { ($0.baseAddress.map { argmax($0, n) }!, argmaxScan($0.baseAddress!, n)) }
                #expect(fast == scan, "n \(n) trial \(trial): \(fast) vs \(scan)")
            }
        }
    }

    @Test("logSumExp is max-subtracted: huge and tiny logits stay finite")
    func logSumExpStable() {
        let x: [Float] = [1000, 999, -1000, 0, 1000, 3, 2, 1, 0.5]
        let v = x.withUnsafeBufferPointer { Kernels.logSumExp($0.baseAddress!, x.count) }
        let want = 1000 + Foundation_log(2 + Foundation_exp(-1.0))
        #expect(abs(Double(v) - want) < 1e-4, "\(v) vs \(want)")
    }
}

import Foundation
private func Foundation_exp(_ x: Double) -> Double { Foundation.exp(x) }
private func Foundation_tanh(_ x: Double) -> Double { Foundation.tanh(x) }
private func Foundation_log(_ x: Double) -> Double { Foundation.log(x) }
