#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Exact float32 re-scoring of an int8 or bfloat16 output product's best candidates (docs/MODEL.md, "Compute
// types").

/// The float32 rows an int8 or bfloat16 output weight is re-scored with: after the reduced product, each row's
/// `candidates` largest logits are computed again from these rows, exactly as a float32 output product computes
/// them (below, int8 stands for either type; bfloat16 works the same way with a finer rounding).
///
/// int8's rounding moves a logit by up to about 1e-2 on the measured models, more than the gap between
/// float32's best two tokens at a near-tie, so plain int8 greedy picks another token there. Re-scored, the
/// `candidates` best logits are float32's own bits (the bias, then one kernel dot product with the float32
/// row: the same fixed reduction order as float32's kernel product), so greedy picks float32's token whenever
/// it is among int8's best `candidates`, and the other logits keep int8's values. Strictly per row: a row's
/// result does not depend on the other rows, so batch invariance holds.
struct OutputRescoring: @unchecked Sendable {
    let weight: ConstMatrixView  // (Vt, O or H) float32: the output weight's float rows (the embedding when tied)
    let bias: UnsafePointer<Float>?  // (Vt), nil for zeros

    /// Logits re-scored per row. With 16, int8 output weights leave no greedy flip on the toolkit models and one
    /// on the golden models, at a model whose int8 output projection is not re-scored (docs/MODEL.md, "Compute
    /// types"); the cost is a pass over the row and 16 dot products of `O` (not measurable on B2; up to a fifth
    /// of int8's W1 speed on B1's small step, docs/MODEL.md).
    static let candidates = 16

    /// `SEQ2SEQ_RESCORE=off` in the environment: int8 and bfloat16 output products are not re-scored, for A/B
    /// measurements in one binary. Read once.
    static let disabled: Bool = {
        guard let v = getenv("SEQ2SEQ_RESCORE") else { return false }
        return String(cString: v) == "off"
    }()

    /// The re-scoring of `output`, or nil when its type is not re-scored, it has no float32 rows, or re-scoring
    /// is disabled.
    init?(_ output: Linear) {
        guard output.weight.packed.type.rescoresOutput, let rows = output.weight.float32, !Self.disabled else { return nil }
        weight = rows
        bias = output.bias
    }

    /// Re-scores rows `0 ..< o.rows` of `logits` in place, in parallel over the rows.
    ///
    /// - Parameters:
    ///   - o: the output product's input `(R, O)`.
    ///   - logits: the int8 product's result `(R, Vt)`, with its bias.
    ///   - values: scratch `(≥ R, candidates)`.
    ///   - tokens: scratch `(≥ R · candidates)`.
    func apply(_ o: ConstMatrixView, logits: MatrixView, values: MatrixView, tokens: UnsafeMutablePointer<Int>) {
        precondition(o.rows == logits.rows && o.cols == weight.cols && logits.cols == weight.rows)
        precondition(values.rows >= o.rows && values.cols == Self.candidates)
        var job = RescoringRows(rescoring: self, o: o, logits: logits, values: values, tokens: tokens)
        forEachRow(o.rows, work: weight.rows, state: &job) { raw, r in
            raw.assumingMemoryBound(to: RescoringRows.self).pointee.rescore(r)
        }
    }
}

/// One re-scoring call's rows, for `forEachRow`.
private struct RescoringRows {
    let rescoring: OutputRescoring
    let o: ConstMatrixView  // (R, O)
    let logits: MatrixView  // (R, Vt)
    let values: MatrixView  // (≥ R, K): row r's K best int8 logits
    let tokens: UnsafeMutablePointer<Int>  // (≥ R · K): their tokens

    @inline(__always) func rescore(_ r: Int) {
        let K = OutputRescoring.candidates
        let row = logits.row(r)
        let best = tokens + r * K
        let found = topTokens(row, logits.cols, count: K, skip: -1, values: values.row(r), tokens: best)
        let x = o.rows(r, 1)
        let w = rescoring.weight
        for q in 0..<found {
            let i = best[q]
            // As `Linear.apply`: the bias, then the kernel's dot product added to it (overwritten without a bias).
            if let b = rescoring.bias { row[i] = b[i] }
            Kernels.product(x, PackedMatrix(w.rows(i, 1)), into: MatrixView(row + i, rows: 1, cols: 1),
                            accumulate: rescoring.bias != nil)
        }
    }
}

extension ComputeType {
    /// Whether an output weight in this type is re-scored (its product's best logits computed again from the
    /// float32 rows, which a stored model keeps beside it): int8 and bfloat16, whose roundings (about 4e-3 and
    /// 2e-3 of a weight) flip near-ties of the toolkit models' outputs; not float16 (2.4e-4), nor float32
    /// (docs/MODEL.md, "Compute types").
    public var rescoresOutput: Bool { self == .int8 || self == .bfloat16 }
}
