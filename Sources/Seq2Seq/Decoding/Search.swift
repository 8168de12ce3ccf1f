/// A hypothesis that left the beam: by emitting `eos`, or by reaching the step limit.
/// It is rebuilt from the step history at the end (`History.backtrack`).
struct Finished {
    let step: Int  // the step t that produced its last token
    let row: Int  // its parent's row among step t's rows
    let token: Int  // the last token (eos, or a token at the step limit)
    let tokenLogProb: Float
    let logProb: Double
    let endedWithEOS: Bool
    var sample = 0  // sampling: the sample index (ties in the final ranking go to the lower one)
}

/// Per step, per new row: the token chosen, the row it extends, and its log-probability;
/// per step, per row at that step: the attention weights.
struct History {
    let rows: Int  // row capacity R
    let steps: Int
    let maxLength: Int  // Smax
    let token: UnsafeMutablePointer<Int>  // (steps, R)
    let parent: UnsafeMutablePointer<Int>  // (steps, R)
    let logProb: UnsafeMutablePointer<Float>  // (steps, R)
    let attention: UnsafeMutablePointer<Float>?  // (steps, R, Smax)

    init(rows: Int, steps: Int, maxLength: Int, attention: Bool, arena: Arena) {
        self.rows = rows
        self.steps = steps
        self.maxLength = maxLength
        token = arena.array(rows * steps, of: 0)
        parent = arena.array(rows * steps, of: 0)
        logProb = arena.array(rows * steps, of: Float(0))
        self.attention = attention ? arena.floats(rows * steps * maxLength) : nil
    }

    @inline(__always) func record(step t: Int, row i: Int, token tok: Int, parent p: Int, logProb lp: Float) {
        let k = (t - 1) * rows + i
        token[k] = tok
        parent[k] = p
        logProb[k] = lp
    }

    /// Stores the attention rows `alpha[first ..< first + R]` (each ≥ Smax long) of step `t` as its rows `0 ..< R`.
    @inline(__always) func recordAttention(step t: Int, alpha: MatrixView, rows R: Int, first: Int = 0) {
        guard let att = attention else { return }
        for r in 0..<R { (att + ((t - 1) * rows + r) * maxLength).update(from: alpha.row(first + r), count: maxLength) }
    }

    /// A sentence's n-best list from its finished hypotheses: ranked by score (`options.score`; ties: lower sample
    /// index, then the earlier finished), the best `nBest` rebuilt by `backtrack`. Tokens are not attached.
    func hypotheses(_ finished: [Finished], options: DecodingOptions, sourceLength: Int) -> [Hypothesis] {
        let ranked = finished.map { f -> (Finished, Double) in
            (f, options.score(logProb: f.logProb, length: f.step))  // length: tokens generated, eos included
        }.enumerated().sorted { a, b in
            if a.element.1 != b.element.1 { return a.element.1 > b.element.1 }
            if a.element.0.sample != b.element.0.sample { return a.element.0.sample < b.element.0.sample }
            return a.offset < b.offset
        }.map(\.element)
        return ranked.prefix(options.nBest).map { (f, normalized) -> Hypothesis in
            let (ids, lps, att) = backtrack(f, sourceLength: sourceLength)
            return Hypothesis(ids: ids, tokens: nil, logProb: f.logProb, score: normalized, endedWithEOS: f.endedWithEOS,
                              tokenLogProbs: lps, attention: att)
        }
    }

    /// The hypothesis `f` as ids, step log-probabilities and attention rows (each `length` long).
    func backtrack(_ f: Finished, sourceLength: Int) -> (ids: [Int], logProbs: [Float], attention: [[Float]]?) {
        // Exact capacities: the number of allocations does not grow with the length.
        var ids: [Int] = []
        ids.reserveCapacity(f.step)
        var lps: [Float] = []
        lps.reserveCapacity(f.step)
        lps.append(f.tokenLogProb)
        var att: [[Float]]? = nil
        if attention != nil {
            att = []
            att!.reserveCapacity(f.step)
        }
        func attentionRow(_ t: Int, _ r: Int) -> [Float] {
            Array(UnsafeBufferPointer(start: attention! + ((t - 1) * rows + r) * maxLength, count: sourceLength))
        }
        if !f.endedWithEOS { ids.append(f.token) }
        att?.append(attentionRow(f.step, f.row))
        var row = f.row
        var t = f.step - 1
        while t >= 1 {
            let k = (t - 1) * rows + row
            ids.append(token[k])
            lps.append(logProb[k])
            att?.append(attentionRow(t, parent[k]))
            row = parent[k]
            t -= 1
        }
        return (ids.reversed(), lps.reversed(), att?.reversed())
    }
}

