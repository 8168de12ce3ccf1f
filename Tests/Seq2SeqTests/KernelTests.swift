import Foundation
@testable import Seq2Seq
import Testing

/// The engine's own kernels (CSeq2SeqKernels) against plain loops, and their promises in bits: the same result
/// whatever the number of rows, the split of the weight's rows, and the instruction set.
@Suite("Kernels")
struct KernelTests {
    /// `values` as a buffer that lives until `body` returns.
    static func buffer(_ count: Int, _ rng: inout SeededRandom, scale: Float = 1) -> UnsafeMutablePointer<Float> {
        let p = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        for i in 0..<count { p[i] = rng.uniform(scale) }
        return p
    }

    static func pack(_ w: ConstMatrixView, _ type: ComputeType) -> (PackedMatrix, [UnsafeMutableRawPointer]) {
        var owned: [UnsafeMutableRawPointer] = []
        let p = Kernels.pack(w, as: type) { n in
            let b = UnsafeMutableRawPointer.allocate(byteCount: n, alignment: 64)
            owned.append(b)
            return b
        }
        return (p, owned)
    }

    static let shapes: [(m: Int, k: Int)] = [(1, 1), (5, 7), (9, 8), (13, 16), (37, 29), (66, 100), (19, 257), (6, 1100), (8, 96), (12, 48)]

    @Test("Products equal a double-precision loop over the stored weights, every type, 1 to 17 rows",
          arguments: ComputeType.allCases)
    func againstLoops(_ type: ComputeType) {
        var rng = SeededRandom(seed: 7)
        for (m, k) in Self.shapes {
            for n in [1, 2, 3, 4, 5, 8, 16, 17] {
                let w = Self.buffer(m * k, &rng), x = Self.buffer(n * k, &rng), y = Self.buffer(n * m, &rng)
                defer { w.deallocate(); x.deallocate(); y.deallocate() }
                let (packed, owned) = Self.pack(ConstMatrixView(w, rows: m, cols: k), type)
                defer { owned.forEach { $0.deallocate() } }
                let old = Array(UnsafeBufferPointer(start: y, count: n * m))
                for accumulate in [false, true] {
                    for i in 0..<(n * m) { y[i] = old[i] }
                    Kernels.product(ConstMatrixView(x, rows: n, cols: k), packed, into: MatrixView(y, rows: n, cols: m),
                                    accumulate: accumulate)
                    var worst = 0.0
                    for r in 0..<n {
                        // int8 quantizes each activation row to int16 (step max|x| / limit): up to half a step per term.
                        var step = 0.0
                        if type == .int8 {
                            for j in 0..<k { step = max(step, Double(abs(x[r * k + j]))) }
                            step /= Double(Kernels.int8ActivationLimit(k))
                        }
                        for i in 0..<m {
                            var s = accumulate ? Double(old[r * m + i]) : 0
                            var magnitude = 0.0
                            for j in 0..<k {
                                s += Double(packed.element(i, j)) * Double(x[r * k + j])
                                magnitude += abs(Double(packed.element(i, j)))
                            }
                            worst = max(worst, abs(Double(y[r * m + i]) - s) / (1 + abs(s) + 1e5 * magnitude * step / 2))
                        }
                    }
                    #expect(worst <= 1e-5, "\(type) m \(m) k \(k) n \(n) accumulate \(accumulate): relative error \(worst)")
                }
            }
        }
    }

    @Test("Reduced types stay close to the float32 weights they were made from", arguments: ComputeType.allCases)
    func quantizationError(_ type: ComputeType) {
        var rng = SeededRandom(seed: 11)
        let m = 40, k = 77
        let w = Self.buffer(m * k, &rng, scale: 3)
        defer { w.deallocate() }
        let (packed, owned) = Self.pack(ConstMatrixView(w, rows: m, cols: k), type)
        defer { owned.forEach { $0.deallocate() } }
        let bound: Float = switch type {
        case .float32: 0
        case .float16: 3 * 0x1p-11
        case .bfloat16: 3 * 0x1p-8
        case .int8: 3 / 127 / 2 * 1.0001
        }
        var worst: Float = 0
        for i in 0..<m { for j in 0..<k { worst = max(worst, abs(packed.element(i, j) - w[i * k + j])) } }
        #expect(worst <= bound, "\(type): largest error \(worst), bound \(bound)")
    }

