import Foundation
@testable import Seq2Seq
import Testing

/// Re-scoring of int8 output products (docs/MODEL.md, "Compute types"): each row's best candidates are
/// float32's own logits, so greedy picks float32's token at a near-tie that plain int8 gets wrong.
@Suite("int8 output re-scoring")
struct OutputRescoringTests {
    /// A linear layer over `weight (rows, cols)` with an int8 copy beside its float32 rows.
    static func int8Linear(_ weight: [Float], rows: Int, cols: Int, bias: [Float]?) -> (Linear, () -> Void) {
        let w = UnsafeMutablePointer<Float>.allocate(capacity: rows * cols)
        w.initialize(from: weight, count: rows * cols)
        let b = bias.map { v -> UnsafeMutablePointer<Float> in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: rows)
            p.initialize(from: v, count: rows)
            return p
        }
        var owned: [UnsafeMutableRawPointer] = []
        let dense = ConstMatrixView(w, rows: rows, cols: cols)
        let packed = Kernels.pack(dense, as: .int8) { n in
            let p = UnsafeMutableRawPointer.allocate(byteCount: n, alignment: 64)
            owned.append(p)
            return p
        }
        let free = { w.deallocate(); b?.deallocate(); for p in owned { p.deallocate() } }
        return (Linear(weight: Weight(dense, packed: packed), bias: b.map { UnsafePointer($0) }), free)
    }

    /// `linear` applied to `x (n, cols)`: (plain int8, re-scored int8, float32), each `(n, rows)` row-major.
    static func logits(_ linear: Linear, _ x: [Float], n: Int) -> (int8: [Float], rescored: [Float], float32: [Float]) {
        let rows = linear.outputs, cols = linear.inputs
        let K = OutputRescoring.candidates
        var input = x, plain = [Float](repeating: 0, count: n * rows), rescored = plain, float = plain
        var values = [Float](repeating: 0, count: n * K), tokens = [Int](repeating: 0, count: n * K)
        input.withUnsafeMutableBufferPointer { xp in
            let xv = ConstMatrixView(xp.baseAddress!, rows: n, cols: cols)
            plain.withUnsafeMutableBufferPointer { linear.apply(xv, into: MatrixView($0.baseAddress!, rows: n, cols: rows)) }
            rescored.withUnsafeMutableBufferPointer { y in
                let yv = MatrixView(y.baseAddress!, rows: n, cols: rows)
                linear.apply(xv, into: yv)
                values.withUnsafeMutableBufferPointer { v in
                    tokens.withUnsafeMutableBufferPointer { t in
                        OutputRescoring(linear)!.apply(xv, logits: yv, values: MatrixView(v.baseAddress!, rows: n, cols: K),
                                                       tokens: t.baseAddress!)
                    }
                }
            }
            let float32 = Linear(weight: Weight(linear.weight.float32!), bias: linear.bias)
            float.withUnsafeMutableBufferPointer { float32.apply(xv, into: MatrixView($0.baseAddress!, rows: n, cols: rows)) }
        }
        return (plain, rescored, float)
    }

    @Test("At a near-tie that plain int8 flips, re-scored int8 picks float32's token")
    func nearTie() {
        // Rows 0 and 1 nearly tie under x = e_0: float32 gives 0.5038 < 0.5040, but int8 rounds row 0 up
        // (0.5038 · 127 = 63.98 → 64/127 = 0.50394) and row 1 down (scale 1.2/127: 53.34 → 53 → 0.50079).
        let rows = 40, cols = 4
        var weight = [Float](repeating: 0, count: rows * cols)
        weight[0] = 0.5038; weight[1] = 1.0
        weight[cols] = 0.5040; weight[cols + 1] = 1.2
        for i in 2..<rows { weight[i * cols] = 0.01 * Float(i % 7); weight[i * cols + 2] = 1 }
        let (linear, free) = Self.int8Linear(weight, rows: rows, cols: cols, bias: nil)
        defer { free() }
        let (int8, rescored, float32) = Self.logits(linear, [1, 0, 0, 0], n: 1)
        #expect(argmax(float32) == 1)
        #expect(argmax(int8) == 0, "plain int8 \(int8[0]) vs \(int8[1]): the case no longer flips")
        #expect(argmax(rescored) == 1)
        #expect(rescored[0].bitPattern == float32[0].bitPattern && rescored[1].bitPattern == float32[1].bitPattern)
    }

    @Test("Each row's best candidates get float32's bits (bias included), the other logits keep int8's")
    func bitsPerRow() {
        let rows = 61, cols = 37, n = 3
        var rng = SeededRandom(seed: 91)
        let weight = (0..<rows * cols).map { _ in rng.uniform(1) }
        let bias = (0..<rows).map { _ in rng.uniform(0.5) }
        let x = (0..<n * cols).map { _ in rng.uniform(1) }
        for b in [bias, nil] {
            let (linear, free) = Self.int8Linear(weight, rows: rows, cols: cols, bias: b)
            defer { free() }
            let (int8, rescored, float32) = Self.logits(linear, x, n: n)
            for r in 0..<n {
                let row = Array(int8[r * rows..<(r + 1) * rows])
                let best = Set(row.indices.sorted { row[$0] > row[$1] || (row[$0] == row[$1] && $0 < $1) }.prefix(OutputRescoring.candidates))
                for i in 0..<rows {
                    let expected = best.contains(i) ? float32[r * rows + i] : int8[r * rows + i]
                    #expect(rescored[r * rows + i].bitPattern == expected.bitPattern, "row \(r), logit \(i), bias \(b != nil)")
                }
            }
            // A row alone gets the same bits as in the batch.
            let alone = Self.logits(linear, Array(x[cols..<2 * cols]), n: 1).rescored
            #expect(alone.map(\.bitPattern) == rescored[rows..<2 * rows].map(\.bitPattern))
        }
    }

    @Test("int8 or bfloat16 output alone: greedy ids are float32's (the output state is float32's, the best logits its bits)",
          arguments: [ComputeType.int8, .bfloat16])
    func modelGreedy(_ type: ComputeType) throws {
        var config = StoredQuantizationTests.randomConfig(tied: false)
        config.targetVocabSize = 300  // more than the 16 re-scored candidates
        let dir = try makeRandomModel(config, seed: 92)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let float = try Seq2SeqModel(directory: dir)
        let int8 = try Seq2SeqModel(directory: dir, computeType: type, families: [.output])
        #expect(int8.weights.outputRescoring != nil && float.weights.outputRescoring == nil)
        // float16's output products are not re-scored (its rounding leaves the measured outputs as they are).
        #expect(try Seq2SeqModel(directory: dir, computeType: .float16, families: [.output]).weights.outputRescoring == nil)
        var rng = SeededRandom(seed: 93)
        let sources = (0..<24).map { _ in (0..<Int.random(in: 2...9, using: &rng)).map { _ in Int.random(in: 4..<config.sourceVocabSize, using: &rng) } }
        for invariant in [false, true] {
            let a = try Translator(model: float, batchInvariant: invariant).translate(sources)
            let b = try Translator(model: int8, batchInvariant: invariant).translate(sources)
            #expect(a.map(\.best.ids) == b.map(\.best.ids))
        }
    }

    private func argmax(_ x: [Float]) -> Int { x.indices.max { x[$0] < x[$1] || (x[$0] == x[$1] && $0 > $1) }! }
}
