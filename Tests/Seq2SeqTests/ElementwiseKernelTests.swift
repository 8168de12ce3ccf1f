#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
@testable import Seq2Seq
import Testing

/// The kernels' log-sum-exp and additive attention score against the engine's former Swift SIMD8 code (below,
/// verbatim), in bits, on every instruction set the CPU has: moving them into C changed no result.
@Suite("Elementwise kernels")
struct ElementwiseKernelTests {
    /// Rows of every length up to 40 and a few long ones; values spread wide, with ties, ±∞, NaN and ±0 in some.
    static func rows() -> [[Float]] {
        var rng = SeededRandom(seed: 77)
        var out: [[Float]] = []
        for n in Array(0...40) + [255, 8000, 8003] {
            for trial in 0..<6 {
                var x = (0..<n).map { _ in rng.uniform(trial < 3 ? 12 : 90) }
                if trial == 1 { x = x.map { ($0 * 2).rounded() / 2 } }
                if trial == 4, n > 0 { x[n / 2] = [Float.infinity, -.infinity, .nan, -0.0][n % 4] }
                if trial == 5 { x = x.map { $0 * 1e-5 } }  // tanh's small-argument branch
                out.append(x)
            }
        }
        out.append([Float](repeating: -.infinity, count: 19))
        return out
    }

    @Test("log-sum-exp: the kernels' bits are the former Swift code's, every ISA")
    func logSumExpBits() {
        for isa in KernelISA.available {
            KernelTests.withISA(isa) {
                for x in Self.rows() {
                    x.withUnsafeBufferPointer { p in
                        let base = p.baseAddress ?? UnsafePointer(bitPattern: 64)!
                        let a = Kernels.logSumExp(base, x.count), b = swiftLogSumExp(base, x.count)
                        #expect(a.bitPattern == b.bitPattern || (a.isNaN && b.isNaN), "\(isa) n \(x.count): \(a) vs \(b)")
                    }
                }
            }
        }
    }

    @Test("Additive score: the kernels' bits are the former Swift code's, every ISA")
    func additiveScoreBits() {
        let all = Self.rows()
        for isa in KernelISA.available {
            KernelTests.withISA(isa) {
                for (i, q) in all.enumerated() {
                    let k = all[(i + 7) % all.count], v = all[(i + 13) % all.count]
                    let n = min(q.count, k.count, v.count)
                    q.withUnsafeBufferPointer { q in k.withUnsafeBufferPointer { k in v.withUnsafeBufferPointer { v in
                        guard let qb = q.baseAddress, let kb = k.baseAddress, let vb = v.baseAddress else { return }
                        let a = Kernels.additiveScore(qb, kb, vb, n), b = swiftAdditiveScore(qb, kb, vb, n)
                        #expect(a.bitPattern == b.bitPattern || (a.isNaN && b.isNaN), "\(isa) n \(n): \(a) vs \(b)")
                    } } }
                }
            }
        }
    }
}

// The engine's code before the kernels took these over (Math.swift, 2026-12-02), kept as the reference.

private func swiftLogSumExp(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
    var m = -Float.infinity
    var i = 0
    var m8 = SIMD8<Float>(repeating: -.infinity)
    while i + 8 <= n {
        let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
        m8.replace(with: v, where: v .> m8)
        i += 8
    }
    m = m8.max()
    while i < n { m = max(m, x[i]); i += 1 }
    if m == -.infinity || !m.isFinite { return m }
    var s8 = SIMD8<Float>(repeating: 0)
    let m8b = SIMD8<Float>(repeating: m)
    i = 0
    while i + 8 <= n {
        s8 += fastExp(UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self) - m8b)
        i += 8
    }
    var s = s8.sum()
    while i < n { s += expf(x[i] - m); i += 1 }
    return m + logf(s)
}

private func swiftAdditiveScore(_ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = SIMD8<Float>(repeating: 0)
    var i = 0
    while i + 8 <= n {
        let a = UnsafeRawPointer(q + i).loadUnaligned(as: SIMD8<Float>.self)
            + UnsafeRawPointer(k + i).loadUnaligned(as: SIMD8<Float>.self)
        acc += UnsafeRawPointer(v + i).loadUnaligned(as: SIMD8<Float>.self) * fastTanh(a)
        i += 8
    }
    var s = acc.sum()
    while i < n { s += v[i] * tanhf(q[i] + k[i]); i += 1 }
    return s
}
