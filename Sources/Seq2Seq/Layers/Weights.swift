#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The engine's view of a model's weights: matrices ready for BLAS, with the
// biases folded where the math allows it. Built once at load; immutable.

/// A weight matrix `(rows, cols)`: the float32 view of the loaded tensor (for the large BLAS products) and the
/// same matrix in the model's compute type (for the engine's kernels; the float32 view itself when the type is
/// float32 or the tensor's family is kept in float32). A weight read in place from a stored quantized model has
/// no float32 view: only the kernels read it (every float32-only path checks `packed.type` first).
struct Weight: @unchecked Sendable {
    let float32: ConstMatrixView?  // (rows, cols) float32, nil for a stored quantized weight
    let packed: PackedMatrix  // (rows, cols) in the compute type
    var rows: Int { packed.rows }
    var cols: Int { packed.cols }

    /// The float32 view; only float32 weights have one.
    var dense: ConstMatrixView {
        guard let d = float32 else { preconditionFailure("a \(packed.type) weight read from a stored quantized model has no float32 view") }
        return d
    }

    init(_ dense: ConstMatrixView, packed: PackedMatrix? = nil) {
        self.float32 = dense
        self.packed = packed ?? PackedMatrix(dense)
        precondition(self.packed.rows == dense.rows && self.packed.cols == dense.cols)
    }

    /// A weight stored in a reduced type only (a stored quantized model's, read in place).
    init(packed: PackedMatrix) {
        precondition(packed.type != .float32, "a float32 weight has a float32 view")
        self.float32 = nil
        self.packed = packed
    }

    private init(_ float32: ConstMatrixView?, _ packed: PackedMatrix) { self.float32 = float32; self.packed = packed }

    /// Columns `start ..< start + count`.
    func columns(_ start: Int, _ count: Int) -> Weight {
        Weight(float32?.columns(start, count), packed.columns(start, count))
    }

    /// Rows `start ..< start + count`.
    func rows(_ start: Int, _ count: Int) -> Weight { Weight(float32?.rows(start, count), packed.rows(start, count)) }
}

/// `y = W · x + b`, weight `(out, in)`, bias `(out)` or absent (zeros).
struct Linear: @unchecked Sendable {
    let weight: Weight  // (out, in)
    let bias: UnsafePointer<Float>?  // (out)
    var outputs: Int { weight.rows }
    var inputs: Int { weight.cols }

    /// `Y (n, out) = X (n, in) · Wᵀ + b`.
    @inline(__always)
    func apply(_ x: ConstMatrixView, into y: MatrixView) {
        precondition(x.cols == inputs && y.cols == outputs && x.rows == y.rows)
        biasedProduct(x, weight, bias: bias, into: y)
    }
}

/// How products are computed, for the current decoding call (set by `Translator` and `DecodingSession`).
enum ProductPolicy {
    /// Batch-invariant mode: every product that touches a row goes through the engine's kernels, whose
    /// per-element reduction order does not depend on the other rows, the row count or the thread split.
    ///
    /// The calling thread's own flag, set around each call by `with(batchInvariant:_:)` (decoding calls are
    /// synchronous: they run on one thread from start to end). Not a task-local: binding one on a thread with
    /// no task (the server's engine thread) allocates, at every session step. A pool thread's flag is false:
    /// work that makes products there carries the caller's (the encoder's `DirectionPass`).
    static var batchInvariant: Bool { Kernels.threadBatchInvariant }

    /// Runs `body` with the calling thread's batch-invariant flag set to `value`, then restores the flag.
    @inline(__always)
    static func with<T>(batchInvariant value: Bool, _ body: () throws -> T) rethrows -> T {
        let saved = Kernels.threadBatchInvariant
        Kernels.threadBatchInvariant = value
        defer { Kernels.threadBatchInvariant = saved }
        return try body()
    }

