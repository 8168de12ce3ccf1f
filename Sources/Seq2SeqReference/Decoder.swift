import Seq2Seq

// MODEL.md "Decoder step t = 1, 2, …" and "Output", for one hypothesis and one step.

/// The decoder's weights.
struct DecoderWeights {
    /// `decoder.embedding.weight (Vt, E)`.
    let embedding: Matrix
    /// `decoder.rnn` layers `k = 0…Ld−1`; layer 0 reads `I`, the others `H`.
    let layers: [CellWeights]
    let attention: AttentionWeights
    /// `decoder.output.weight (Vt, H)`, or `decoder.embedding.weight` with `tie_target_embeddings`.
    let output: Matrix
    /// `decoder.output.bias (Vt)`.
    let outputBias: [Double]

    init(_ p: Parameters, config c: ModelConfig) {
        embedding = p.weight("decoder.embedding.weight")
        layers = (0..<c.decoderLayers).map { k in
            CellWeights(p, prefix: "decoder.rnn", layer: k, reverse: false, gates: c.cell.gates, hidden: c.hiddenSize)
        }
        attention = AttentionWeights(p, config: c)
        // With tie_target_embeddings, decoder.embedding.weight takes the place of decoder.output.weight:
        // each target word's score is the dot product of o_t with that word's vector.
        output = c.tieTargetEmbeddings ? embedding : p.weight("decoder.output.weight")
        outputBias = p.bias("decoder.output.bias", count: c.targetVocabSize)
    }
}

/// What one hypothesis carries from step `t − 1` to step `t`.
struct DecoderState {
    /// `s_{t−1}^k` for each layer `k` (`s_0` is the bridge's state).
    var s: [CellState]
    /// `h̃_{t−1}` (H), Luong attentions only; `h̃_0 = 0`.
    var hTilde: [Double]
}

/// One sentence's encoder output with its attention keys, fixed for all of its steps.
struct SentenceContext {
    let encoder: EncoderOutput
    /// `K_j` (empty for none and luong_dot).
    let keys: [[Double]]
}

/// What step `t` produces.
struct StepOutput {
    /// The state for step `t + 1`.
    let state: DecoderState
    /// `log p(· | y_<t, x) = log_softmax(logits_t)` (Vt).
    let logProbs: [Double]
    /// `α_t` (S), or nil with attention none.
    let α: [Double]?
}

/// `s_t = DecRNN(input, s_{t−1})`: the unidirectional stack, each layer feeding the next.
func decoderRNN(_ input: [Double], _ sPrev: [CellState], config c: ModelConfig, weights w: DecoderWeights) -> [CellState] {
    var x = input
    var s: [CellState] = []
    for k in 0..<c.decoderLayers {
        let sk = cellStep(c.cell, w.layers[k], x: x, state: sPrev[k])
        s.append(sk)
        x = sk.h
    }
    return s
}

/// Decoder step `t`: reads `y_{t−1}` and the state of step `t − 1`.
func decoderStep(yPrev: Int, _ state: DecoderState, _ sentence: SentenceContext,
                 config c: ModelConfig, weights w: DecoderWeights, parameters p: Parameters) -> StepOutput {
    let m = sentence.encoder.m
    // e_t = decoder.embedding.weight[y_{t−1}]
    let e_t = p.row(w.embedding, yPrev)
    let s_t: [CellState]
    let o_t: [Double]
    var α_t: [Double]? = nil
    var hTilde = state.hTilde
    switch c.attention {
    case .none:
        // s_t = DecRNN([e_t; u], s_{t−1}), o_t = s_t^top
        s_t = decoderRNN(concat(e_t, sentence.encoder.u), state.s, config: c, weights: w)
        o_t = s_t[c.decoderLayers - 1].h
    case .bahdanau:
        // score_tj from q_t (of s_{t−1}^top) and K_j; α_t = softmax_j(score_t), c_t = Σ_j α_tj m_j
        let sPrevTop = state.s[c.decoderLayers - 1].h
        let α = softmax(bahdanauScores(sPrevTop: sPrevTop, keys: sentence.keys, w.attention))
        let c_t = context(α, m)
        // s_t = DecRNN([e_t; c_t], s_{t−1}), o_t = s_t^top
        s_t = decoderRNN(concat(e_t, c_t), state.s, config: c, weights: w)
        o_t = s_t[c.decoderLayers - 1].h
        α_t = α
    case .luongDot, .luongGeneral, .luongConcat:
        // s_t = DecRNN([e_t; h̃_{t−1}], s_{t−1}), h_t = s_t^top
        s_t = decoderRNN(concat(e_t, state.hTilde), state.s, config: c, weights: w)
        let h_t = s_t[c.decoderLayers - 1].h
        // α_t = softmax_j(score_t), c_t = Σ_j α_tj m_j
        let α = softmax(luongScores(c.attention, h_t: h_t, m: m, keys: sentence.keys, w.attention))
        let c_t = context(α, m)
        // h̃_t = tanh(decoder.attention.combine.weight · [c_t; h_t] + decoder.attention.combine.bias); o_t = h̃_t
        hTilde = combine(c_t: c_t, h_t: h_t, w.attention)
        o_t = hTilde
        α_t = α
    }
    // logits_t = decoder.output.weight · o_t + decoder.output.bias
    let logits_t = linear(w.output, o_t, w.outputBias)
    return StepOutput(state: DecoderState(s: s_t, hTilde: hTilde), logProbs: logSoftmax(logits_t), α: α_t)
}

/// `log_softmax(x)_i = x_i − max − log Σ_j exp(x_j − max)`.
func logSoftmax(_ x: [Double]) -> [Double] {
    let top = x.max()!
    var sum = 0.0
    for v in x { sum += exp(v - top) }
    let lse = top + log(sum)
    return x.map { $0 - lse }
}