extension Engine {
    /// Greedy, beam or sampling search (MODEL.md "Decoding" and "Decoding options") over sources sorted by
    /// length, longest first. `prefixes[n]` is forced at the start of sentence `n`'s hypotheses; `streams[n]` is
    /// its position in the request, which seeds its random stream. Returns one translation per source, in order.
    func search(_ sources: [[Int]], prefixes: [[Int]], streams: [Int], options: DecodingOptions, arena: Arena) -> [Translation] {
        let c = config
        let N = sources.count
        let K = options.beamSize
        let J = options.rowsPerSentence  // rows per sentence: the beam, the samples, or 1
        let mode: SearchMode = options.isSampling ? .sampling : K == 1 ? .greedy : .beam
        let V = c.targetVocabSize
        let eos = c.specialTokens.eos
        let encoded = encode(sources, arena: arena)
        let capacity = N * J
        var s = DecoderState(engine: self, encoded: encoded, capacity: capacity, arena: arena)
        s.start(engine: self, encoded: encoded)

        let limit = arena.array(N, of: 0)
        var steps = 0
        for n in 0..<N {
            limit[n] = options.maxSteps(sourceLength: sources[n].count)
            steps = max(steps, limit[n])
        }
        let withAttention = options.returnAttention && c.attention != .none
        let history = History(rows: capacity, steps: steps, maxLength: encoded.maxLength,
                              attention: withAttention, arena: arena)
        var score = arena.array(capacity, of: 0.0)  // running log-probability of each row
        var nextScore = arena.array(capacity, of: 0.0)
        let nextToken = arena.array(capacity, of: 0)
        let parents = arena.array(capacity, of: 0)
        let lse = arena.array(capacity, of: Float(0))
        // Beam scratch: each row's best K + 1 tokens, then the merged candidates of one sentence.
        let perRow = mode == .beam ? K + 1 : 1
        let topValue = arena.array(capacity * perRow, of: Float(0))
        let topToken = arena.array(capacity * perRow, of: 0)
        let topFound = arena.array(capacity, of: 0)
        let candidates = arena.array(K * perRow, of: Candidate(value: 0, row: 0, token: 0, logProb: 0))
        var controls = SearchControls(options: options, config: c, prefixes: prefixes, streams: streams,
                                      capacity: capacity, steps: steps, arena: arena)
        var finished: [[Finished]] = (0..<N).map { _ in
            var a: [Finished] = []
            a.reserveCapacity(3 * J)
            return a
        }
        if J > 1 && mode == .sampling {
            // J independent samples per sentence: rows n·J ..< (n + 1)·J start from sentence n's state.
            for i in 0..<capacity { parents[i] = i / J }
            s.gather(parents, count: capacity)
        }
        controls.start(rows: mode == .sampling ? capacity : N, samplesPerSentence: mode == .sampling ? J : 1,
                       rowSlot: s.rowSlot)

        var R = mode == .sampling ? capacity : N
        var t = 0
        while R > 0 {
            t += 1
            step(&s, rows: R, encoded: encoded)
            if withAttention { history.recordAttention(step: t, alpha: s.alpha, rows: R) }
            controls.prepare(step: t, rows: R, rowSlot: s.rowSlot)
            // Per row, in parallel: the controls, log Σ exp over the vocabulary, and the row's choice.
            var rows = RowStatistics(logits: s.logits, vocabulary: V, mode: mode, perRow: perRow, eos: eos,
                                     eosBlocked: t - 1 < options.minLength,
                                     suppressed: controls.excluded, suppressedCount: controls.excludedCount, lse: lse,
                                     topValue: topValue, topToken: topToken, topFound: topFound, rules: controls.rules)
            forEachRow(R, work: V, state: &rows) { raw, r in raw.assumingMemoryBound(to: RowStatistics.self).pointee.compute(r) }
            var next = 0
            var r0 = 0
            while r0 < R {
                let slot = s.rowSlot[r0]
                var r1 = r0 + 1
                while r1 < R && s.rowSlot[r1] == slot { r1 += 1 }
                let atLimit = t >= limit[slot]
                if mode != .beam {
                    // Greedy or sampling: every row goes on with its own token.
                    for r in r0..<r1 {
                        let tok = topToken[r * perRow]
                        let lp = topValue[r * perRow] - lse[r]
                        let total = score[r] + Double(lp)
                        if tok == eos || atLimit {
                            finished[slot].append(Finished(step: t, row: r, token: tok, tokenLogProb: lp, logProb: total,
                                                           endedWithEOS: tok == eos, sample: controls.sample[r]))
                        } else {
                            parents[next] = r
                            nextToken[next] = tok
                            nextScore[next] = total
                            history.record(step: t, row: next, token: tok, parent: r, logProb: lp)
                            next += 1
                        }
                    }
                } else {
                    // Beam: rank all candidates of this sentence by summed log-probability
                    // (ties: lower hypothesis index, then lower token id), walk down the ranking.
                    var m = 0
                    for r in r0..<r1 {
                        for q in 0..<topFound[r] {
                            let lp = topValue[r * perRow + q] - lse[r]
                            candidates[m] = Candidate(value: score[r] + Double(lp), row: r,
                                                      token: topToken[r * perRow + q], logProb: lp)
                            m += 1
                        }
                    }
                    sortCandidates(candidates, m)
                    let first = next
                    for q in 0..<m {
                        let cand = candidates[q]
                        if cand.token == eos {
                            finished[slot].append(Finished(step: t, row: cand.row, token: eos, tokenLogProb: cand.logProb,
                                                           logProb: cand.value, endedWithEOS: true))
                        } else {
                            parents[next] = cand.row
                            nextToken[next] = cand.token
                            nextScore[next] = cand.value
                            history.record(step: t, row: next, token: cand.token, parent: cand.row, logProb: cand.logProb)
                            next += 1
                            if next - first == K { break }
                        }
                    }
                    if finished[slot].count >= K {
                        next = first
                    } else if atLimit {
                        for i in first..<next {
                            finished[slot].append(Finished(step: t, row: parents[i], token: nextToken[i],
                                                           tokenLogProb: history.logProb[(t - 1) * capacity + i],
                                                           logProb: nextScore[i], endedWithEOS: false))
                        }
                        next = first
                    }
                }
                r0 = r1
            }
            if next == 0 { break }
            var identity = next == R
            if identity { for i in 0..<next where parents[i] != i { identity = false; break } }
            if !identity { s.gather(parents, count: next) }
            controls.advance(step: t, parents: parents, tokens: nextToken, count: next, identity: identity)
            for i in 0..<next { s.prevToken[i] = nextToken[i] }
            swap(&score, &nextScore)
            R = next
        }

        return (0..<N).map { n in
            Translation(hypotheses: history.hypotheses(finished[n], options: options, sourceLength: sources[n].count))
        }
    }

