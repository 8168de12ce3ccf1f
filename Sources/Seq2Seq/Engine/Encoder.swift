/// The encoder's results for `N` sentence slots (from `Engine.encode`: sorted by length, longest first).
///
/// Sentence slot `n` has length `lengths[n]`; its positions are rows
/// `offsets[n] ..< offsets[n] + lengths[n]` of `bank`. `Engine.encode` packs them (`offsets[n]` is the sum
/// of the lengths before `n`, `T = Σ lengths` rows, no padding); the decoding session's pool gives every
/// slot `maxLength` rows (`offsets[n] = n · maxLength`).
struct EncodedBatch {
    let count: Int  // N
    let maxLength: Int  // Smax: the longest sentence (a slot's capacity in the session's pool)
    let lengths: UnsafeMutablePointer<Int>  // (N)
    let offsets: UnsafeMutablePointer<Int>  // (N): slot n's first row in bank (and in the attention keys)
    let bank: MatrixView  // (T, D): the top layer's outputs, the memory bank m_j
    let summary: MatrixView  // (N, D): u
    /// (N, Le·D): every layer's final hidden state `x_k^h` in columns `k·D ..< (k+1)·D` (copy and linear
    /// bridges; `(0, 1)` otherwise).
    let finalH: MatrixView
    /// (N, Le·D): the final cell states `x_k^c` likewise (LSTM with the copy or linear bridge).
    let finalC: MatrixView
    let layerWidth: Int  // D

    /// `x_k^h` (N, D) of layer `k`.
    @inline(__always) func finalHidden(_ k: Int) -> ConstMatrixView { finalH.const.columns(k * layerWidth, layerWidth) }
    /// `x_k^c` (N, D) of layer `k`.
    @inline(__always) func finalCell(_ k: Int) -> ConstMatrixView { finalC.const.columns(k * layerWidth, layerWidth) }

    /// The memory bank of slot `n`: `(lengths[n], D)`.
    @inline(__always) func memory(_ n: Int) -> ConstMatrixView { bank.const.rows(offsets[n], lengths[n]) }
}

extension Engine {
    /// Runs the encoder over `sources` (already sorted by length, longest first, none empty).
    ///
    /// Positions are packed, sentence after sentence (no padding: a short sentence beside a long one costs
    /// only its own positions). Per layer and direction: one product projects every position of every
    /// sentence, then the time loop does one recurrent product over the sentences still running (a prefix,
    /// thanks to the sort). With two threads, a bidirectional layer runs its two directions at once, one per
    /// thread (`DirectionPass`).
    func encode(_ sources: [[Int]], arena: Arena) -> EncodedBatch {
        let c = config, w = weights
        let N = sources.count
        let Smax = sources[0].count
        let H = c.encoderHidden, E = c.embeddingSize, D = c.encoderOutputSize, Le = c.encoderLayers
        let G = c.cell.gates * H
        let lengths = arena.array(N, of: 0)
        let offsets = arena.array(N, of: 0)
        var T = 0
        for n in 0..<N {
            lengths[n] = sources[n].count
            offsets[n] = T
            T += lengths[n]
        }

        // x: (T, E) embeddings, sentence n's positions at rows offsets[n] ..< offsets[n] + lengths[n].
        let x = arena.matrix(T, E)
        for n in 0..<N {
            for (p, id) in sources[n].enumerated() {
                x.row(offsets[n] + p).update(from: w.sourceEmbedding.row(id), count: E)
            }
        }
        let bank0 = arena.matrix(T, D)  // (T, D): layers 0, 2, …
        let bank1 = Le > 1 ? arena.matrix(T, D) : bank0  // (T, D): layers 1, 3, …
        let keepFinals = c.bridge == .copy || c.bridge == .linear
        let finalH = keepFinals ? arena.matrix(N, Le * D) : arena.matrix(0, 1)
        let finalC = keepFinals && c.cell == .lstm ? arena.matrix(N, Le * D) : arena.matrix(0, 1)
        let summary = arena.matrix(N, D)

        // Each direction has its own working buffers (reused by every layer), so both directions of a layer
        // can run at once: proj (T, G), gh (N, G), h (N, H), and the LSTM cell state (N, H).
        let directions = c.bidirectionalEncoder ? 2 : 1
        let buffers = (0..<directions).map { _ in
            (proj: arena.matrix(T, G), gh: arena.matrix(N, G), h: arena.matrix(N, H), state: arena.matrix(c.cell == .lstm ? N : 0, H))
        }
        func pass(_ direction: Int, input: ConstMatrixView, out: MatrixView, layer k: Int) -> DirectionPass {
            let b = buffers[direction]
            return DirectionPass(layer: w.encoder[k][direction], cell: c.cell, hidden: H, direction: direction,
                          count: N, maxLength: Smax, lengths: lengths, offsets: offsets, input: input, out: out,
                          proj: b.proj, gh: b.gh, h: b.h, state: b.state,
                          summary: k == Le - 1 ? summary : nil,
                          finalH: keepFinals ? finalH : nil, finalC: keepFinals && c.cell == .lstm ? finalC : nil,
                          finalColumn: k * D + direction * H, batchInvariant: ProductPolicy.batchInvariant)
        }

        var input = x.const
        var out = bank0
        for k in 0..<Le {
            out = k % 2 == 0 ? bank0 : bank1
            if c.bidirectionalEncoder {
                var pair = DirectionPair(forward: pass(0, input: input, out: out, layer: k),
                                         backward: pass(1, input: input, out: out, layer: k))
                pair.run()
            } else {
                pass(0, input: input, out: out, layer: k).run()
            }
            input = out.const
        }
        return EncodedBatch(count: N, maxLength: Smax, lengths: lengths, offsets: offsets, bank: out, summary: summary,
                            finalH: finalH, finalC: finalC, layerWidth: D)
    }
}

