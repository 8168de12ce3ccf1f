import Seq2Seq

// MODEL.md "Decoding options" for one sentence: what a step's distribution is, which tokens a hypothesis may
// choose, and the sampling draw with its random stream. Plain Double arithmetic over Swift arrays.

/// The decoding rules of one sentence.
struct DecodingRules {
    let options: DecodingOptions
    let eos: Int
    let V: Int
    /// The target prefix: token `t` is forced at step `t ≤ prefix.count`.
    let prefix: [Int]
    /// Never chosen: the model's `suppress_ids`, the options' `suppressIDs`, single-id `suppressSequences`,
    /// `unk` with `disableUnk`.
    let excluded: Set<Int>
    /// `suppressSequences` of two or more ids.
    let sequences: [[Int]]

    init(options: DecodingOptions, config c: ModelConfig, prefix: [Int]) {
        self.options = options
        eos = c.specialTokens.eos
        V = c.targetVocabSize
        self.prefix = prefix
        var excluded = Set(c.suppressIDs).union(options.suppressIDs)
        for s in options.suppressSequences where s.count == 1 { excluded.insert(s[0]) }
        if options.disableUnk, let unk = c.specialTokens.unk { excluded.insert(unk) }
        self.excluded = excluded
        sequences = options.suppressSequences.filter { $0.count >= 2 }
    }

    /// The token forced at step `t`, if any.
    func forced(step t: Int) -> Int? { t <= prefix.count ? prefix[t - 1] : nil }

    /// The logits decoded from after `history` (the hypothesis's tokens): the model's, with CTranslate2's
    /// repetition penalty on every distinct token of the history (divided by it when positive, else multiplied).
    func logits(_ out: StepOutput, history: [Int]) -> [Double] {
        let p = options.repetitionPenalty
        guard p != 1 else { return out.logits }
        var z = out.logits
        for y in Set(history) { z[y] = z[y] < 0 ? z[y] * p : z[y] / p }
        return z
    }

    /// `log p(· | y_<t, x)`: `log_softmax` of `logits(out, history)`.
    func logProbs(_ out: StepOutput, history: [Int]) -> [Double] {
        options.repetitionPenalty == 1 ? out.logProbs : logSoftmax(logits(out, history: history))
    }

    /// The tokens a hypothesis with `history` may choose at step `t = history.count + 1`, in id order: all but
    /// the excluded ids, `eos` before `minLength` tokens, tokens that would repeat an n-gram of size
    /// `noRepeatNgramSize`, and the last id of a suppressed sequence whose other ids end the history.
    /// When that leaves nothing, `eos` alone.
    func choices(history h: [Int]) -> [Int] {
        var blocked = excluded
        if h.count < options.minLength { blocked.insert(eos) }
        let n = options.noRepeatNgramSize
        if n > 0 && h.count >= n {
            let tail = Array(h[(h.count - n + 1)...])
            for j in 0...(h.count - n) where Array(h[j..<(j + n - 1)]) == tail { blocked.insert(h[j + n - 1]) }
        }
        for s in sequences where h.count >= s.count - 1 && Array(h.suffix(s.count - 1)) == Array(s.dropLast()) {
            blocked.insert(s[s.count - 1])
        }
        let allowed = (0..<V).filter { !blocked.contains($0) }
        return allowed.isEmpty ? [eos] : allowed
    }

    /// MODEL.md "Sampling": draws from `choices` with the logits `z` and the uniform `u`. Returns the token and
    /// the draw's margin (how far its decisions were from going another way, for the parity tests' near-tie rule).
    func draw(_ z: [Double], choices: [Int], u: Double) -> (token: Int, margin: Double) {
        let T = options.samplingTemperature
        let zmax = choices.map { z[$0] }.max()!
        let w = z.map { exp(($0 - zmax) / T) }  // used for the choices only
        // Rank: logit descending, id ascending.
        let ranked = choices.sorted { z[$0] != z[$1] ? z[$0] > z[$1] : $0 < $1 }
        let k = options.samplingTopK == 0 ? ranked.count : min(options.samplingTopK, ranked.count)
        var margin = Double.infinity
        if k < ranked.count { margin = min(margin, z[ranked[k - 1]] - z[ranked[k]]) }
        var kept = Array(ranked[..<k])
        let p = options.samplingTopP
        if p < 1 {
            // The shortest ranked prefix of the top-k set whose mass reaches p of the set's mass.
            let mass = kept.reduce(0.0) { $0 + w[$1] }
            var cumulative = 0.0
            var c = 0
            while c < kept.count {
                let before = cumulative / mass
                cumulative += w[kept[c]]
                c += 1
                if cumulative >= p * mass {
                    margin = min(margin, cumulative / mass - p, p - before)
                    break
                }
            }
            kept = Array(kept[..<c])
        }
        // The draw: in id order, the first token whose cumulative weight exceeds u · total.
        let inOrder = kept.sorted()
        let total = inOrder.reduce(0.0) { $0 + w[$1] }
        let target = u * total
        var cumulative = 0.0
        for y in inOrder {
            let before = cumulative
            cumulative += w[y]
            if cumulative > target {
                return (y, min(margin, (target - before) / total, (cumulative - target) / total))
            }
        }
        return (inOrder.last!, 0)
    }
}

/// MODEL.md "Random stream": SplitMix64, one stream per (seed, sentence, sample).
struct SplitMix64 {
    var state: UInt64

    static func mix(_ z0: UInt64) -> UInt64 {
        var z = z0
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Sample `j` of the sentence at position `n` of the request: `mix(mix(mix(seed) + n) + j)`.
    init(seed: UInt64, sentence n: Int, sample j: Int) {
        state = Self.mix(Self.mix(Self.mix(seed) &+ UInt64(n)) &+ UInt64(j))
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// `(next() >> 11) · 2⁻⁵³`, in [0, 1).
    mutating func uniform() -> Double { Double(next() >> 11) * 0x1p-53 }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
