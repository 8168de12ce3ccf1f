/// Step-level continuous batching: sentences join and leave a running decode between decoder steps.
///
/// A session owns a fixed pool of `maxRows` hypothesis rows (and as many sentence slots). `add` queues a
/// sentence with its own options (greedy and beam sentences share a session); `step()` admits queued
/// sentences while their beams fit in the free rows (encoding them together, the "prefill"), runs one
/// decoder step over every live row, applies each sentence's search rule to its own rows, and returns the
/// sentences that finished. `cancel` drops a sentence (queued or live) before the next step.
///
/// Each sentence's result is what `Translator.translate` of it alone gives: the same search rules (MODEL.md
/// "Decoding", the code of `Engine.search` applied per sentence), over the same per-row arithmetic. Rows
/// share matrix products with whatever else is live, so with kernels whose per-row results depend on the
/// number of rows the scores agree within float tolerance rather than bit for bit.
///
/// Memory: the pool (encoder memory of `maxRows` sources of up to `maxSourceLength` tokens, the decoder
/// state of `maxRows` rows) is allocated once, at `init`; encoding newcomers reuses one scratch arena.
/// A step allocates nothing but the results of the sentences that finish (and a sentence's own history,
/// once, when it is admitted).
///
/// Not thread-safe: one thread drives a session (the server gives each model its own engine thread).
///
/// ```swift
/// let session = try DecodingSession(model: model, maxRows: 64)
/// let a = try session.add([5, 6, 7], options: .greedy)
/// let b = try session.add([8, 9], options: DecodingOptions(beamSize: 4, nBest: 2))
/// var done: [Int: Translation] = [:]
/// while !session.isIdle { for c in session.step() { done[c.id] = c.translation } }
/// ```
public final class DecodingSession {
    /// A finished sentence: the id `add` returned and its n-best list (tokens attached when the model has a
    /// target vocabulary).
    public struct Completed: Sendable {
        /// The id `add` returned for the sentence.
        public let id: Int
        /// Its n-best list, as `Translator.translate` of it alone gives.
        public let translation: Translation
    }

    /// The model decoded.
    public let model: Seq2SeqModel
    /// Hypothesis rows decoded together at most; a beam-K sentence takes K rows for its whole life.
    public let maxRows: Int
    /// The longest source (tokens the encoder reads, `eos` included when the model appends one) accepted.
    public let maxSourceLength: Int

    private let engine: Engine
    private let poolArena = Arena()
    private let scratch = Arena()
    private var pool: EncodedBatch  // maxRows slots of maxSourceLength positions
    private var state: DecoderState  // capacity maxRows
    private var freeSlots: [Int]

    private var pending: [SessionSentence] = []  // FIFO of added, not yet admitted
    private var pendingHead = 0
    private var live: [SessionSentence] = []  // row order: sentence i owns rows rowStart ..< rowStart + rows
    private var reservedRows = 0  // Σ beam sizes of the live sentences
    private var nextID = 0

    // Per-row buffers (maxRows), reused every step.
    private var score: UnsafeMutablePointer<Double>
    private var nextScore: UnsafeMutablePointer<Double>
    private let nextToken: UnsafeMutablePointer<Int>
    private let parents: UnsafeMutablePointer<Int>
    private let lse: UnsafeMutablePointer<Float>
    private let rowBeam: UnsafeMutablePointer<Int>
    private let rowSkip: UnsafeMutablePointer<Int>
    private let topValue: UnsafeMutablePointer<Float>  // (maxRows, maxRows + 1)
    private let topToken: UnsafeMutablePointer<Int>  // (maxRows, maxRows + 1)
    private let topFound: UnsafeMutablePointer<Int>
    private let candidates: UnsafeMutablePointer<Candidate>  // (maxRows · (maxRows + 1))
    private let suppressed: UnsafeMutablePointer<Int>
    private var newcomers: [SessionSentence] = []

