import Seq2Seq

// MODEL.md "Decoding": scoring, greedy and beam search, for one sentence at a time.
// All scores are natural-log probabilities.

/// One hypothesis, live or finished.
struct SearchHypothesis {
    /// The generated tokens, `eos` included when it ended with `eos`.
    var tokens: [Int] = []
    /// `log p` of each token in `tokens`.
    var tokenLogProbs: [Double] = []
    /// Their sum.
    var logProb: Double = 0
    /// `α_t` of each step (empty with attention none).
    var attention: [[Double]] = []
    var endedWithEOS = false
    /// The decoder state after the last token (live hypotheses only).
    var state: DecoderState

    /// The number of generated tokens, `eos` included: the `length` of `logprob / length^α`.
    var length: Int { tokens.count }
    /// The generated ids without the final `eos`.
    var ids: [Int] { endedWithEOS ? Array(tokens.dropLast()) : tokens }

    /// This hypothesis extended by `token` of log-probability `lp`, produced by a step with `out`.
    func extended(by token: Int, logProb lp: Double, _ out: StepOutput, eos: Int) -> SearchHypothesis {
        var h = self
        h.tokens.append(token)
        h.tokenLogProbs.append(lp)
        h.logProb += lp
        if let α = out.α { h.attention.append(α) }
        h.endedWithEOS = token == eos
        h.state = out.state
        return h
    }
}

/// `logprob / length^α` (length counts the generated tokens, `eos` included).
func normalizedScore(_ h: SearchHypothesis, lengthPenalty α: Double) -> Double {
    h.logProb / pow(Double(h.length), α)
}

extension ReferenceModel {
    /// Scoring (teacher forcing): `log p(y_t | y_<t, x)` for each `t = 1…n` of `target = y_1…y_n`.
    func score(source: [Int], target: [Int]) -> [Double] {
        var (sentence, state) = start(source)
        var yPrev = config.specialTokens.bos  // y_0 = bos
        var result: [Double] = []
        for y_t in target {
            let out = step(yPrev, state, sentence)
            result.append(out.logProbs[y_t])
            state = out.state
            yPrev = y_t
        }
        return result
    }

    /// Greedy: `y_t = argmax log p` over all ids, special ones included (ties: lowest id); stop after
    /// emitting `eos` or after `maxLength` tokens. `eos` is −∞ while fewer than `minLength` tokens exist.
    func greedy(source: [Int], maxLength: Int, minLength: Int) -> SearchHypothesis {
        let eos = config.specialTokens.eos
        let (sentence, state_0) = start(source)
        var h = SearchHypothesis(state: state_0)
        var yPrev = config.specialTokens.bos
        for t in 1...maxLength {
            let out = step(yPrev, h.state, sentence)
            let eosAllowed = t - 1 >= minLength  // t − 1 non-eos tokens exist
            var best = -1
            // suppress_ids and (before minLength) eos are −∞ in the ranking.
            for y in 0..<config.targetVocabSize where (y != eos || eosAllowed) && !suppressed.contains(y) {
                if best < 0 || out.logProbs[y] > out.logProbs[best] { best = y }  // strict: lowest id wins ties
            }
            h = h.extended(by: best, logProb: out.logProbs[best], out, eos: eos)
            if best == eos { break }
            yPrev = best
        }
        return h
    }

    /// Beam search with beam size `K` (MODEL.md "Beam search", rules 1–4). Returns the finished set ranked by
    /// `logprob / length^α`, best first (stable: equal scores keep the order in which they finished).
    func beamSearch(source: [Int], K: Int, lengthPenalty α: Double, maxLength: Int, minLength: Int) -> [SearchHypothesis] {
        let eos = config.specialTokens.eos
        let V = config.targetVocabSize
        let (sentence, state_0) = start(source)
        // 1. The beam starts as one hypothesis: no tokens, log-probability 0, the bridge's state.
        var beam = [SearchHypothesis(state: state_0)]
        var finished: [SearchHypothesis] = []
        var t = 0
        while !beam.isEmpty {
            t += 1
            // 2. Expand every live hypothesis by every token; rank all candidates by summed log-probability
            //    (ties: lower hypothesis index, then lower token id).
            let eosAllowed = t - 1 >= minLength
            var outputs: [StepOutput] = []
            var candidates: [(value: Double, hypothesis: Int, token: Int)] = []
            for (b, h) in beam.enumerated() {
                let yPrev = h.tokens.last ?? config.specialTokens.bos
                let out = step(yPrev, h.state, sentence)
                outputs.append(out)
                // eos is −∞ before minLength, suppress_ids always.
                for y in 0..<V where (y != eos || eosAllowed) && !suppressed.contains(y) {
                    candidates.append((h.logProb + out.logProbs[y], b, y))
                }
            }
            candidates.sort { a, b in
                if a.value != b.value { return a.value > b.value }
                if a.hypothesis != b.hypothesis { return a.hypothesis < b.hypothesis }
                return a.token < b.token
            }
            //    Walk down the ranking: a candidate ending in eos joins the finished set; any other joins
            //    the next beam; stop walking when the next beam holds K.
            var next: [SearchHypothesis] = []
            for cand in candidates {
                let out = outputs[cand.hypothesis]
                let h = beam[cand.hypothesis].extended(by: cand.token, logProb: out.logProbs[cand.token], out, eos: eos)
                if cand.token == eos {
                    finished.append(h)
                } else {
                    next.append(h)
                    if next.count == K { break }
                }
            }
            // 3. Stop when the finished set holds at least K hypotheses. Otherwise, after maxLength steps,
            //    the live hypotheses count as finished too, without eos.
            if finished.count >= K { break }
            if t >= maxLength {
                finished += next
                break
            }
            beam = next
        }
        // 4. Rank the finished set by logprob / length^α.
        let ranked = finished.enumerated().sorted { a, b in
            let sa = normalizedScore(a.element, lengthPenalty: α), sb = normalizedScore(b.element, lengthPenalty: α)
            return sa != sb ? sa > sb : a.offset < b.offset
        }
        return ranked.map(\.element)
    }
}