    @Test("A row's result is the same bits alone, at any position of any row count, and for any split of W's rows",
          arguments: ComputeType.allCases)
    func rowCountInvariance(_ type: ComputeType) {
        var rng = SeededRandom(seed: 3)
        for (m, k) in Self.shapes {
            let n = 17
            let w = Self.buffer(m * k, &rng), x = Self.buffer(n * k, &rng)
            let full = UnsafeMutablePointer<Float>.allocate(capacity: n * m)
            let part = UnsafeMutablePointer<Float>.allocate(capacity: n * m)
            defer { w.deallocate(); x.deallocate(); full.deallocate(); part.deallocate() }
            let (packed, owned) = Self.pack(ConstMatrixView(w, rows: m, cols: k), type)
            defer { owned.forEach { $0.deallocate() } }
            Kernels.product(ConstMatrixView(x, rows: n, cols: k), packed, into: MatrixView(full, rows: n, cols: m), accumulate: false)
            // Rows in blocks of every size from 1 to 16, and W's rows split at an odd place.
            for block in 1...16 {
                var r0 = 0
                while r0 < n {
                    let count = min(block, n - r0)
                    let split = min(m, 3 + block % 5)
                    let xs = ConstMatrixView(x + r0 * k, rows: count, cols: k)
                    let ys = MatrixView(part + r0 * m, rows: count, cols: m)
                    Kernels.product(xs, packed.rows(0, split), into: ys.columns(0, split), accumulate: false)
                    Kernels.product(xs, packed.rows(split, m - split), into: ys.columns(split, m - split), accumulate: false)
                    r0 += count
                }
                let same = (0..<(n * m)).allSatisfy { full[$0].bitPattern == part[$0].bitPattern }
                #expect(same, "\(type) m \(m) k \(k): rows in blocks of \(block) differ from all \(n) rows at once")
            }
        }
    }