    /// Teacher forcing: `log p(y_t | y_<t, x)` for every target token. Sources sorted longest first;
    /// `targets[n]` belongs to `sources[n]`.
    func score(_ sources: [[Int]], targets: [[Int]], arena: Arena) -> [ScoreResult] {
        let c = config
        let N = sources.count
        let V = c.targetVocabSize
        let encoded = encode(sources, arena: arena)
        var s = DecoderState(engine: self, encoded: encoded, capacity: N, arena: arena)
        s.start(engine: self, encoded: encoded)
        var results = targets.map { t -> [Double] in
            var a: [Double] = []
            a.reserveCapacity(t.count)
            return a
        }
        let parents = arena.array(N, of: 0)
        var R = 0
        for n in 0..<N where !targets[n].isEmpty { parents[R] = n; R += 1 }
        if R < N { s.gather(parents, count: R) }
        var t = 0
        while R > 0 {
            t += 1
            step(&s, rows: R, encoded: encoded)
            var next = 0
            for r in 0..<R {
                let slot = s.rowSlot[r]
                let y = targets[slot][t - 1]
                let lp = s.logits.row(r)[y] - Kernels.logSumExp(s.logits.row(r), V)
                results[slot].append(Double(lp))
                if t < targets[slot].count {
                    parents[next] = r
                    next += 1
                }
            }
            if next < R { s.gather(parents, count: next) }
            R = next
            for r in 0..<R { s.prevToken[r] = targets[s.rowSlot[r]][t - 1] }
        }
        return results.map { ScoreResult(tokenLogProbs: $0, logProb: $0.reduce(0, +)) }
    }
}