    /// `SEQ2SEQ_PRODUCTS=openblas` in the environment: float32 products of up to 16 rows go to OpenBLAS
    /// (GEMV for one row, blocked GEMVs for 2–8, GEMM above) as before the engine had its own kernels; for
    /// A/B measurements in one binary. Batch-invariant mode and reduced compute types ignore it.
    static let openBLASOnly: Bool = {
        guard let v = getenv("SEQ2SEQ_PRODUCTS") else { return false }
        return String(cString: v) == "openblas"
    }()

    /// Outside batch-invariant mode, float32 products of more rows than this go to OpenBLAS's GEMM (the
    /// encoder's input projections, the decoder's products, the output layer from its pre-transposed copy);
    /// up to this many, the engine's kernel. 16 with the AVX2 kernels; 32 with AVX-512, whose kernel beats GEMM
    /// at 32 rows and loses from 64 (README, "Performance"). `SEQ2SEQ_GEMM_ABOVE_ROWS=N` sets it, for A/B
    /// measurements in one binary.
    static let gemmAboveRows: Int = {
        if let v = getenv("SEQ2SEQ_GEMM_ABOVE_ROWS"), let n = Int(String(cString: v)), n >= 0 { return n }
        return Kernels.hasAVX512 ? 2 * kernelMaxRows : kernelMaxRows
    }()
}

/// `Y (n, m) = X (n, k) · Wᵀ + beta · Y` for a weight `W (m, k)` (possibly a column slice); `beta` is 0 or 1.
///
/// The weight's rows are split across the worker pool when the product is large enough to pay for it. Each
/// part is one call of the engine's weight-stationary kernel (any compute type; up to
/// `ProductPolicy.gemmAboveRows` rows, or any number in batch-invariant mode), or one single-threaded OpenBLAS
/// GEMM for larger float32 batches. `batchInvariant` is read where the call is made: work running on a pool
/// thread (whose own flag is false) passes its caller's.
@inline(__always)
func accumulateProduct(_ x: ConstMatrixView, _ weight: Weight, into y: MatrixView, beta: Float,
                       bias: UnsafePointer<Float>? = nil, batchInvariant: Bool = ProductPolicy.batchInvariant) {
    precondition(x.cols == weight.cols && y.rows == x.rows && y.cols == weight.rows,
                 "product shapes: X (\(x.rows), \(x.cols)) · Wᵀ (\(weight.cols), \(weight.rows)) -> Y (\(y.rows), \(y.cols))")
    precondition(beta == 0 || beta == 1, "products accumulate (beta 1) or overwrite (beta 0)")
    let type = weight.packed.type
    let kernel = (x.rows <= ProductPolicy.gemmAboveRows && !ProductPolicy.openBLASOnly) || type != .float32
        || batchInvariant
    // 16-bit weights times more rows than the AVX2 kernels' sweet spot: widened tile by tile into OpenBLAS's
    // GEMM. The AVX-512 kernels are faster than that at every row count measured (B2 W2 float16 1,345 tok/s
    // against 1,084 widened), so with them the kernel runs.
    let widened = !batchInvariant && x.rows > kernelMaxRows && (type == .float16 || type == .bfloat16)
        && !Kernels.hasAVX512
    precondition(bias == nil || beta == 1, "a product onto its bias accumulates")
    splitProduct(ProductJob(x: x, weight: weight, y: y, beta: beta, bias: bias,
                            mode: widened ? .widened : kernel ? .kernel : .gemm))
}

/// `Y (n, m) = X (n, k) · Wᵀ + b` (every row), or `X · Wᵀ` when `bias` is nil: `accumulateProduct` on rows first
/// set to the bias (`b` (m)), each part of a split product setting its own columns just before its product (in
/// the thread that then reads them). The same bits as filling `Y` first.
@inline(__always)
func biasedProduct(_ x: ConstMatrixView, _ weight: Weight, bias: UnsafePointer<Float>?, into y: MatrixView,
                   batchInvariant: Bool = ProductPolicy.batchInvariant) {
    guard let bias else { return accumulateProduct(x, weight, into: y, beta: 0, batchInvariant: batchInvariant) }
    accumulateProduct(x, weight, into: y, beta: 1, bias: bias, batchInvariant: batchInvariant)
}