    @Test("Every instruction set this CPU has (AVX-512 with and without VNNI, AVX2) gives the scalar fallback's bits", arguments: ComputeType.allCases)
    func scalarFallbackBits(_ type: ComputeType) throws {
        let wide = KernelISA.available.filter { $0 != .scalar }
        try #require(!wide.isEmpty || Kernels.isa == .scalar, "no AVX2 here: only the scalar path runs")
        var rng = SeededRandom(seed: 5)
        for (m, k) in Self.shapes {
            for n in [1, 2, 3, 7, 13, 32] {
                let w = Self.buffer(m * k, &rng), x = Self.buffer(n * k, &rng)
                let a = Self.buffer(n * m, &rng), s = UnsafeMutablePointer<Float>.allocate(capacity: n * m)
                defer { w.deallocate(); x.deallocate(); a.deallocate(); s.deallocate() }
                let (packed, owned) = Self.pack(ConstMatrixView(w, rows: m, cols: k), type)
                defer { owned.forEach { $0.deallocate() } }
                let xs = ConstMatrixView(x, rows: n, cols: k)
                s.update(from: a, count: n * m)
                #expect(s2sProduct(isa: .scalar, xs, packed, MatrixView(s, rows: n, cols: m)) == .scalar)
                let len = k, d = m
                let mem = Self.buffer(len * d, &rng), alpha = Self.buffer(n * len, &rng)
                let ys = UnsafeMutablePointer<Float>.allocate(capacity: n * d)
                defer { mem.deallocate(); alpha.deallocate(); ys.deallocate() }
                let av = ConstMatrixView(alpha, rows: n, cols: len), mv = ConstMatrixView(mem, rows: len, cols: d)
                Self.withISA(.scalar) { Kernels.mix(av, mv, into: MatrixView(ys, rows: n, cols: d)) }
                for isa in wide {
                    let v = UnsafeMutablePointer<Float>.allocate(capacity: n * m)
                    defer { v.deallocate() }
                    v.update(from: a, count: n * m)
                    #expect(s2sProduct(isa: isa, xs, packed, MatrixView(v, rows: n, cols: m)) == isa)
                    let same = (0..<(n * m)).allSatisfy { v[$0].bitPattern == s[$0].bitPattern }
                    #expect(same, "\(type) m \(m) k \(k) n \(n): \(isa) and scalar differ")
                    // The attention mix too.
                    v.update(repeating: 0, count: n * d)
                    Self.withISA(isa) { Kernels.mix(av, mv, into: MatrixView(v, rows: n, cols: d)) }
                    #expect((0..<(n * d)).allSatisfy { v[$0].bitPattern == ys[$0].bitPattern },
                            "mix (\(n), \(len)) · (\(len), \(d)): \(isa) and scalar differ")
                }
            }
        }
    }

    @Test("The attention mix equals a loop and is row-count invariant")
    func mix() {
        var rng = SeededRandom(seed: 9)
        for (len, d) in [(1, 1), (7, 5), (32, 33), (13, 64)] {
            let n = 6
            let a = Self.buffer(n * len, &rng), m = Self.buffer(len * d, &rng)
            let y = UnsafeMutablePointer<Float>.allocate(capacity: n * d), y1 = UnsafeMutablePointer<Float>.allocate(capacity: d)
            defer { a.deallocate(); m.deallocate(); y.deallocate(); y1.deallocate() }
            Kernels.mix(ConstMatrixView(a, rows: n, cols: len), ConstMatrixView(m, rows: len, cols: d), into: MatrixView(y, rows: n, cols: d))
            for r in 0..<n {
                Kernels.mix(ConstMatrixView(a + r * len, rows: 1, cols: len), ConstMatrixView(m, rows: len, cols: d), into: MatrixView(y1, rows: 1, cols: d))
                for c in 0..<d {
                    var s = 0.0
                    for j in 0..<len { s += Double(a[r * len + j]) * Double(m[j * d + c]) }
                    #expect(abs(Double(y[r * d + c]) - s) <= 1e-5 * (1 + abs(s)), "(\(len), \(d)) row \(r) col \(c)")
                    #expect(y[r * d + c].bitPattern == y1[c].bitPattern, "(\(len), \(d)) row \(r) col \(c) differs alone")
                }
            }
        }
    }

    @Test("int8: a row of activations with NaN or infinity gives NaN in that row only; an all-zero row gives zeros")
    func int8SpecialRows() {
        var rng = SeededRandom(seed: 13)
        let m = 9, k = 40, n = 4
        let w = Self.buffer(m * k, &rng), x = Self.buffer(n * k, &rng), y = Self.buffer(n * m, &rng)
        let y1 = UnsafeMutablePointer<Float>.allocate(capacity: m)
        defer { w.deallocate(); x.deallocate(); y.deallocate(); y1.deallocate() }
        let (packed, owned) = Self.pack(ConstMatrixView(w, rows: m, cols: k), .int8)
        defer { owned.forEach { $0.deallocate() } }
        x[1 * k + 17] = .nan
        x[2 * k + 3] = .infinity
        for j in 0..<k { x[3 * k + j] = 0 }
        Kernels.product(ConstMatrixView(x, rows: n, cols: k), packed, into: MatrixView(y, rows: n, cols: m), accumulate: false)
        Kernels.product(ConstMatrixView(x, rows: 1, cols: k), packed, into: MatrixView(y1, rows: 1, cols: m), accumulate: false)
        for i in 0..<m {
            #expect(y[i].isFinite && y[i].bitPattern == y1[i].bitPattern, "row 0 column \(i)")
            #expect(y[m + i].isNaN && y[2 * m + i].isNaN, "rows 1, 2 column \(i)")
            #expect(y[3 * m + i] == 0, "row 3 column \(i)")
        }
    }

    @Test("float16 and bfloat16 conversion round to nearest even; specials survive")
    func conversions() {
        let values: [Float] = [0, -0.0, 1, -1, 65504, 65519.99, 65520, 1e-8, 5.96e-8, 6.1e-5, .infinity, -.infinity, 1.0009765625 + 0x1p-12,
                               3.14159, -2.71828e-3, .leastNonzeroMagnitude, .greatestFiniteMagnitude]
        var half = [UInt16](repeating: 0, count: values.count), brain = half
        var owned: [UnsafeMutableRawPointer] = []
        let view = values.withUnsafeBufferPointer { ConstMatrixView($0.baseAddress!, rows: 1, cols: values.count) }
        let h = Kernels.pack(view, as: .float16) { n in let b = UnsafeMutableRawPointer.allocate(byteCount: n, alignment: 64); owned.append(b); return b }
        let b = Kernels.pack(view, as: .bfloat16) { n in let b = UnsafeMutableRawPointer.allocate(byteCount: n, alignment: 64); owned.append(b); return b }
        defer { owned.forEach { $0.deallocate() } }
        for i in values.indices {
            half[i] = h.base.load(fromByteOffset: 2 * i, as: UInt16.self)
            brain[i] = b.base.load(fromByteOffset: 2 * i, as: UInt16.self)
            #if arch(x86_64) && !os(macOS) || arch(arm64)
            #expect(half[i] == Float16(values[i]).bitPattern, "f16 of \(values[i])")
            #endif
            // bfloat16: the nearest of the two neighbours, ties to even.
            let bits = values[i].bitPattern
            let lower = UInt16(bits >> 16), rest = bits & 0xFFFF
            let expected = rest > 0x8000 || (rest == 0x8000 && lower & 1 == 1) ? lower &+ 1 : lower
            #expect(brain[i] == expected, "bf16 of \(values[i])")
        }
        var nan = [Float.nan]
        let nanView = nan.withUnsafeMutableBufferPointer { ConstMatrixView(UnsafePointer($0.baseAddress!), rows: 1, cols: 1) }
        for type in [ComputeType.float16, .bfloat16] {
            let p = Kernels.pack(nanView, as: type) { n in let b = UnsafeMutableRawPointer.allocate(byteCount: n, alignment: 64); owned.append(b); return b }
            #expect(p.element(0, 0).isNaN, "\(type) keeps NaN")
        }
    }

    static let isaLock = NSLock()

    /// Runs `body` with the kernels forced to `isa` (other tests may run meanwhile: the ISA never changes bits).
    static func withISA(_ isa: KernelISA, _ body: () -> Void) {
        isaLock.lock()
        defer { isaLock.unlock() }
        let before = Kernels.isa
        Kernels.isa = isa
        body()
        Kernels.isa = before
    }

    func s2sProduct(isa: KernelISA, _ x: ConstMatrixView, _ w: PackedMatrix, _ y: MatrixView) -> KernelISA {
        var used = KernelISA.scalar
        Self.withISA(isa) {
            used = Kernels.isa
            Kernels.product(x, w, into: y, accumulate: true)
        }
        return used
    }

    @Test("16-bit weights times more than 16 rows (widened into GEMM with AVX2) equal a double loop; batch-invariant mode and AVX-512 keep the kernel's bits",
          arguments: [ComputeType.float16, .bfloat16])
    func widenedProducts(_ type: ComputeType) {
        var rng = SeededRandom(seed: 11)
        for (m, k, n) in [(53, 37, 17), (3000, 40, 33), (70, 300, 40)] {
            let w = Self.buffer(m * k, &rng), x = Self.buffer(n * k, &rng), y = Self.buffer(n * m, &rng), z = Self.buffer(n * m, &rng)
            defer { w.deallocate(); x.deallocate(); y.deallocate(); z.deallocate() }
            let (packed, owned) = Self.pack(ConstMatrixView(w, rows: m, cols: k), type)
            defer { owned.forEach { $0.deallocate() } }
            let weight = Weight(ConstMatrixView(w, rows: m, cols: k), packed: packed)
            let xs = ConstMatrixView(x, rows: n, cols: k)
            // The widening itself is exact: every element, bit for bit.
            let wide = UnsafeMutablePointer<Float>.allocate(capacity: m * k)
            defer { wide.deallocate() }
            Kernels.widen(packed, into: wide)
            #expect((0..<m).allSatisfy { i in (0..<k).allSatisfy { wide[i * k + $0].bitPattern == packed.element(i, $0).bitPattern } },
                    "\(type): s2s_widen differs from the stored values")
            // The widened path runs with the AVX2 kernels (with AVX-512 the kernel itself does: checked below).
            let narrow: KernelISA = KernelISA.available.contains(.avx2) ? .avx2 : Kernels.isa
            Self.withISA(narrow) { accumulateProduct(xs, weight, into: MatrixView(y, rows: n, cols: m), beta: 0) }
            var worst = 0.0
            for r in 0..<n {
                for i in 0..<m {
                    var s = 0.0
                    for j in 0..<k { s += Double(packed.element(i, j)) * Double(x[r * k + j]) }
                    worst = max(worst, abs(Double(y[r * m + i]) - s) / (1 + abs(s)))
                }
            }
            #expect(worst < 1e-5, "\(type) (\(m), \(k)) × \(n) rows: relative error \(worst)")
            ProductPolicy.with(batchInvariant: true) {
                accumulateProduct(xs, weight, into: MatrixView(y, rows: n, cols: m), beta: 0)
            }
            Kernels.product(xs, packed, into: MatrixView(z, rows: n, cols: m), accumulate: false)
            #expect((0..<(n * m)).allSatisfy { y[$0].bitPattern == z[$0].bitPattern }, "\(type): batch-invariant mode left the kernel")
            if Kernels.supportedISA.code >= KernelISA.avx512.code {
                Self.withISA(.avx512) { accumulateProduct(xs, weight, into: MatrixView(y, rows: n, cols: m), beta: 0) }
                #expect((0..<(n * m)).allSatisfy { y[$0].bitPattern == z[$0].bitPattern }, "\(type): with AVX-512 the product left the kernel")
            }
        }
    }
}
