// The engine's view of a model's weights: matrices ready for BLAS, with the
// biases folded where the math allows it. Built once at load; immutable.

/// `y = W · x + b`, weight `(out, in)`, bias `(out)` or absent (zeros).
struct Linear: @unchecked Sendable {
    let weight: ConstMatrixView  // (out, in)
    let bias: UnsafePointer<Float>?  // (out)
    var outputs: Int { weight.rows }
    var inputs: Int { weight.cols }

    /// `Y (n, out) = X (n, in) · Wᵀ + b`.
    @inline(__always)
    func apply(_ x: ConstMatrixView, into y: MatrixView) {
        precondition(x.cols == inputs && y.cols == outputs && x.rows == y.rows)
        if let b = bias { y.fillRows(with: b) }
        accumulateProduct(x, weight, into: y, beta: bias == nil ? 0 : 1)
    }
}

/// `Y (n, m) = X (n, k) · Wᵀ + beta · Y` for a weight `W (m, k)` (possibly a column slice).
///
/// The weight's rows are split across the worker pool when the product is large enough to pay for it; each
/// part is one single-threaded OpenBLAS call: GEMV when `n == 1` (OpenBLAS's GEMM with one column is much
/// slower), GEMM otherwise.
@inline(__always)
func accumulateProduct(_ x: ConstMatrixView, _ weight: ConstMatrixView, into y: MatrixView, beta: Float) {
    precondition(x.cols == weight.cols && y.rows == x.rows && y.cols == weight.rows,
                 "product shapes: X (\(x.rows), \(x.cols)) · Wᵀ (\(weight.cols), \(weight.rows)) -> Y (\(y.rows), \(y.cols))")
    splitProduct(ProductJob(x: x, weight: weight, y: y, beta: beta, pretransposed: false))
}

/// `Y (n, m) = X (n, k) · WT (k, m) + beta · Y` from a pre-transposed weight `WT` (see `TransposedWeight`),
/// split by its columns across the pool like `accumulateProduct`; each part is one GEMM.
func productPretransposed(_ x: ConstMatrixView, _ wt: ConstMatrixView, into y: MatrixView, beta: Float) {
    precondition(x.cols == wt.rows && y.rows == x.rows && y.cols == wt.cols,
                 "product shapes: X (\(x.rows), \(x.cols)) · WT (\(wt.rows), \(wt.cols)) -> Y (\(y.rows), \(y.cols))")
    splitProduct(ProductJob(x: x, weight: wt, y: y, beta: beta, pretransposed: true))
}

/// One product split by output columns `m`: part `p` computes columns `p · step ..< (p + 1) · step` of `Y`,
/// i.e. rows of `W (m, k)`, or columns of a pre-transposed `WT (k, m)`.
private struct ProductJob {
    let x: ConstMatrixView
    let weight: ConstMatrixView
    let y: MatrixView
    let beta: Float
    let pretransposed: Bool
    var step = 0

    init(x: ConstMatrixView, weight: ConstMatrixView, y: MatrixView, beta: Float, pretransposed: Bool) {
        self.x = x; self.weight = weight; self.y = y; self.beta = beta; self.pretransposed = pretransposed
    }

    var outputs: Int { y.cols }

    /// Columns `start ..< start + count` of the result.
    @inline(__always) func run(_ start: Int, _ count: Int) {
        if pretransposed {
            BLAS.gemm(x, .none, weight.columns(start, count), .none, into: y.columns(start, count), beta: beta)
        } else {
            productPart(x, weight.rows(start, count), y.columns(start, count), beta)
        }
    }
}

/// Runs a product whole, or split across the worker pool when it is large enough to pay for it.
@inline(__always)
private func splitProduct(_ product: ProductJob) {
    let m = product.outputs
    let pool = WorkerPool.shared
    let parts = m * product.x.cols * max(product.x.rows, 1) >= 96 * 1024 && m >= 64 ? pool.width : 1
    if parts == 1 {
        product.run(0, m)
        return
    }
    var job = product
    job.step = ((m + parts - 1) / parts + 15) & ~15
    pool.run(parts: parts, state: &job) { raw, p in
        let job = raw.assumingMemoryBound(to: ProductJob.self).pointee
        let m = job.outputs
        let start = min(p * job.step, m)
        let count = min(job.step, m - start)
        if count > 0 { job.run(start, count) }
    }
}

@inline(__always)
private func productPart(_ x: ConstMatrixView, _ weight: ConstMatrixView, _ y: MatrixView, _ beta: Float) {
    if x.rows == 1 {
        BLAS.gemv(weight, .none, x: x.base, y: y.base, beta: beta)
    } else if x.rows <= blockedGemvMaxRows {
        // A few rows (a beam, a small batch): OpenBLAS's GEMM is weak with 2–8 columns. One GEMV per row
        // over a block of weight rows small enough to stay in L2 reads each weight row from memory once.
        let blockRows = max(16, (192 * 1024 / 4) / max(weight.cols, 1)) & ~7
        var start = 0
        while start < weight.rows {
            let count = min(blockRows, weight.rows - start)
            let block = weight.rows(start, count)
            for r in 0..<x.rows {
                BLAS.gemv(block, .none, x: x.row(r), y: y.row(r) + start, beta: beta)
            }
            start += count
        }
    } else {
        BLAS.gemm(x, .none, weight, .transposed, into: y, beta: beta)
    }
}

