/// The computation of MODEL.md over a model's weights. Stateless: all memory comes from an `Arena`.
struct Engine {
    let config: ModelConfig
    let weights: EngineWeights
}

/// The decoder's working set for a batch: per-hypothesis state rows and scratch,
/// all sized for `capacity` rows (sentences × beam) before the step loop.
///
/// Rows are hypotheses; `rowSlot[r]` is the sentence slot of row `r`. Rows of
/// one sentence are always contiguous, so attention runs per sentence on a
/// block of rows.
struct DecoderState {
    let capacity: Int
    var h: [MatrixView]  // [layer] (capacity, H)
    var c: [MatrixView]  // [layer] (capacity, H), LSTM only
    var hTilde: MatrixView  // (capacity, H): o_t, Luong's h̃_t or the fed previous output; (0, H) when neither
    var rowSlot: UnsafeMutablePointer<Int>  // (capacity)
    var prevToken: UnsafeMutablePointer<Int>  // (capacity)
    // Second copies, for reordering rows after a beam step (swapped, never copied back).
    var h2: [MatrixView], c2: [MatrixView], hTilde2: MatrixView
    var rowSlot2: UnsafeMutablePointer<Int>, prevToken2: UnsafeMutablePointer<Int>

    // Scratch.
    let embedded: MatrixView  // (capacity, E)
    let context: MatrixView  // (capacity, D): c_t
    let gx: MatrixView  // (capacity, G·H)
    let gh: MatrixView  // (capacity, G·H)
    let query: MatrixView  // (capacity, A) additive attention, (0, 0) otherwise
    let alpha: MatrixView  // (capacity, Smax): attention weights of the current step
    let projected: MatrixView  // (capacity, O): z_t with an output projection, (0, 1) otherwise
    let logits: MatrixView  // (capacity, Vt)
    let rescoreValues: MatrixView  // (capacity, OutputRescoring.candidates) with int8 output re-scoring, (0, K) otherwise
    let rescoreTokens: UnsafeMutablePointer<Int>  // (capacity · OutputRescoring.candidates), or (0)

    // Per sentence slot, computed once per batch.
    let keys: MatrixView  // (T, A) additive, (T, H) luong_general, rows as the bank's; empty otherwise
    let fixedInput: MatrixView  // (N, G·H): input feed summary, W_ih[:, E:] · u + bias

    init(engine: Engine, encoded: EncodedBatch, capacity R: Int, arena: Arena) {
        let c = engine.config
        let H = c.hiddenSize, E = c.embeddingSize, D = c.encoderOutputSize
        let G = c.cell.gates * H
        let L = c.decoderLayers
        let N = encoded.count, Smax = encoded.maxLength
        let lstm = c.cell == .lstm
        capacity = R
        h = (0..<L).map { _ in arena.matrix(R, H) }
        h2 = (0..<L).map { _ in arena.matrix(R, H) }
        self.c = lstm ? (0..<L).map { _ in arena.matrix(R, H) } : []
        c2 = lstm ? (0..<L).map { _ in arena.matrix(R, H) } : []
        let keepsOutput = c.attention.isLuong || c.inputFeed == .previousOutput
        hTilde = arena.matrix(keepsOutput ? R : 0, H)
        hTilde2 = arena.matrix(keepsOutput ? R : 0, H)
        rowSlot = arena.array(R, of: 0)
        rowSlot2 = arena.array(R, of: 0)
        prevToken = arena.array(R, of: c.specialTokens.bos)
        prevToken2 = arena.array(R, of: c.specialTokens.bos)
        embedded = arena.matrix(R, E)
        context = arena.matrix(R, D)
        gx = arena.matrix(R, G)
        gh = arena.matrix(R, G)
        let A = engine.weights.additive?.key.outputs ?? 0
        query = arena.matrix(A > 0 ? R : 0, max(A, 1))
        alpha = arena.matrix(R, Smax)
        projected = c.outputProjectionSize.map { arena.matrix(R, $0) } ?? arena.matrix(0, 1)
        logits = arena.matrix(R, c.targetVocabSize)
        let rescored = engine.weights.outputRescoring == nil ? 0 : R
        rescoreValues = arena.matrix(rescored, OutputRescoring.candidates)
        rescoreTokens = arena.array(rescored * OutputRescoring.candidates, of: 0)

        let w = engine.weights
        if let add = w.additive {
            keys = arena.matrix(encoded.bank.rows, A)
            add.key.apply(encoded.bank.const, into: keys)
        } else if let general = w.generalKey {
            keys = arena.matrix(encoded.bank.rows, H)
            general.apply(encoded.bank.const, into: keys)
        } else {
            keys = arena.matrix(0, 1)
        }
        if c.inputFeed == .summary {
            let layer = w.decoder[0]
            fixedInput = arena.matrix(N, G)
            fixedInput.fillRows(with: layer.inputBias)
            accumulateProduct(encoded.summary.const, layer.weightIH.columns(E, D), into: fixedInput, beta: 1)
        } else {
            fixedInput = arena.matrix(0, 1)
        }
    }