    /// Rows decoded at the last step.
    public private(set) var lastStepRows = 0
    /// Ids of the sentences admitted (encoded and given rows) at the last step.
    public private(set) var lastAdmitted: [Int] = []
    /// Hypothesis rows currently live.
    public var liveRows: Int { live.reduce(0) { $0 + $1.rows } }
    /// Sentences being decoded.
    public var liveSentences: Int { live.count }
    /// Sentences added and waiting for rows.
    public var pendingSentences: Int { pending.count - pendingHead }
    /// Bytes of working memory held (the pool and the encoder's scratch; not the sentences' histories).
    public var workspaceBytes: Int { poolArena.reservedBytes + scratch.reservedBytes }
    /// Nothing live and nothing waiting.
    public var isIdle: Bool { live.isEmpty && pendingHead == pending.count }

    /// A session over `model` with `maxRows` rows (≥ 1) and sources of up to `maxSourceLength` tokens.
    public init(model: Seq2SeqModel, maxRows: Int = 64, maxSourceLength: Int = 256) throws {
        guard maxRows >= 1 else { throw Seq2SeqError.invalidOptions("max rows must be at least 1, found \(maxRows)") }
        guard maxSourceLength >= 1 && maxSourceLength <= DecodingOptions.maxSourceLength else {
            throw Seq2SeqError.invalidOptions("max source length must be between 1 and \(DecodingOptions.maxSourceLength), found \(maxSourceLength)")
        }
        self.model = model
        self.maxRows = maxRows
        self.maxSourceLength = maxSourceLength
        engine = Engine(config: model.config, weights: model.weights)
        BLASThreads.configure()
        let c = model.config
        let a = poolArena
        let R = maxRows, S = maxSourceLength, D = c.encoderOutputSize
        pool = EncodedBatch(count: R, maxLength: S, lengths: a.array(R, of: 1), bank: a.matrix(R * S, D),
                            summary: a.matrix(R, D), finalH: a.matrix(0, 1), finalC: a.matrix(0, 1), layerWidth: D)
        state = DecoderState(engine: engine, encoded: pool, capacity: R, arena: a)
        freeSlots = Array((0..<R).reversed())
        score = a.array(R, of: 0.0)
        nextScore = a.array(R, of: 0.0)
        nextToken = a.array(R, of: 0)
        parents = a.array(R, of: 0)
        lse = a.array(R, of: Float(0))
        rowBeam = a.array(R, of: 1)
        rowSkip = a.array(R, of: -1)
        topValue = a.array(R * (R + 1), of: Float(0))
        topToken = a.array(R * (R + 1), of: 0)
        topFound = a.array(R, of: 0)
        candidates = a.array(R * (R + 1), of: Candidate(value: 0, row: 0, token: 0, logProb: 0))
        suppressed = a.array(max(c.suppressIDs.count, 1), of: 0)
        for (i, id) in c.suppressIDs.enumerated() { suppressed[i] = id }
        live.reserveCapacity(R)
        lastAdmitted.reserveCapacity(R)
        newcomers.reserveCapacity(R)
        pending.reserveCapacity(R)
    }

    /// Queues a source (token ids, as the caller gives them: the model's `source_append_eos` is applied here)
    /// with its options; returns its id. It joins the decode at a later `step()` once its beam fits.
    ///
    /// - Throws: `invalidOptions` for out-of-range options or a beam larger than `maxRows`; `invalidInput` for
    ///   an empty source, an id out of range or a source longer than `maxSourceLength`.
    @discardableResult
    public func add(_ source: [Int], options: DecodingOptions = .greedy) throws -> Int {
        try options.validate(for: model.config)
        guard options.beamSize <= maxRows else {
            throw Seq2SeqError.invalidOptions("beam size \(options.beamSize) exceeds the session's \(maxRows) rows")
        }
        try model.validate(source: source)
        let ids = model.encoderInputs([source])[0]
        guard ids.count <= maxSourceLength else {
            throw Seq2SeqError.invalidInput("source of \(ids.count) tokens exceeds the session's limit of \(maxSourceLength)")
        }
        let bytes = Translator.workspaceEstimate(config: model.config, options: options, sentences: 1, sourceLength: ids.count)
        guard bytes <= Translator.workspaceLimit else {
            throw Seq2SeqError.invalidOptions("this sentence needs about \(bytes >> 20) MiB of working memory, more than the limit of \(Translator.workspaceLimit >> 20) MiB")
        }
        let id = nextID
        nextID += 1
        if pendingHead > 0 && pendingHead == pending.count {
            pending.removeAll(keepingCapacity: true)
            pendingHead = 0
        }
        pending.append(SessionSentence(id: id, source: ids, options: options))
        return id
    }