/// Up to this many rows, products use blocked GEMVs instead of one GEMM (see `productPart`).
let blockedGemvMaxRows = 8

/// One direction of one recurrent layer, gates stacked as PyTorch stores them.
struct RecurrentLayer: @unchecked Sendable {
    let weightIH: ConstMatrixView  // (G·H, in)
    let weightHH: ConstMatrixView  // (G·H, H)
    /// (G·H): `b_ih + b_hh`, except GRU's n block, which holds `b_in` alone.
    let inputBias: UnsafePointer<Float>
    /// (H): GRU's `b_hn` (it sits inside `r ⊙ (W_hn·h + b_hn)`); nil for the other cells.
    let hiddenBiasN: UnsafePointer<Float>?
    var inputSize: Int { weightIH.cols }
}

/// Additive (Bahdanau) or concat (Luong) scoring: `v · tanh(q + K_j) + b_v`.
struct AdditiveScorer: @unchecked Sendable {
    let key: Linear  // (A, D)
    let query: Linear  // (A, H)
    let energy: UnsafePointer<Float>  // (A): the energy weight's only row
    let energyBias: Float
}

/// All of a model's weights in the form the engine computes with.
struct EngineWeights: @unchecked Sendable {
    let sourceEmbedding: ConstMatrixView  // (Vs, E)
    let targetEmbedding: ConstMatrixView  // (Vt, E)
    let encoder: [[RecurrentLayer]]  // [layer][direction], hidden size He
    let decoder: [RecurrentLayer]  // [layer], hidden size H
    let bridge: [Linear]  // linear_tanh, linear: (H, Z) per decoder layer
    let bridgeCell: [Linear]  // linear with bridge_cell linear: (H, Z) per decoder layer
    let additive: AdditiveScorer?  // bahdanau, luong_concat
    let generalKey: Linear?  // luong_general: (H, D)
    let combine: Linear?  // Luong: (H, D + H)
    let outputProjection: Linear?  // (O, H), format 2's output_projection_size
    let output: Linear  // (Vt, O or H); the target embedding when tied
    let outputTransposed: TransposedWeight  // (O or H, Vt), made when a batch of more than 8 rows first needs it

    init(config c: ModelConfig, store: TensorStore) {
        func t(_ name: String) -> Tensor? { store.tensors[name] }
        func matrix(_ name: String) -> ConstMatrixView { t(name)!.matrix }
        func vector(_ name: String) -> UnsafePointer<Float>? { t(name)?.base }
        func linear(_ prefix: String) -> Linear { Linear(weight: matrix("\(prefix).weight"), bias: vector("\(prefix).bias")) }

        func recurrent(_ prefix: String, _ k: Int, _ suffix: String, hidden H: Int) -> RecurrentLayer {
            let G = c.cell.gates * H
            let bih = vector("\(prefix).bias_ih_l\(k)\(suffix)")
            let bhh = vector("\(prefix).bias_hh_l\(k)\(suffix)")
            let folded = store.allocate(G)
            for i in 0..<G {
                let inN = c.cell == .gru && i >= 2 * H
                folded[i] = (bih?[i] ?? 0) + (inN ? 0 : (bhh?[i] ?? 0))
            }
            var hiddenN: UnsafePointer<Float>? = nil
            if c.cell == .gru {
                let b = store.allocate(H)
                for i in 0..<H { b[i] = bhh?[2 * H + i] ?? 0 }
                hiddenN = UnsafePointer(b)
            }
            return RecurrentLayer(weightIH: matrix("\(prefix).weight_ih_l\(k)\(suffix)"),
                                  weightHH: matrix("\(prefix).weight_hh_l\(k)\(suffix)"),
                                  inputBias: UnsafePointer(folded), hiddenBiasN: hiddenN)
        }

        sourceEmbedding = matrix("encoder.embedding.weight")
        targetEmbedding = matrix("decoder.embedding.weight")
        encoder = (0..<c.encoderLayers).map { k in
            (c.bidirectionalEncoder ? ["", "_reverse"] : [""]).map { recurrent("encoder.rnn", k, $0, hidden: c.encoderHidden) }
        }
        decoder = (0..<c.decoderLayers).map { recurrent("decoder.rnn", $0, "", hidden: c.hiddenSize) }
        let linearBridge = c.bridge == .linearTanh || c.bridge == .linear
        bridge = linearBridge ? (0..<c.decoderLayers).map { linear("bridge.\($0)") } : []
        bridgeCell = c.bridge == .linear && c.bridgeCell == .linear ? (0..<c.decoderLayers).map { linear("bridge_cell.\($0)") } : []
        if c.attention == .bahdanau || c.attention == .luongConcat {
            let energyBias = vector("decoder.attention.energy.bias")?[0] ?? 0
            additive = AdditiveScorer(key: linear("decoder.attention.key"), query: linear("decoder.attention.query"),
                                      energy: matrix("decoder.attention.energy.weight").base, energyBias: energyBias)
        } else {
            additive = nil
        }
        generalKey = c.attention == .luongGeneral ? linear("decoder.attention.key") : nil
        combine = c.attention.isLuong ? linear("decoder.attention.combine") : nil
        outputProjection = c.outputProjectionSize == nil ? nil : linear("decoder.output_projection")
        output = Linear(weight: c.tieTargetEmbeddings ? targetEmbedding : matrix("decoder.output.weight"),
                        bias: vector("decoder.output.bias"))
        outputTransposed = TransposedWeight(output.weight)
    }
}