    /// Sets row `n` to sentence slot `n`'s initial state (the bridge), for `n < N`.
    mutating func start(engine: Engine, encoded: EncodedBatch) {
        let c = engine.config
        let N = encoded.count
        for n in 0..<N { rowSlot[n] = n }
        let H = c.hiddenSize
        let w = engine.weights
        switch c.bridge {
        case .zeros:
            break
        case .copy:
            for k in 0..<c.decoderLayers {
                copyRows(encoded.finalHidden(k), into: h[k], count: N)
                if c.cell == .lstm { copyRows(encoded.finalCell(k), into: self.c[k], count: N) }
            }
        case .linearTanh:
            for k in 0..<c.decoderLayers {
                let s = h[k].rows(0, N)
                w.bridge[k].apply(encoded.summary.const, into: s)
                for n in 0..<N { tanhInPlace(s.row(n), H) }
            }
        case .linear:
            func input(_ k: Int, cells: Bool) -> ConstMatrixView {
                switch c.bridgeInput {
                case .summary: return cells ? encoded.finalCell(c.encoderLayers - 1) : encoded.summary.const
                case .layer: return cells ? encoded.finalCell(k) : encoded.finalHidden(k)
                case .stacked: return cells ? encoded.finalC.const : encoded.finalH.const
                }
            }
            for k in 0..<c.decoderLayers {
                let s = h[k].rows(0, N)
                w.bridge[k].apply(input(k, cells: false), into: s)
                for n in 0..<N { activate(c.bridgeActivation, s.row(n), H) }
                guard c.cell == .lstm else { continue }
                switch c.bridgeCell {
                case .zeros:
                    break
                case .hidden:
                    copyRows(s.const, into: self.c[k], count: N)
                case .linear:
                    let cs = self.c[k].rows(0, N)
                    w.bridgeCell[k].apply(input(k, cells: true), into: cs)
                    for n in 0..<N { activate(c.bridgeActivation, cs.row(n), H) }
                }
            }
        }
    }

