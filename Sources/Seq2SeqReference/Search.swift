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
    /// Per step, how far its choice was from going another way (greedy: the gap to the next allowed token;
    /// sampling: the draw's margin; forced tokens: ∞), for the parity tests' near-tie rule.
    var margins: [Double] = []
    /// Sampling: which sample this is (ties in the final ranking go to the lower one).
    var sample = 0
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

/// The score of a finished hypothesis: `logprob / length^α` (`avg`), `logprob / ((5 + length) / 6)^α` (`wu`) or
/// `logprob` (`none`), where length counts the generated tokens, `eos` included.
func normalizedScore(_ h: SearchHypothesis, _ o: DecodingOptions) -> Double {
    let L = Double(h.length), α = o.lengthPenalty
    switch o.lengthPenaltyKind {
    case .avg: return h.logProb / pow(L, α)
    case .wu: return h.logProb / pow((5 + L) / 6, α)
    case .none: return h.logProb
    }
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

    /// Greedy: `y_t = argmax log p` over the tokens `rules` allow (ties: lowest id); the prefix's tokens are
    /// forced; stop after emitting `eos` or after `maxLength` tokens.
    func greedy(source: [Int], rules: DecodingRules, maxLength: Int) -> SearchHypothesis {
        let eos = config.specialTokens.eos
        let (sentence, state_0) = start(source)
        var h = SearchHypothesis(state: state_0)
        var yPrev = config.specialTokens.bos
        for t in 1...maxLength {
            let out = step(yPrev, h.state, sentence)
            let lp = rules.logProbs(out, history: h.tokens)
            var best: Int
            var margin = Double.infinity
            if let f = rules.forced(step: t) {
                best = f
            } else {
                let choices = rules.choices(history: h.tokens)
                best = choices[0]
                for y in choices where lp[y] > lp[best] { best = y }  // strict: lowest id wins ties
                for y in choices where y != best { margin = min(margin, lp[best] - lp[y]) }
            }
            h = h.extended(by: best, logProb: lp[best], out, eos: eos)
            h.margins.append(margin)
            if best == eos { break }
            yPrev = best
        }
        return h
    }

    /// Sampling (MODEL.md "Sampling"): each free step draws a token from the filtered distribution with `stream`.
    func sample(source: [Int], rules: DecodingRules, maxLength: Int, stream: SplitMix64) -> SearchHypothesis {
        let eos = config.specialTokens.eos
        let (sentence, state_0) = start(source)
        var h = SearchHypothesis(state: state_0)
        var stream = stream
        var yPrev = config.specialTokens.bos
        for t in 1...maxLength {
            let out = step(yPrev, h.state, sentence)
            let z = rules.logits(out, history: h.tokens)
            let lp = logSoftmax(z)
            var y: Int
            var margin = Double.infinity
            if let f = rules.forced(step: t) {
                y = f
            } else {
                let u = stream.uniform()  // one draw per free step
                let choices = rules.choices(history: h.tokens)
                if choices.count == 1 { y = choices[0] } else { (y, margin) = rules.draw(z, choices: choices, u: u) }
            }
            h = h.extended(by: y, logProb: lp[y], out, eos: eos)
            h.margins.append(margin)
            if y == eos { break }
            yPrev = y
        }
        return h
    }

    /// Beam search with beam size `K` (MODEL.md "Beam search", rules 1–4): candidates are the tokens `rules`
    /// allow (the forced one during the prefix). Returns the finished set ranked by score, best first (stable:
    /// equal scores keep the order in which they finished).
    func beamSearch(source: [Int], K: Int, rules: DecodingRules, maxLength: Int) -> [SearchHypothesis] {
        let eos = config.specialTokens.eos
        let (sentence, state_0) = start(source)
        // 1. The beam starts as one hypothesis: no tokens, log-probability 0, the bridge's state.
        var beam = [SearchHypothesis(state: state_0)]
        var finished: [SearchHypothesis] = []
        var t = 0
        while !beam.isEmpty {
            t += 1
            // 2. Expand every live hypothesis by every token it may choose; rank all candidates by summed
            //    log-probability (ties: lower hypothesis index, then lower token id).
            var outputs: [StepOutput] = []
            var logProbs: [[Double]] = []
            var candidates: [(value: Double, hypothesis: Int, token: Int)] = []
            for (b, h) in beam.enumerated() {
                let yPrev = h.tokens.last ?? config.specialTokens.bos
                let out = step(yPrev, h.state, sentence)
                let lp = rules.logProbs(out, history: h.tokens)
                outputs.append(out)
                logProbs.append(lp)
                let choices = rules.forced(step: t).map { [$0] } ?? rules.choices(history: h.tokens)
                for y in choices { candidates.append((h.logProb + lp[y], b, y)) }
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
                let h = beam[cand.hypothesis].extended(by: cand.token, logProb: logProbs[cand.hypothesis][cand.token], out, eos: eos)
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
        // 4. Rank the finished set by score.
        let ranked = finished.enumerated().sorted { a, b in
            let sa = normalizedScore(a.element, rules.options), sb = normalizedScore(b.element, rules.options)
            return sa != sb ? sa > sb : a.offset < b.offset
        }
        return ranked.map(\.element)
    }
}