    /// Drops a sentence, queued or live; its rows are free at the next step. Returns whether it was there.
    @discardableResult
    public func cancel(_ id: Int) -> Bool {
        if let i = live.firstIndex(where: { $0.id == id }) {
            live[i].cancelled = true
            return true
        }
        if let i = pending[pendingHead...].firstIndex(where: { $0.id == id }) {
            pending.remove(at: i)
            return true
        }
        return false
    }

    /// One step: retire cancelled sentences, admit queued ones whose beams fit, run the decoder over every
    /// live row, and return the sentences that finished at this step.
    public func step() -> [Completed] {
        retireCancelled()
        admit()
        let R = live.last.map { $0.rowStart + $0.rows } ?? 0
        lastStepRows = R
        guard R > 0 else { return [] }
        let c = model.config
        let V = c.targetVocabSize, eos = c.specialTokens.eos
        engine.step(&state, rows: R, encoded: pool)

        // Per row: its beam and whether eos may be chosen yet (min_length), then lse and the best tokens.
        let stride = maxRows + 1
        for s in live {
            for r in s.rowStart..<(s.rowStart + s.rows) {
                rowBeam[r] = s.beam
                rowSkip[r] = s.t >= s.options.minLength ? -1 : eos
            }
        }
        var rows = SessionRowStatistics(logits: state.logits, vocabulary: V, beam: rowBeam, skip: rowSkip, stride: stride,
                                        suppressed: suppressed, suppressedCount: c.suppressIDs.count, lse: lse,
                                        topValue: topValue, topToken: topToken, topFound: topFound)
        forEachRow(R, work: V, state: &rows) { raw, r in raw.assumingMemoryBound(to: SessionRowStatistics.self).pointee.compute(r) }

        var completed: [Completed] = []
        var next = 0
        var keep = 0  // live sentences kept, compacted in place
        for i in live.indices {
            let s = live[i]
            let r0 = s.rowStart, r1 = r0 + s.rows
            s.t += 1
            let t = s.t
            s.recordAttention(state.alpha, rows: r0..<r1)
            let atLimit = t >= s.limit
            let first = next
            var done = false
            if s.beam == 1 {
                let r = r0
                let tok = topToken[r * stride]
                let lp = state.logits.row(r)[tok] - lse[r]
                let total = score[r] + Double(lp)
                if tok == eos || atLimit {
                    s.finished.append(Finished(step: t, row: 0, token: tok, tokenLogProb: lp, logProb: total, endedWithEOS: tok == eos))
                    done = true
                } else {
                    parents[next] = r
                    nextToken[next] = tok
                    nextScore[next] = total
                    s.record(step: t, row: 0, token: tok, parent: 0, logProb: lp)
                    next += 1
                }
            } else {
                let K = s.beam
                var m = 0
                for r in r0..<r1 {
                    for q in 0..<topFound[r] {
                        let lp = topValue[r * stride + q] - lse[r]
                        candidates[m] = Candidate(value: score[r] + Double(lp), row: r, token: topToken[r * stride + q], logProb: lp)
                        m += 1
                    }
                }
                sortCandidates(candidates, m)
                for q in 0..<m {
                    let cand = candidates[q]
                    if cand.token == eos {
                        s.finished.append(Finished(step: t, row: cand.row - r0, token: eos, tokenLogProb: cand.logProb,
                                                   logProb: cand.value, endedWithEOS: true))
                    } else {
                        parents[next] = cand.row
                        nextToken[next] = cand.token
                        nextScore[next] = cand.value
                        s.record(step: t, row: next - first, token: cand.token, parent: cand.row - r0, logProb: cand.logProb)
                        next += 1
                        if next - first == K { break }
                    }
                }
                if s.finished.count >= K {
                    next = first
                    done = true
                } else if atLimit {
                    for j in first..<next {
                        s.finished.append(Finished(step: t, row: parents[j] - r0, token: nextToken[j],
                                                   tokenLogProb: s.logProb[(t - 1) * K + (j - first)],
                                                   logProb: nextScore[j], endedWithEOS: false))
                    }
                    next = first
                    done = true
                }
            }
            if done {
                completed.append(Completed(id: s.id, translation: s.result(model: model)))
                reservedRows -= s.beam
                freeSlots.append(s.slot)
            } else {
                s.rowStart = first
                s.rows = next - first
                live[keep] = s
                keep += 1
            }
        }
        live.removeLast(live.count - keep)
        if next > 0 {
            var identity = next == R
            if identity { for i in 0..<next where parents[i] != i { identity = false; break } }
            if !identity { state.gather(parents, count: next) }
            for i in 0..<next { state.prevToken[i] = nextToken[i] }
        }
        swap(&score, &nextScore)
        return completed
    }