/// `Y (n, m) = X (n, k) · WT (k, m) + b` (or without `b` when `bias` is nil) from a pre-transposed weight `WT`
/// (see `TransposedWeight`), split by its columns across the pool like `accumulateProduct`; each part is one
/// GEMM on its columns, first set to the bias.
func productPretransposed(_ x: ConstMatrixView, _ wt: ConstMatrixView, bias: UnsafePointer<Float>?, into y: MatrixView) {
    precondition(x.cols == wt.rows && y.rows == x.rows && y.cols == wt.cols,
                 "product shapes: X (\(x.rows), \(x.cols)) · WT (\(wt.rows), \(wt.cols)) -> Y (\(y.rows), \(y.cols))")
    splitProduct(ProductJob(x: x, weight: Weight(wt), y: y, beta: bias == nil ? 0 : 1, bias: bias, mode: .pretransposed))
}

/// One product split by output columns `m`: part `p` computes columns `p · step ..< (p + 1) · step` of `Y`,
/// i.e. rows of `W (m, k)`, or columns of a pre-transposed `WT (k, m)`.
private struct ProductJob {
    enum Mode { case kernel, gemm, pretransposed, widened }
    let x: ConstMatrixView
    let weight: Weight
    let y: MatrixView
    let beta: Float
    /// (m) or nil: each part sets its columns of `Y` to it first (then `beta` is 1).
    let bias: UnsafePointer<Float>?
    let mode: Mode
    var step = 0

    init(x: ConstMatrixView, weight: Weight, y: MatrixView, beta: Float, bias: UnsafePointer<Float>?, mode: Mode) {
        self.x = x; self.weight = weight; self.y = y; self.beta = beta; self.bias = bias; self.mode = mode
    }

    var outputs: Int { y.cols }

    /// Columns `start ..< start + count` of the result.
    @inline(__always) func run(_ start: Int, _ count: Int) {
        if let bias { y.columns(start, count).fillRows(with: bias + start) }
        switch mode {
        case .pretransposed:
            BLAS.gemm(x, .none, weight.dense.columns(start, count), .none, into: y.columns(start, count), beta: beta)
        case .kernel:
            Kernels.product(x, weight.packed.rows(start, count), into: y.columns(start, count), accumulate: beta != 0)
        case .gemm:
            productPart(x, weight.dense.rows(start, count), y.columns(start, count), beta)
        case .widened:
            // Tiles of about 256 KB of float32 rows (L2-resident while GEMM reads them), in this thread's scratch.
            let k = weight.cols
            let tile = min(count, max(16, (64 * 1024) / max(k, 1)))
            let scratch = Kernels.threadScratch(tile * k)  // (tile, k)
            var r = start
            while r < start + count {
                let n = min(tile, start + count - r)
                Kernels.widen(weight.packed.rows(r, n), into: scratch)
                BLAS.gemm(x, .none, ConstMatrixView(UnsafePointer(scratch), rows: n, cols: k), .transposed,
                          into: y.columns(r, n), beta: beta)
                r += n
            }
        }
    }
}

/// Runs a product whole, or split across the worker pool when it is large enough to pay for it.
@inline(__always)
private func splitProduct(_ product: ProductJob) {
    let m = product.outputs
    let pool = WorkerPool.shared
    let work = m * product.x.cols * max(product.x.rows, 1)  // multiply-adds
    let parts = work >= 96 * 1024 && m >= 64 ? pool.width : 1
    if parts == 1 {
        product.run(0, m)
        return
    }
    var job = product
    job.step = ((m + parts - 1) / parts + 15) & ~15
    pool.run(parts: parts, work: work, state: &job) { raw, p in
        let job = raw.assumingMemoryBound(to: ProductJob.self).pointee
        let m = job.outputs
        let start = min(p * job.step, m)
        let count = min(job.step, m - start)
        if count > 0 { job.run(start, count) }
    }
}