/// One direction of one encoder layer over the whole batch: the input projection of every position, then the
/// time loop. It reads `input` and writes only its own buffers and its own `H` columns of `out`, `summary`,
/// `finalH` and `finalC`, so a layer's two directions may run at the same time on two threads.
private struct DirectionPass {
    let layer: RecurrentLayer
    let cell: ModelConfig.Cell
    let hidden: Int  // H
    let direction: Int  // 0 forward, 1 backward
    let count: Int  // N
    let maxLength: Int  // Smax
    let lengths: UnsafeMutablePointer<Int>  // (N), longest first
    let offsets: UnsafeMutablePointer<Int>  // (N)
    let input: ConstMatrixView  // (T, in): embeddings or the layer below's bank
    let out: MatrixView  // (T, D): this layer's bank; this direction writes columns direction·H ..< (direction+1)·H
    let proj: MatrixView  // (T, G·H): input projections
    let gh: MatrixView  // (N, G·H): W_hh · h of one step
    let h: MatrixView  // (N, H)
    let state: MatrixView  // (N, H): the LSTM cell state; (0, H) otherwise
    let summary: MatrixView?  // (N, D): the top layer's final states u; nil below it
    let finalH: MatrixView?  // (N, Le·D): the bridge's final states; nil when the bridge needs none
    let finalC: MatrixView?  // (N, Le·D): LSTM final cell states likewise
    let finalColumn: Int  // k·D + direction·H
    /// The caller's `ProductPolicy.batchInvariant` (a thread's own flag: the pool thread's is false).
    let batchInvariant: Bool

    /// Multiply-adds of the pass: both products at every position of every sentence.
    var work: Int { input.rows * (layer.weightIH.rows * layer.weightIH.cols + layer.weightHH.rows * layer.weightHH.cols) }

    func run() {
        BLAS.scale(h, by: 0)  // zero initial states (the buffers serve every layer)
        BLAS.scale(state, by: 0)
        // One product for all positions of all sentences: proj = input · W_ihᵀ + folded bias.
        if layer.weightIH.packed.type == .float32 && !batchInvariant && input.rows > ProductPolicy.gemmAboveRows {
            proj.fillRows(with: layer.inputBias)
            BLAS.gemm(input, .none, layer.weightIH.dense, .transposed, into: proj, beta: 1)
        } else {
            biasedProduct(input, layer.weightIH, bias: layer.inputBias, into: proj, batchInvariant: batchInvariant)
        }
        var active = count
        for step in 0..<maxLength {
            while active > 0 && lengths[active - 1] <= step { active -= 1 }
            accumulateProduct(h.rows(0, active).const, layer.weightHH, into: gh.rows(0, active), beta: 0,
                              batchInvariant: batchInvariant)
            CellRows(cell: cell, hidden: hidden, gx: proj, gh: gh, biasN: layer.hiddenBiasN, h: h,
                     c: cell == .lstm ? state : nil, out: out, outColumn: direction * hidden, offsets: offsets,
                     lengths: lengths, position: step, reversed: direction == 1)
                .run(rows: active)
        }
        let column = direction * hidden
        for n in 0..<count {
            summary?.row(n).advanced(by: column).update(from: h.row(n), count: hidden)
            finalH?.row(n).advanced(by: finalColumn).update(from: h.row(n), count: hidden)
            finalC?.row(n).advanced(by: finalColumn).update(from: state.row(n), count: hidden)
        }
    }
}

/// A bidirectional layer's two passes. With exactly two threads in the pool they run at once, one per thread,
/// each pass's products and cell updates then running whole on its thread (the pool, busy with the pair, runs a
/// nested split inline): two fork-joins per time step fewer, and the non-invariant input projection's GEMM
/// on both cores. In batch-invariant mode the same bits (the kernels' products do not depend on how they are
/// split; each pass carries the caller's mode, a flag of the caller's thread); outside it, a GEMM's
/// columns are no longer split in two, which OpenBLAS may round differently. With one thread, or more than
/// two, the passes run in turn, each splitting its products across the pool as before.
private struct DirectionPair {
    var forward: DirectionPass
    var backward: DirectionPass

    mutating func run() {
        let pool = WorkerPool.shared
        guard pool.width == 2 else {
            forward.run()
            backward.run()
            return
        }
        pool.run(parts: 2, work: forward.work + backward.work, state: &self) { raw, part in
            let pair = raw.assumingMemoryBound(to: DirectionPair.self)
            if part == 0 { pair.pointee.forward.run() } else { pair.pointee.backward.run() }
        }
    }
}
