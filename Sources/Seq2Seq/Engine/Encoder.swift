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
    /// thanks to the sort).
    func encode(_ sources: [[Int]], arena: Arena) -> EncodedBatch {
        let c = config, w = weights
        let N = sources.count
        let Smax = sources[0].count
        let H = c.encoderHidden, E = c.embeddingSize, D = c.encoderOutputSize, Le = c.encoderLayers
        let G = c.cell.gates * H
        let directions = c.bidirectionalEncoder ? 2 : 1
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
        var input = x.const
        let banks = [arena.matrix(T, D), c.encoderLayers > 1 ? arena.matrix(T, D) : arena.matrix(0, D)]
        let proj = arena.matrix(T, G)  // (T, G): input projections of one direction
        let gh = arena.matrix(N, G)
        let h = arena.matrix(N, H)
        let cell = arena.matrix(N, H)
        let keepFinals = c.bridge == .copy || c.bridge == .linear
        let finalH = keepFinals ? arena.matrix(N, Le * D) : arena.matrix(0, 1)
        let finalC = keepFinals && c.cell == .lstm ? arena.matrix(N, Le * D) : arena.matrix(0, 1)
        let summary = arena.matrix(N, D)
        var out = banks[0]

        for k in 0..<c.encoderLayers {
            out = banks[k % 2]
            for dir in 0..<directions {
                let layer = w.encoder[k][dir]
                // One GEMM for all positions of all sentences: proj = input · W_ihᵀ + folded bias.
                if layer.weightIH.packed.type == .float32 && !ProductPolicy.batchInvariant && input.rows > ProductPolicy.gemmAboveRows {
                    proj.fillRows(with: layer.inputBias)
                    BLAS.gemm(input, .none, layer.weightIH.dense, .transposed, into: proj, beta: 1)
                } else {
                    biasedProduct(input, layer.weightIH, bias: layer.inputBias, into: proj)
                }
                BLAS.scale(h, by: 0)
                BLAS.scale(cell, by: 0)
                var active = N
                for step in 0..<Smax {
                    while active > 0 && lengths[active - 1] <= step { active -= 1 }
                    let hs = h.rows(0, active)
                    accumulateProduct(hs.const, layer.weightHH, into: gh.rows(0, active), beta: 0)
                    CellRows(cell: c.cell, hidden: H, gx: proj, gh: gh, biasN: layer.hiddenBiasN, h: h,
                             c: c.cell == .lstm ? cell : nil, out: out, outColumn: dir * H, offsets: offsets,
                             lengths: lengths, position: step, reversed: dir == 1)
                        .run(rows: active)
                }
                if k == c.encoderLayers - 1 {
                    for n in 0..<N { summary.row(n).advanced(by: dir * H).update(from: h.row(n), count: H) }
                }
                if keepFinals {
                    let column = k * D + dir * H
                    for n in 0..<N { finalH.row(n).advanced(by: column).update(from: h.row(n), count: H) }
                    if c.cell == .lstm {
                        for n in 0..<N { finalC.row(n).advanced(by: column).update(from: cell.row(n), count: H) }
                    }
                }
            }
            input = out.const
        }
        return EncodedBatch(count: N, maxLength: Smax, lengths: lengths, offsets: offsets, bank: out, summary: summary,
                            finalH: finalH, finalC: finalC, layerWidth: D)
    }
}