    /// Makes row `i` a copy of row `parents[i]` for `i < count` (beam reordering, dropping finished rows).
    mutating func gather(_ parents: UnsafePointer<Int>, count: Int) {
        func copyRows(_ from: MatrixView, _ to: MatrixView) {
            for i in 0..<count { to.row(i).update(from: from.row(parents[i]), count: from.cols) }
        }
        for k in h.indices { copyRows(h[k], h2[k]) }
        for k in c.indices { copyRows(c[k], c2[k]) }
        if hTilde.rows > 0 { copyRows(hTilde, hTilde2) }
        for i in 0..<count {
            rowSlot2[i] = rowSlot[parents[i]]
            prevToken2[i] = prevToken[parents[i]]
        }
        swap(&h, &h2)
        swap(&c, &c2)
        swap(&hTilde, &hTilde2)
        swap(&rowSlot, &rowSlot2)
        swap(&prevToken, &prevToken2)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Engine {
    /// One decoder step for rows `0 ..< R`: reads `prevToken` and the state, updates the
    /// state, and leaves `logits` (R, Vt) and, with attention, `alpha` (R, Smax).
    func step(_ s: inout DecoderState, rows R: Int, encoded: EncodedBatch) {
        let c = config, w = weights
        let E = c.embeddingSize, H = c.hiddenSize, D = c.encoderOutputSize
        let top = c.decoderLayers - 1
        let lstm = c.cell == .lstm

        // e_t: gather embeddings of the previous tokens.
        for r in 0..<R { s.embedded.row(r).update(from: w.targetEmbedding.row(s.prevToken[r]), count: E) }
        if c.decoderEmbeddingActivation != .none {
            for r in 0..<R { activate(c.decoderEmbeddingActivation, s.embedded.row(r), E) }
        }

        // Input feed context (Bahdanau): attention before the RNN, from the previous top state.
        if c.inputFeed == .context {
            attend(&s, rows: R, encoded: encoded, state: s.h[top].rows(0, R).const)
        }

        // Layer 0 input projection: W_ih · [e; f] as GEMMs over column slices of W_ih.
        let gx = s.gx.rows(0, R), gh = s.gh.rows(0, R)
        let l0 = w.decoder[0]
        if c.inputFeed == .summary {
            for r in 0..<R { gx.row(r).update(from: s.fixedInput.row(s.rowSlot[r]), count: gx.cols) }
            accumulateProduct(s.embedded.rows(0, R).const, l0.weightIH.columns(0, E), into: gx, beta: 1)
        } else {
            biasedProduct(s.embedded.rows(0, R).const, l0.weightIH.columns(0, E), bias: l0.inputBias, into: gx)
        }
        switch c.inputFeed {
        case .context: accumulateProduct(s.context.rows(0, R).const, l0.weightIH.columns(E, D), into: gx, beta: 1)
        case .previousOutput: accumulateProduct(s.hTilde.rows(0, R).const, l0.weightIH.columns(E, H), into: gx, beta: 1)
        case .summary, .embeddingOnly: break
        }
        for k in 0..<c.decoderLayers {
            let layer = w.decoder[k]
            if k > 0 {
                biasedProduct(s.h[k - 1].rows(0, R).const, layer.weightIH, bias: layer.inputBias, into: gx)
            }
            let hk = s.h[k]
            accumulateProduct(hk.rows(0, R).const, layer.weightHH, into: gh, beta: 0)
            CellRows(cell: c.cell, hidden: H, gx: gx, gh: gh, biasN: layer.hiddenBiasN, h: hk, c: lstm ? s.c[k] : nil,
                     out: nil, outColumn: 0, offsets: nil, lengths: nil, position: 0, reversed: false)
                .run(rows: R)
        }

        // Output state o_t.
        var o: ConstMatrixView
        if c.attention.isLuong {
            let ht = s.h[top].rows(0, R).const
            attend(&s, rows: R, encoded: encoded, state: ht)
            // h̃ = act(W_c · [c; h] + b_c)
            let combine = w.combine!
            let out = s.hTilde.rows(0, R)
            if let b = combine.bias { out.fillRows(with: b) }
            let beta: Float = combine.bias == nil ? 0 : 1
            accumulateProduct(s.context.rows(0, R).const, combine.weight.columns(0, D), into: out, beta: beta)
            accumulateProduct(ht, combine.weight.columns(D, H), into: out, beta: 1)
            if c.combineActivation == .tanh { for r in 0..<R { tanhInPlace(out.row(r), H) } }
            o = out.const
        } else {
            o = s.h[top].rows(0, R).const
            // Kept to be fed at the next step.
            if s.hTilde.rows > 0 { copyRows(o, into: s.hTilde, count: R) }
        }
        if let projection = w.outputProjection {
            let z = s.projected.rows(0, R)
            projection.apply(o, into: z)
            o = z.const
        }
        let logits = s.logits.rows(0, R)
        if R > ProductPolicy.gemmAboveRows && w.output.weight.packed.type == .float32 && !ProductPolicy.batchInvariant {
            // A batch: GEMM from the pre-transposed output weight (no per-call transposing pack).
            productPretransposed(o, w.outputTransposed.matrix, bias: w.output.bias, into: logits)
        } else {
            w.output.apply(o, into: logits)
            // int8: the best candidates of each row again in float32.
            w.outputRescoring?.apply(o, logits: logits, values: s.rescoreValues, tokens: s.rescoreTokens)
        }
    }

    /// Attention for rows `0 ..< R` with query states `state` (R, H): fills `alpha` and `context`.
    func attend(_ s: inout DecoderState, rows R: Int, encoded: EncodedBatch, state: ConstMatrixView) {
        let c = config
        if let add = weights.additive {
            let q = s.query.rows(0, R)
            add.query.apply(state, into: q)
        }
        precondition(c.attention != .none, "attend() without attention")
        // Luong dot/general: one product per sentence block of rows.
        if c.attention == .luongDot || c.attention == .luongGeneral {
            var r0 = 0
            while r0 < R {
                let slot = s.rowSlot[r0]
                var r1 = r0 + 1
                while r1 < R && s.rowSlot[r1] == slot { r1 += 1 }
                let len = encoded.lengths[slot]
                let alpha = MatrixView(s.alpha.row(r0), rows: r1 - r0, cols: len, ld: s.alpha.ld)
                let keys = c.attention == .luongDot ? encoded.memory(slot)
                                                    : s.keys.const.rows(encoded.offsets[slot], len)
                scoreProduct(state.rows(r0, r1 - r0), keys, into: alpha)
                r0 = r1
            }
        }
        // Additive scores (Bahdanau, Luong concat), every softmax and the context c_t = Σ_j α_tj m_j: row by
        // row, in parallel (each row's mix is the same bits alone or in a block).
        var scoring = AttentionScoring(alpha: s.alpha, context: s.context, rowSlot: s.rowSlot, queries: s.query,
                                       keys: s.keys, additive: weights.additive, encoded: encoded)
        let work = encoded.maxLength * (max(weights.additive?.key.outputs ?? 1, 8) + c.encoderOutputSize)
        forEachRow(R, work: work, state: &scoring) { raw, r in
            raw.assumingMemoryBound(to: AttentionScoring.self).pointee.score(r)
        }
    }

    /// `scores (n, len) = queries (n, K) · keysᵀ (K, len)`.
    @inline(__always)
    private func scoreProduct(_ queries: ConstMatrixView, _ keys: ConstMatrixView, into scores: MatrixView) {
        Kernels.product(queries, PackedMatrix(keys), into: scores, accumulate: false)
    }
}

/// Attention of one row: additive scores when the model has them (the Luong products are done before), the
/// softmax over the sentence's positions, then the context vector.
struct AttentionScoring {
    let alpha: MatrixView  // (R, Smax)
    let context: MatrixView  // (R, D)
    let rowSlot: UnsafeMutablePointer<Int>
    let queries: MatrixView  // (R, A)
    let keys: MatrixView  // (T, A), rows as the memory bank's
    let additive: AdditiveScorer?
    let encoded: EncodedBatch  // the memory bank and each slot's rows in it

    @inline(__always) func score(_ r: Int) {
        let slot = rowSlot[r]
        let len = encoded.lengths[slot]
        let a = alpha.row(r)
        if let add = additive {
            let A = add.key.outputs
            let q = queries.row(r)
            let k = keys.const.rows(encoded.offsets[slot], len)
            for j in 0..<len { a[j] = Kernels.additiveScore(q, k.row(j), add.energy, A) + add.energyBias }
        }
        softmaxInPlace(a, len)
        // c_t = Σ_j α_tj m_j
        Kernels.mix(ConstMatrixView(UnsafePointer(a), rows: 1, cols: len, ld: alpha.ld), encoded.memory(slot),
                    into: context.rows(r, 1))
    }
}

/// Copies rows `0 ..< count` of `from` into `to` (same column count).
@inline(__always)
func copyRows(_ from: ConstMatrixView, into to: MatrixView, count: Int) {
    precondition(from.cols == to.cols && count <= from.rows && count <= to.rows)
    for r in 0..<count { to.row(r).update(from: from.row(r), count: from.cols) }
}

/// Applies an activation in place to `n` values.
@inline(__always)
func activate(_ f: ModelConfig.Activation, _ x: UnsafeMutablePointer<Float>, _ n: Int) {
    switch f {
    case .tanh: tanhInPlace(x, n)
    case .relu: for i in 0..<n where !(x[i] > 0) { x[i] = 0 }
    case .none: break
    }
}