    /// Removes the rows of cancelled live sentences (keeping the others contiguous and in order).
    private func retireCancelled() {
        guard live.contains(where: { $0.cancelled }) else { return }
        var next = 0
        var keep = 0
        for i in live.indices {
            let s = live[i]
            if s.cancelled {
                reservedRows -= s.beam
                freeSlots.append(s.slot)
                continue
            }
            let first = next
            for r in s.rowStart..<(s.rowStart + s.rows) {
                parents[next] = r
                nextScore[next] = score[r]
                next += 1
            }
            s.rowStart = first
            live[keep] = s
            keep += 1
        }
        live.removeLast(live.count - keep)
        state.gather(parents, count: next)
        swap(&score, &nextScore)
    }

    /// Admits queued sentences (in order) while their beams fit, encodes them together and appends their
    /// initial rows (the bridge's state) after the live ones.
    private func admit() {
        newcomers.removeAll(keepingCapacity: true)
        lastAdmitted.removeAll(keepingCapacity: true)
        while pendingHead < pending.count {
            let s = pending[pendingHead]
            guard reservedRows + s.beam <= maxRows, let slot = freeSlots.popLast() else { break }
            s.slot = slot
            reservedRows += s.beam
            newcomers.append(s)
            pendingHead += 1
        }
        guard !newcomers.isEmpty else { return }
        // Encode longest first (the encoder's requirement), then copy into the pool slots.
        newcomers.sort { $0.source.count != $1.source.count ? $0.source.count > $1.source.count : $0.id < $1.id }
        scratch.reset()
        let encoded = engine.encode(newcomers.map(\.source), arena: scratch)
        var fresh = DecoderState(engine: engine, encoded: encoded, capacity: newcomers.count, arena: scratch)
        fresh.start(engine: engine, encoded: encoded)
        let S = pool.maxLength, Sn = encoded.maxLength
        var R = live.last.map { $0.rowStart + $0.rows } ?? 0
        let bos = model.config.specialTokens.bos
        for (n, s) in newcomers.enumerated() {
            let p = s.slot, len = encoded.lengths[n]
            pool.lengths[p] = len
            for j in 0..<len { pool.bank.row(p * S + j).update(from: encoded.bank.row(n * Sn + j), count: pool.bank.cols) }
            if state.keys.rows > 0 {
                for j in 0..<len { state.keys.row(p * S + j).update(from: fresh.keys.row(n * Sn + j), count: state.keys.cols) }
            }
            if state.fixedInput.rows > 0 { state.fixedInput.row(p).update(from: fresh.fixedInput.row(n), count: state.fixedInput.cols) }
            for k in state.h.indices { state.h[k].row(R).update(from: fresh.h[k].row(n), count: state.h[k].cols) }
            for k in state.c.indices { state.c[k].row(R).update(from: fresh.c[k].row(n), count: state.c[k].cols) }
            if state.hTilde.rows > 0 { state.hTilde.row(R).update(repeating: 0, count: state.hTilde.cols) }
            state.rowSlot[R] = p
            state.prevToken[R] = bos
            score[R] = 0
            s.admitted(rowStart: R, withAttention: s.options.returnAttention && model.config.attention != .none)
            live.append(s)
            lastAdmitted.append(s.id)
            R += 1
        }
    }
}