/// OpenBLAS for one part of a float32 product: GEMV for one row, blocked GEMVs for up to 8 (see
/// `SEQ2SEQ_PRODUCTS`), one GEMM above.
@inline(__always)
private func productPart(_ x: ConstMatrixView, _ weight: ConstMatrixView, _ y: MatrixView, _ beta: Float) {
    if x.rows == 1 {
        BLAS.gemv(weight, .none, x: x.base, y: y.base, beta: beta)
    } else if x.rows <= 8 {
        let blockRows = max(16, (192 * 1024 / 4) / max(weight.cols, 1)) & ~7
        var start = 0
        while start < weight.rows {
            let count = min(blockRows, weight.rows - start)
            let block = weight.rows(start, count)
            for r in 0..<x.rows { BLAS.gemv(block, .none, x: x.row(r), y: y.row(r) + start, beta: beta) }
            start += count
        }
    } else {
        BLAS.gemm(x, .none, weight, .transposed, into: y, beta: beta)
    }
}

/// Up to this many rows, float32 products use the AVX2 kernels instead of OpenBLAS's GEMM (outside
/// batch-invariant mode; twice as many with AVX-512: `ProductPolicy.gemmAboveRows`), and 16-bit weights are not
/// widened for GEMM.
let kernelMaxRows = 16

/// One direction of one recurrent layer, gates stacked as PyTorch stores them.
struct RecurrentLayer: @unchecked Sendable {
    let weightIH: Weight  // (G·H, in)
    let weightHH: Weight  // (G·H, H)
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
    let outputTransposed: TransposedWeight  // (O or H, Vt), made when a float32 batch of more than 16 rows first needs it
    /// An int8 output weight's float32 rows, re-scoring each step's best logits; nil otherwise.
    let outputRescoring: OutputRescoring?
    /// The compute type of each family (float32 for the families kept in float32).
    let computeTypes: [WeightFamily: ComputeType]