/// A beam candidate: a row extended by a token.
struct Candidate {
    var value: Double  // summed log-probability
    var row: Int
    var token: Int
    var logProb: Float  // the token's own log-probability
}

/// Sorts `c[0..<n]` by value (highest first), then row, then token (lowest first). Insertion sort: n ≤ K·(K+1).
@inline(__always)
func sortCandidates(_ c: UnsafeMutablePointer<Candidate>, _ n: Int) {
    func before(_ a: Candidate, _ b: Candidate) -> Bool {
        if a.value != b.value { return a.value > b.value }
        if a.row != b.row { return a.row < b.row }
        return a.token < b.token
    }
    if n < 2 { return }
    for i in 1..<n {
        let x = c[i]
        var j = i - 1
        while j >= 0 && before(x, c[j]) { c[j + 1] = c[j]; j -= 1 }
        c[j + 1] = x
    }
}

/// The `count` largest of `x[0..<n]` (never index `skip`), highest first, lower index first on ties.
/// Writes values and indices; returns how many were found (`min(count, n − skipped)`).
///
/// Once `count` are kept, blocks of 8 in which no value beats the worst kept (NaN never does) are passed over
/// with one vector compare; a block with one that does goes through the same one-by-one insertion, so the
/// result is the plain scan's.
@inline(__always)
func topTokens(_ x: UnsafePointer<Float>, _ n: Int, count: Int, skip: Int,
               values: UnsafeMutablePointer<Float>, tokens: UnsafeMutablePointer<Int>) -> Int {
    guard count > 0 else { return 0 }
    var found = 0
    var i = 0
    while i < n && found < count {
        if i != skip { offerTop(x[i], i, count: count, found: &found, values: values, tokens: tokens) }
        i += 1
    }
    guard found == count else { return found }
    var worst = SIMD8<Float>(repeating: values[count - 1])
    while i + 8 <= n {
        let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
        if any(v .> worst) {
            for k in i..<(i + 8) where k != skip { offerTop(x[k], k, count: count, found: &found, values: values, tokens: tokens) }
            worst = SIMD8(repeating: values[count - 1])
        }
        i += 8
    }
    while i < n {
        if i != skip { offerTop(x[i], i, count: count, found: &found, values: values, tokens: tokens) }
        i += 1
    }
    return found
}

/// One step of `topTokens`' scan: `v` (at index `i`) enters the sorted list of `found` (at most `count`) if it
/// is strictly better than the worst kept once the list is full (equal values keep the lower index).
/// A function of its own, not a closure over `found`: a capturing closure allocates its box in a debug build.
@inline(__always)
private func offerTop(_ v: Float, _ i: Int, count: Int, found: inout Int,
                      values: UnsafeMutablePointer<Float>, tokens: UnsafeMutablePointer<Int>) {
    if found == count {
        if !(v > values[count - 1]) { return }
        found -= 1
    }
    var j = found - 1
    while j >= 0 && v > values[j] {
        values[j + 1] = values[j]
        tokens[j + 1] = tokens[j]
        j -= 1
    }
    values[j + 1] = v
    tokens[j + 1] = i
    found += 1
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs `function(state, r)` for every row `r < rows`, split across the worker pool (rows taken in turn)
/// when `rows · work` is large enough to pay for it.
@inline(__always)
func forEachRow<State>(_ rows: Int, work: Int, state: inout State, _ function: @convention(c) (UnsafeMutableRawPointer, Int) -> Void) {
    let pool = WorkerPool.shared
    let parts = min(pool.width, rows)
    withUnsafeMutablePointer(to: &state) { p in
        let raw = UnsafeMutableRawPointer(p)
        if parts <= 1 || rows * work < 16 * 1024 {
            for r in 0..<rows { function(raw, r) }
            return
        }
        var job = RowJob(rows: rows, parts: parts, state: raw, function: function)
        pool.run(parts: parts, work: rows * work, state: &job) { raw, part in
            let job = raw.assumingMemoryBound(to: RowJob.self).pointee
            var r = part
            while r < job.rows { job.function(job.state, r); r += job.parts }
        }
    }
}

private struct RowJob {
    let rows: Int
    let parts: Int
    let state: UnsafeMutableRawPointer
    let function: @convention(c) (UnsafeMutableRawPointer, Int) -> Void
}
