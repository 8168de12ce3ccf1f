import Seq2Seq

// MODEL.md "Decoder step": the attention mechanisms, for one sentence and one step.

/// The `decoder.attention.*` weights the configuration uses (absent ones are nil).
struct AttentionWeights {
    /// `decoder.attention.key.weight`: `(A, D)` for bahdanau and luong_concat, `(H, D)` for luong_general.
    var key: Matrix?
    var keyBias: [Double] = []
    /// `decoder.attention.query.weight (A, H)`: bahdanau and luong_concat.
    var query: Matrix?
    var queryBias: [Double] = []
    /// `decoder.attention.energy.weight (1, A)`: bahdanau and luong_concat.
    var energy: Matrix?
    var energyBias: [Double] = []
    /// `decoder.attention.combine.weight (H, D + H)`: the Luong attentions.
    var combine: Matrix?
    var combineBias: [Double] = []

    init(_ p: Parameters, config c: ModelConfig) {
        func load(_ name: String) -> (Matrix, [Double]) {
            let W = p.weight("decoder.attention.\(name).weight")
            return (W, p.bias("decoder.attention.\(name).bias", count: W.rows))
        }
        switch c.attention {
        case .none, .luongDot:
            break
        case .bahdanau, .luongConcat:
            (key, keyBias) = load("key")
            (query, queryBias) = load("query")
            (energy, energyBias) = load("energy")
        case .luongGeneral:
            (key, keyBias) = load("key")
        }
        if c.attention.isLuong { (combine, combineBias) = load("combine") }
    }
}

/// The keys of one sentence, computed once:
/// bahdanau and luong_concat `K_j = decoder.attention.key.weight · m_j + decoder.attention.key.bias` (A);
/// luong_general the same product (H); none and luong_dot have no keys (empty).
func attentionKeys(_ m: [[Double]], _ w: AttentionWeights) -> [[Double]] {
    guard let W = w.key else { return [] }
    return m.map { m_j in linear(W, m_j, w.keyBias) }
}

/// bahdanau: `q_t = decoder.attention.query.weight · s_{t−1}^top + decoder.attention.query.bias`;
/// `score_tj = decoder.attention.energy.weight · tanh(q_t + K_j) + decoder.attention.energy.bias`.
func bahdanauScores(sPrevTop: [Double], keys K: [[Double]], _ w: AttentionWeights) -> [Double] {
    let q_t = linear(w.query!, sPrevTop, w.queryBias)
    return K.map { K_j in linear(w.energy!, tanh(add(q_t, K_j)), w.energyBias)[0] }
}

/// The Luong scores for the new top state `h_t`:
/// - luong_dot: `score_tj = h_t · m_j`
/// - luong_general: `score_tj = h_t · (decoder.attention.key.weight · m_j + decoder.attention.key.bias)` (the keys)
/// - luong_concat: `score_tj = energy.weight · tanh(query.weight · h_t + query.bias + key.weight · m_j + key.bias)
///   + energy.bias`
func luongScores(_ attention: ModelConfig.Attention, h_t: [Double], m: [[Double]], keys K: [[Double]],
                 _ w: AttentionWeights) -> [Double] {
    switch attention {
    case .luongDot:
        return m.map { m_j in dot(h_t, m_j) }
    case .luongGeneral:
        return K.map { K_j in dot(h_t, K_j) }
    case .luongConcat:
        let q = linear(w.query!, h_t, w.queryBias)
        return K.map { K_j in linear(w.energy!, tanh(add(q, K_j)), w.energyBias)[0] }
    case .none, .bahdanau:
        preconditionFailure("luongScores called for attention \(attention.rawValue)")
    }
}

/// `softmax_j(score)`: `exp(score_j − max) / Σ_i exp(score_i − max)`.
func softmax(_ score: [Double]) -> [Double] {
    let top = score.max()!
    let e = score.map { exp($0 - top) }
    let sum = e.reduce(0, +)
    return e.map { $0 / sum }
}

/// `c_t = Σ_j α_tj m_j` (D).
func context(_ α: [Double], _ m: [[Double]]) -> [Double] {
    var c = [Double](repeating: 0, count: m[0].count)
    for j in 0..<m.count {
        for d in 0..<c.count { c[d] += α[j] * m[j][d] }
    }
    return c
}

/// `decoder.attention.combine.weight · [c_t; h_t] + decoder.attention.combine.bias` (H), before `combine_activation`.
func combineLinear(c_t: [Double], h_t: [Double], _ w: AttentionWeights) -> [Double] {
    linear(w.combine!, concat(c_t, h_t), w.combineBias)
}