    /// `types`: each family's compute type (`Seq2SeqModel.resolveTypes`).
    init(config c: ModelConfig, store: TensorStore, types: [WeightFamily: ComputeType]) {
        func t(_ name: String) -> Tensor? { store.tensors[name] }
        func matrix(_ name: String) -> ConstMatrixView { t(name)!.matrix }
        func vector(_ name: String) -> UnsafePointer<Float>? { t(name)?.base }
        computeTypes = types
        func weight(_ name: String, _ family: WeightFamily) -> Weight {
            let type = types[family]!
            if let stored = store.packed[name] {
                // A stored quantized model: read in place in its own type, or dequantized for float32.
                if stored.type == type { return Weight(packed: stored) }
                precondition(type == .float32, "\(name): stored \(stored.type) cannot run as \(type)")
                return Weight(stored.dequantized(allocate: store.allocate))
            }
            let dense = matrix(name)
            if type == .float32 { return Weight(dense) }
            return Weight(dense, packed: Kernels.pack(dense, as: type, allocate: store.allocateBytes))
        }
        func linear(_ prefix: String, _ family: WeightFamily) -> Linear {
            Linear(weight: weight("\(prefix).weight", family), bias: vector("\(prefix).bias"))
        }

        func recurrent(_ prefix: String, _ k: Int, _ suffix: String, hidden H: Int, _ family: WeightFamily) -> RecurrentLayer {
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
            return RecurrentLayer(weightIH: weight("\(prefix).weight_ih_l\(k)\(suffix)", family),
                                  weightHH: weight("\(prefix).weight_hh_l\(k)\(suffix)", family),
                                  inputBias: UnsafePointer(folded), hiddenBiasN: hiddenN)
        }

        sourceEmbedding = matrix("encoder.embedding.weight")
        targetEmbedding = matrix("decoder.embedding.weight")
        encoder = (0..<c.encoderLayers).map { k in
            (c.bidirectionalEncoder ? ["", "_reverse"] : [""]).map { recurrent("encoder.rnn", k, $0, hidden: c.encoderHidden, .encoder) }
        }
        decoder = (0..<c.decoderLayers).map { recurrent("decoder.rnn", $0, "", hidden: c.hiddenSize, .recurrent) }
        let linearBridge = c.bridge == .linearTanh || c.bridge == .linear
        bridge = linearBridge ? (0..<c.decoderLayers).map { linear("bridge.\($0)", .bridge) } : []
        bridgeCell = c.bridge == .linear && c.bridgeCell == .linear ? (0..<c.decoderLayers).map { linear("bridge_cell.\($0)", .bridge) } : []
        if c.attention == .bahdanau || c.attention == .luongConcat {
            let energyBias = vector("decoder.attention.energy.bias")?[0] ?? 0
            additive = AdditiveScorer(key: linear("decoder.attention.key", .attention), query: linear("decoder.attention.query", .attention),
                                      energy: matrix("decoder.attention.energy.weight").base, energyBias: energyBias)
        } else {
            additive = nil
        }
        generalKey = c.attention == .luongGeneral ? linear("decoder.attention.key", .attention) : nil
        combine = c.attention.isLuong ? linear("decoder.attention.combine", .attention) : nil
        outputProjection = c.outputProjectionSize == nil ? nil : linear("decoder.output_projection", .output)
        // A tied output weight is the target embedding, unless a stored quantized file holds its quantized copy.
        let tiedFloat = c.tieTargetEmbeddings && store.packed["decoder.output.weight"] == nil
        let outputWeight: Weight
        if let stored = store.packed["decoder.output.weight"], stored.type.rescoresOutput {
            // A stored int8 or bfloat16 output weight keeps its float32 rows (checked at load):
            // `decoder.output.weight.rescore`, or the embedding when tied. They re-score the reduced product, or
            // are the weight in float32.
            let rows = c.tieTargetEmbeddings ? matrix("decoder.embedding.weight") : matrix("decoder.output.weight.rescore")
            outputWeight = types[.output] == stored.type ? Weight(rows, packed: stored) : Weight(rows)
        } else {
            outputWeight = weight(tiedFloat ? "decoder.embedding.weight" : "decoder.output.weight", .output)
        }
        output = Linear(weight: outputWeight, bias: vector("decoder.output.bias"))
        outputRescoring = OutputRescoring(output)
        outputTransposed = TransposedWeight(output.weight.packed.type == .float32 ? output.weight.float32 : nil)
    }
}

/// Groups of tensors that a compute type may quantize or keep in float32 (`Seq2SeqModel(computeType:families:otherFamilies:)`).
public enum WeightFamily: String, Sendable, CaseIterable, Hashable {
    /// The output weight over the target vocabulary (tied or not) and format 2's output projection.
    case output
    /// Attention: key, query, combine (the energy vector stays float32).
    case attention
    /// The decoder's recurrent layers, `W_ih` and `W_hh`.
    case recurrent
    /// The encoder's recurrent layers, `W_ih` and `W_hh`.
    case encoder
    /// The bridge's linear maps.
    case bridge

    /// The families a reduced compute type quantizes unless told otherwise, chosen by measuring quality (docs/MODEL.md,
    /// "Compute types"): float16 every family; bfloat16 the output weight (re-scored, as int8's), the decoder's
    /// recurrent weights and the bridge, because bfloat16 attention and encoder weights flip the greedy output of
    /// more than 1% of sentences on some toolkit model; int8 the output weight (its product's best logits re-scored in float32) and the bridge,
    /// because int8 attention, decoder and encoder weights each flip more than 1% on some of the measured models
    /// (always at float32 near-ties). Ask for more with `families:` (`--quantize`).
    public static func quantizedByDefault(for type: ComputeType) -> Set<WeightFamily> {
        switch type {
        case .float32: []
        case .float16: Set(allCases)
        case .bfloat16: [.output, .recurrent, .bridge]
        case .int8: [.output, .bridge]
        }
    }
}
