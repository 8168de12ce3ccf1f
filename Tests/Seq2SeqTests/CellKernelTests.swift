#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
@testable import Seq2Seq
import Testing

/// The kernels' recurrent cell updates against the engine's former Swift SIMD8 code (below, verbatim), in bits,
/// on every instruction set the CPU has: moving them into C changed no state.
@Suite("Cell kernels")
struct CellKernelTests {
    /// Gate pre-activations spread wide (saturating sigmoid and tanh), with ±0, ±∞, NaN and tiny values in some.
    static func inputs(_ count: Int, _ rng: inout SeededRandom, trial: Int) -> [Float] {
        var x = (0..<count).map { _ in rng.uniform(trial == 0 ? 3 : 40) }
        if trial == 2 { x = x.map { $0 * 1e-5 } }  // tanh's small-argument branch
        if trial == 3, count > 0 {
            for (j, special) in [Float.infinity, -.infinity, .nan, -0.0, 0.0, 90, -90].enumerated() {
                x[(j * 37 + 5) % count] = special
            }
        }
        return x
    }

    @Test("Cells: the kernels' bits are the former Swift code's, every cell, every ISA, every width")
    func cellBits() {
        var rng = SeededRandom(seed: 91)
        let widths = Array(1...40) + [63, 64, 255, 256, 257, 512, 1000]
        for cell in [ModelConfig.Cell.rnnTanh, .gru, .lstm] {
            let G = cell == .lstm ? 4 : cell == .gru ? 3 : 1
            for H in widths {
                for trial in 0..<4 {
                    let gx = Self.inputs(G * H, &rng, trial: trial), gh = Self.inputs(G * H, &rng, trial: trial)
                    let bn = Self.inputs(H, &rng, trial: trial)
                    let h0 = Self.inputs(H, &rng, trial: trial), c0 = Self.inputs(H, &rng, trial: trial)
                    var hRef = h0, cRef = c0
                    swiftCellUpdate(cell, hidden: H, gx: gx, gh: gh, biasN: bn, h: &hRef, c: &cRef)
                    for isa in KernelISA.available {
                        KernelTests.withISA(isa) {
                            var h = h0, c = c0
                            gx.withUnsafeBufferPointer { gx in gh.withUnsafeBufferPointer { gh in
                                bn.withUnsafeBufferPointer { bn in h.withUnsafeMutableBufferPointer { h in
                                    c.withUnsafeMutableBufferPointer { c in
                                        cellUpdate(cell, hidden: H, gx: gx.baseAddress!, gh: gh.baseAddress!,
                                                   biasN: bn.baseAddress!, h: h.baseAddress!, c: c.baseAddress!)
                                    }
                                } }
                            } }
                            #expect(same(h, hRef), "\(cell) \(isa) H \(H) trial \(trial): h differs")
                            #expect(same(c, cRef), "\(cell) \(isa) H \(H) trial \(trial): c differs")
                        }
                    }
                }
            }
        }
    }
}

private func same(_ a: [Float], _ b: [Float]) -> Bool {
    zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
}

// The engine's code before the kernels took it over (Cells.swift, 2026-12-02), kept as the reference.

private func swiftCellUpdate(_ cell: ModelConfig.Cell, hidden H: Int, gx: [Float], gh: [Float], biasN: [Float],
                             h hArray: inout [Float], c cArray: inout [Float]) {
    gx.withUnsafeBufferPointer { gx in gh.withUnsafeBufferPointer { gh in biasN.withUnsafeBufferPointer { bn in
        hArray.withUnsafeMutableBufferPointer { h in cArray.withUnsafeMutableBufferPointer { c in
            swiftCellUpdate(cell, hidden: H, gx: gx.baseAddress!, gh: gh.baseAddress!, biasN: bn.baseAddress!,
                            h: h.baseAddress!, c: c.baseAddress!)
        } }
    } } }
}

private func swiftCellUpdate(_ cell: ModelConfig.Cell, hidden H: Int, gx: UnsafePointer<Float>, gh: UnsafePointer<Float>,
                             biasN: UnsafePointer<Float>?, h: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>?) {
    let vectorEnd = H & ~7
    switch cell {
    case .rnnTanh:
        var i = 0
        while i < vectorEnd {
            store(fastTanh(load(gx + i) + load(gh + i)), h + i)
            i += 8
        }
        while i < H { h[i] = tanhf(gx[i] + gh[i]); i += 1 }
    case .gru:
        // gates r, z, n; h' = (1 − z) ⊙ n + z ⊙ h = n + z ⊙ (h − n)
        let bn = biasN!
        var i = 0
        while i < vectorEnd {
            let r = fastSigmoid(load(gx + i) + load(gh + i))
            let z = fastSigmoid(load(gx + H + i) + load(gh + H + i))
            let n = fastTanh(load(gx + 2 * H + i) + r * (load(gh + 2 * H + i) + load(bn + i)))
            store(n + z * (load(h + i) - n), h + i)
            i += 8
        }
        while i < H {
            let r = sigmoid(gx[i] + gh[i])
            let z = sigmoid(gx[H + i] + gh[H + i])
            let n = tanhf(gx[2 * H + i] + r * (gh[2 * H + i] + bn[i]))
            h[i] = n + z * (h[i] - n)
            i += 1
        }
    case .lstm:
        // gates i, f, g, o; c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c')
        let c = c!
        var j = 0
        while j < vectorEnd {
            let i = fastSigmoid(load(gx + j) + load(gh + j))
            let f = fastSigmoid(load(gx + H + j) + load(gh + H + j))
            let g = fastTanh(load(gx + 2 * H + j) + load(gh + 2 * H + j))
            let o = fastSigmoid(load(gx + 3 * H + j) + load(gh + 3 * H + j))
            let cj = f * load(c + j) + i * g
            store(cj, c + j)
            store(o * fastTanh(cj), h + j)
            j += 8
        }
        while j < H {
            let i = sigmoid(gx[j] + gh[j])
            let f = sigmoid(gx[H + j] + gh[H + j])
            let g = tanhf(gx[2 * H + j] + gh[2 * H + j])
            let o = sigmoid(gx[3 * H + j] + gh[3 * H + j])
            let cj = f * c[j] + i * g
            c[j] = cj
            h[j] = o * tanhf(cj)
            j += 1
        }
    }
}

private func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

private func load(_ p: UnsafeMutablePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

private func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}

private func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }

/// `1 / (1 + e^{-x})` for 8 lanes.
private func fastSigmoid(_ x: SIMD8<Float>) -> SIMD8<Float> { 1 / (1 + fastExp(-x)) }
