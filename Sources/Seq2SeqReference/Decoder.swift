import Seq2Seq

// MODEL.md "Decoder step t = 1, 2, …" and "Output", for one hypothesis and one step.

/// The decoder's weights.
struct DecoderWeights {
    /// `decoder.embedding.weight (Vt, E)`.
    let embedding: Matrix
    /// `decoder.rnn` layers `k = 0…Ld−1`; layer 0 reads `I`, the others `H`.
    let layers: [CellWeights]
    let attention: AttentionWeights
    /// `decoder.output_projection.weight (O, H)` and its bias, with `output_projection_size`.
    let projection: (weight: Matrix, bias: [Double])?
    /// `decoder.output.weight (Vt, O or H)`, or `decoder.embedding.weight` with `tie_target_embeddings`.
    let output: Matrix
    /// `decoder.output.bias (Vt)`.
    let outputBias: [Double]
    /// A stored int8 or bfloat16 output weight's float32 rows `(Vt, O or H)`: `decoder.output.weight.rescore`, or
    /// `decoder.embedding.weight` when tied; nil otherwise (docs/MODEL.md, "Compute types": re-scoring).
    let rescore: Matrix?

    init(_ p: Parameters, config c: ModelConfig) {
        embedding = p.weight("decoder.embedding.weight")
        layers = (0..<c.decoderLayers).map { k in
            CellWeights(p, prefix: "decoder.rnn", layer: k, reverse: false, gates: c.cell.gates, hidden: c.hiddenSize)
        }
        attention = AttentionWeights(p, config: c)
        projection = c.outputProjectionSize.map { O in
            (p.weight("decoder.output_projection.weight"), p.bias("decoder.output_projection.bias", count: O))
        }
        // With tie_target_embeddings, decoder.embedding.weight takes the place of decoder.output.weight:
        // each target word's score is the dot product of o_t with that word's vector.
        // A stored quantized model keeps a tied output weight's quantized copy as decoder.output.weight.
        let storedOutput = p.model.storedWeight("decoder.output.weight") != nil
        output = c.tieTargetEmbeddings && !storedOutput ? embedding : p.weight("decoder.output.weight")
        outputBias = p.bias("decoder.output.bias", count: c.targetVocabSize)
        if p.model.storedWeight("decoder.output.weight")?.type.rescoresOutput == true {
            rescore = c.tieTargetEmbeddings ? embedding : p.weight("decoder.output.weight.rescore")
        } else {
            rescore = nil
        }
    }
}

/// What one hypothesis carries from step `t − 1` to step `t`.
struct DecoderState {
    /// `s_{t−1}^k` for each layer `k` (`s_0` is the bridge's state).
    var s: [CellState]
    /// `o_{t−1}` (H), the previous output state (`h̃_{t−1}` with Luong attention); `o_0 = 0`.
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
    /// `logits_t` (Vt).
    let logits: [Double]
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

/// Decoder step `t`: reads `y_{t−1}` and the state of step `t − 1` (MODEL.md "Decoder step", formats 1 and 2).
func decoderStep(yPrev: Int, _ state: DecoderState, _ sentence: SentenceContext,
                 config c: ModelConfig, weights w: DecoderWeights, parameters p: Parameters) -> StepOutput {
    let m = sentence.encoder.m
    let top = c.decoderLayers - 1
    // e_t = act_e(decoder.embedding.weight[y_{t−1}])
    let e_t = activation(c.decoderEmbeddingActivation, p.row(w.embedding, yPrev))
    var α_t: [Double]? = nil
    // The RNN input [e_t; f_t] for each decoder_input_feed.
    let input: [Double]
    switch c.inputFeed {
    case .context:
        // bahdanau: score_tj from q_t (of s_{t−1}^top) and K_j; α_t = softmax_j(score_t), c_t = Σ_j α_tj m_j
        let α = softmax(bahdanauScores(sPrevTop: state.s[top].h, keys: sentence.keys, w.attention))
        input = concat(e_t, context(α, m))
        α_t = α
    case .previousOutput:
        input = concat(e_t, state.hTilde)  // o_{t−1}, o_0 = 0
    case .summary:
        input = concat(e_t, sentence.encoder.u)
    case .embeddingOnly:
        input = e_t
    }
    // s_t = DecRNN(input, s_{t−1}), h_t = s_t^top
    let s_t = decoderRNN(input, state.s, config: c, weights: w)
    let h_t = s_t[top].h
    let o_t: [Double]
    if c.attention.isLuong {
        // α_t = softmax_j(score_t), c_t = Σ_j α_tj m_j
        let α = softmax(luongScores(c.attention, h_t: h_t, m: m, keys: sentence.keys, w.attention))
        let c_t = context(α, m)
        // h̃_t = act_c(decoder.attention.combine.weight · [c_t; h_t] + decoder.attention.combine.bias); o_t = h̃_t
        o_t = activation(c.combineActivation, combineLinear(c_t: c_t, h_t: h_t, w.attention))
        α_t = α
    } else {
        o_t = h_t
    }
    // z_t = decoder.output_projection.weight · o_t + bias, or o_t
    let z_t = w.projection.map { linear($0.weight, o_t, $0.bias) } ?? o_t
    // logits_t = decoder.output.weight · z_t + decoder.output.bias
    var logits_t = linear(w.output, z_t, w.outputBias)
    // int8 or bfloat16 output: the 16 best logits again from the float32 rows.
    if let f = w.rescore {
        for i in bestIndices(logits_t, count: rescoredCandidates) { logits_t[i] = dot(p.row(f, i), z_t) + w.outputBias[i] }
    }
    return StepOutput(state: DecoderState(s: s_t, hTilde: o_t), logits: logits_t, logProbs: logSoftmax(logits_t), α: α_t)
}

/// `log_softmax(x)_i = x_i − max − log Σ_j exp(x_j − max)`.
func logSoftmax(_ x: [Double]) -> [Double] {
    let top = x.max()!
    var sum = 0.0
    for v in x { sum += exp(v - top) }
    let lse = top + log(sum)
    return x.map { $0 - lse }
}

/// Logits an int8 or bfloat16 output product re-scores from the float32 rows (docs/MODEL.md, "Compute types").
let rescoredCandidates = 16

/// The indices of the `count` largest of `x`, a larger value first and, among equal values, the lower index.
func bestIndices(_ x: [Double], count: Int) -> [Int] {
    Array(x.indices.sorted { x[$0] > x[$1] || (x[$0] == x[$1] && $0 < $1) }.prefix(count))
}
