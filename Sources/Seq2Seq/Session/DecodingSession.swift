/// Step-level continuous batching: sentences join and leave a running decode between decoder steps.
///
/// A session owns a fixed pool of `maxRows` hypothesis rows (and as many sentence slots). `add` queues a
/// sentence with its own options (greedy and beam sentences share a session); `step()` admits queued
/// sentences while their beams fit in the free rows (encoding them together, the "prefill"), runs one
/// decoder step over every live row, applies each sentence's search rule to its own rows, and returns the
/// sentences that finished. `cancel` drops a sentence (queued or live) before the next step.
///
/// Each sentence's result is what `Translator.translate` of it alone gives: the same search rules and decoding
/// options (MODEL.md "Decoding" and "Decoding options": greedy, beam, sampling with a seed, target prefixes,
/// repetition controls, length penalties and limits), with the same per-row code. In batch-invariant mode
/// (`batchInvariant: true`) the results are bit for bit those of `Translator(model:batchInvariant: true)` of
/// the sentence alone, whatever else is live; otherwise rows share products whose per-row results may depend on
/// the number of rows, and the scores agree within float tolerance.
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
    /// Hypothesis rows decoded together at most; a beam-K sentence (or one drawing K samples) takes K rows for its whole life.
    public let maxRows: Int
    /// The longest source (tokens the encoder reads, `eos` included when the model appends one) accepted.
    public let maxSourceLength: Int
    /// Whether every product runs in batch-invariant mode (see `Translator.batchInvariant`).
    public let batchInvariant: Bool

    // Internal (not private): DecodingSession+Admission.swift admits and retires sentences.
    let engine: Engine
    let poolArena = Arena()
    let scratch = Arena()
    var pool: EncodedBatch  // maxRows slots of maxSourceLength positions
    var state: DecoderState  // capacity maxRows
    var freeSlots: [Int]

    var pending: [SessionSentence] = []  // FIFO of added, not yet admitted
    var pendingHead = 0
    var live: [SessionSentence] = []  // row order: sentence i owns rows rowStart ..< rowStart + rows
    var reservedRows = 0  // Σ rows reserved by the live sentences (beams, samples)
    var nextID = 0

    // Per-row buffers (maxRows), reused every step.
    var score: UnsafeMutablePointer<Double>
    var nextScore: UnsafeMutablePointer<Double>
    let nextToken: UnsafeMutablePointer<Int>
    let parents: UnsafeMutablePointer<Int>
    let lse: UnsafeMutablePointer<Float>
    let rowOwner: UnsafeMutablePointer<Int>  // (maxRows): the live sentence of each row
    let rowLocal: UnsafeMutablePointer<Int>  // (maxRows): its row within the sentence
    let localParents: UnsafeMutablePointer<Int>  // (maxRows): parents within each sentence
    let statistics: UnsafeMutablePointer<RowStatistics>  // (maxRows): per live sentence
    let topValue: UnsafeMutablePointer<Float>  // (maxRows, maxRows + 1)
    let topToken: UnsafeMutablePointer<Int>  // (maxRows, maxRows + 1)
    let topFound: UnsafeMutablePointer<Int>
    let candidates: UnsafeMutablePointer<Candidate>  // (maxRows · (maxRows + 1))
    var newcomers: [SessionSentence] = []

    /// Encoding admits newcomers together: the encoder runs once per source position over the whole group,
    /// so encoding a few sentences at every step costs nearly as much as encoding many at once. While other
    /// sentences are live, queued ones wait (at most `maxAdmissionWait` steps) until this many are queued or
    /// as many as the free rows allow. 1 (the default) admits at every step.
    public var minAdmission = 1
    /// Steps a queued sentence may wait for `minAdmission` companions while other sentences are live.
    public var maxAdmissionWait = 0
    var stepCount = 0

    /// Rows decoded at the last step.
    public private(set) var lastStepRows = 0
    /// Ids of the sentences admitted (encoded and given rows) at the last step.
    public internal(set) var lastAdmitted: [Int] = []
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
    ///
    /// `batchInvariant` makes every sentence's result the same bits as `Translator(model:batchInvariant: true)`
    /// gives it alone, whatever shares the step (at some cost in speed on large steps).
    public init(model: Seq2SeqModel, maxRows: Int = 64, maxSourceLength: Int = 256,
                batchInvariant: Bool = Translator.batchInvariantByDefault) throws {
        guard maxRows >= 1 else { throw Seq2SeqError.invalidOptions("max rows must be at least 1, found \(maxRows)") }
        guard maxSourceLength >= 1 && maxSourceLength <= DecodingOptions.maxSourceLength else {
            throw Seq2SeqError.invalidOptions("max source length must be between 1 and \(DecodingOptions.maxSourceLength), found \(maxSourceLength)")
        }
        self.model = model
        self.maxRows = maxRows
        self.maxSourceLength = maxSourceLength
        self.batchInvariant = batchInvariant
        engine = Engine(config: model.config, weights: model.weights)
        BLASThreads.configure()
        let c = model.config
        let a = poolArena
        let R = maxRows, S = maxSourceLength, D = c.encoderOutputSize
        let offsets = a.array(R, of: 0)  // (R): slot p's rows start at p · S
        for p in 0..<R { offsets[p] = p * S }
        pool = EncodedBatch(count: R, maxLength: S, lengths: a.array(R, of: 1), offsets: offsets, bank: a.matrix(R * S, D),
                            summary: a.matrix(R, D), finalH: a.matrix(0, 1), finalC: a.matrix(0, 1), layerWidth: D)
        state = DecoderState(engine: engine, encoded: pool, capacity: R, arena: a)
        freeSlots = Array((0..<R).reversed())
        score = a.array(R, of: 0.0)
        nextScore = a.array(R, of: 0.0)
        nextToken = a.array(R, of: 0)
        parents = a.array(R, of: 0)
        lse = a.array(R, of: Float(0))
        rowOwner = a.array(R, of: 0)
        rowLocal = a.array(R, of: 0)
        localParents = a.array(R, of: 0)
        topValue = a.array(R * (R + 1), of: Float(0))
        topToken = a.array(R * (R + 1), of: 0)
        topFound = a.array(R, of: 0)
        candidates = a.array(R * (R + 1), of: Candidate(value: 0, row: 0, token: 0, logProb: 0))
        statistics = UnsafeMutablePointer<RowStatistics>.allocate(capacity: R)
        live.reserveCapacity(R)
        lastAdmitted.reserveCapacity(R)
        newcomers.reserveCapacity(R)
        pending.reserveCapacity(R)
    }

    deinit { statistics.deallocate() }

    /// Queues a source (token ids, as the caller gives them: the model's `source_append_eos` is applied here)
    /// with its options; returns its id. It joins the decode at a later `step()` once its rows fit.
    ///
    /// - Throws: as `add(_:options:)` with an input.
    @discardableResult
    public func add(_ source: [Int], options: DecodingOptions = .greedy) throws -> Int {
        try add(TranslationInput(source: source), options: options)
    }

    /// Queues an input (source ids, an optional target prefix, and its position in its request, which seeds its
    /// random streams when sampling; nil is 0) with its options; returns its id. Its result is what
    /// `Translator.translate(inputs: [input], options:)` gives (warnings included).
    ///
    /// - Throws: `invalidOptions` for out-of-range options or more rows (beam or samples) than `maxRows`;
    ///   `invalidInput` for an empty source, an id out of range, a source longer than `maxSourceLength` or a
    ///   bad target prefix.
    @discardableResult
    public func add(_ input: TranslationInput, options: DecodingOptions = .greedy) throws -> Int {
        try options.validate(for: model.config)
        guard options.rowsPerSentence <= maxRows else {
            let what = options.isSampling ? "n_best \(options.nBest) (samples)" : "beam size \(options.beamSize)"
            throw Seq2SeqError.invalidOptions("\(what) exceeds the session's \(maxRows) rows")
        }
        var prepared = try model.prepare([input], options: options)[0]
        prepared.index = input.index ?? 0
        guard prepared.source.count <= maxSourceLength else {
            throw Seq2SeqError.invalidInput("source of \(prepared.source.count) tokens exceeds the session's limit of \(maxSourceLength)")
        }
        let bytes = Translator.workspaceEstimate(config: model.config, options: options, sentences: 1, sourceLength: prepared.source.count)
        guard bytes <= Translator.workspaceLimit else {
            throw Seq2SeqError.invalidOptions("this sentence needs about \(bytes >> 20) MiB of working memory, more than the limit of \(Translator.workspaceLimit >> 20) MiB")
        }
        let id = nextID
        nextID += 1
        if pendingHead > 0 && pendingHead == pending.count {
            pending.removeAll(keepingCapacity: true)
            pendingHead = 0
        }
        let sentence = SessionSentence(id: id, input: prepared, options: options)
        sentence.queuedAt = stepCount
        pending.append(sentence)
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

    /// One step: retire cancelled sentences, admit queued ones whose rows fit, run the decoder over every
    /// live row, and return the sentences that finished at this step.
    public func step() -> [Completed] {
        ProductPolicy.with(batchInvariant: batchInvariant) { runStep() }
    }

    private func runStep() -> [Completed] {
        retireCancelled()
        admit()
        // Index loops over `live` (not `last`, `enumerated()`, `contains`): the generic ones allocate a coroutine
        // frame per element read in a debug build, and the allocation test runs one.
        let R = live.isEmpty ? 0 : live[live.count - 1].rowStart + live[live.count - 1].rows
        lastStepRows = R
        guard R > 0 else { return [] }
        let c = model.config
        let V = c.targetVocabSize, eos = c.specialTokens.eos
        engine.step(&state, rows: R, encoded: pool)

        // Per sentence: its controls for this step and its rows' statistics (the search's own per-row code).
        let stride = maxRows + 1
        for i in live.indices {
            let s = live[i]
            s.t += 1
            (statistics + i).initialize(to: s.statistics(logits: state.logits, vocabulary: V, eos: eos, lse: lse, topValue: topValue,
                                                         topToken: topToken, topFound: topFound, stride: stride))
            for j in 0..<s.rows {
                rowOwner[s.rowStart + j] = i
                rowLocal[s.rowStart + j] = j
            }
        }
        var rows = SessionRowStatistics(sentences: statistics, owner: rowOwner, local: rowLocal)
        forEachRow(R, work: V, state: &rows) { raw, r in raw.assumingMemoryBound(to: SessionRowStatistics.self).pointee.compute(r) }

        var completed: [Completed] = []
        var next = 0
        var keep = 0  // live sentences kept, compacted in place
        for i in live.indices {
            let s = live[i]
            let r0 = s.rowStart
            let t = s.t
            let history = s.history!
            history.recordAttention(step: t, alpha: state.alpha, rows: s.rows, first: r0)
            let atLimit = t >= s.limit
            let first = next
            let values = topValue + r0 * stride, tokens = topToken + r0 * stride, P = s.perRow
            var done = false
            if s.mode != .beam {
                // Greedy or sampling: every row goes on with its own token.
                for j in 0..<s.rows {
                    let r = r0 + j
                    let tok = tokens[j * P]
                    let lp = values[j * P] - lse[r]
                    let total = score[r] + Double(lp)
                    if tok == eos || atLimit {
                        s.finished.append(Finished(step: t, row: j, token: tok, tokenLogProb: lp, logProb: total,
                                                   endedWithEOS: tok == eos, sample: s.controls.sample[j]))
                    } else {
                        parents[next] = r
                        localParents[next] = j
                        nextToken[next] = tok
                        nextScore[next] = total
                        history.record(step: t, row: next - first, token: tok, parent: j, logProb: lp)
                        next += 1
                    }
                }
                done = next == first
            } else {
                let K = s.beam
                var m = 0
                for j in 0..<s.rows {
                    for q in 0..<topFound[r0 + j] {
                        let lp = values[j * P + q] - lse[r0 + j]
                        candidates[m] = Candidate(value: score[r0 + j] + Double(lp), row: j, token: tokens[j * P + q], logProb: lp)
                        m += 1
                    }
                }
                sortCandidates(candidates, m)
                for q in 0..<m {
                    let cand = candidates[q]
                    if cand.token == eos {
                        s.finished.append(Finished(step: t, row: cand.row, token: eos, tokenLogProb: cand.logProb,
                                                   logProb: cand.value, endedWithEOS: true))
                    } else {
                        parents[next] = r0 + cand.row
                        localParents[next] = cand.row
                        nextToken[next] = cand.token
                        nextScore[next] = cand.value
                        history.record(step: t, row: next - first, token: cand.token, parent: cand.row, logProb: cand.logProb)
                        next += 1
                        if next - first == K { break }
                    }
                }
                if s.finished.count >= K {
                    done = true
                } else if atLimit {
                    for j in first..<next {
                        s.finished.append(Finished(step: t, row: localParents[j], token: nextToken[j],
                                                   tokenLogProb: history.logProb[(t - 1) * history.rows + (j - first)],
                                                   logProb: nextScore[j], endedWithEOS: false))
                    }
                    done = true
                }
            }
            if done {
                next = first
                completed.append(Completed(id: s.id, translation: s.result(model: model)))
                reservedRows -= s.width
                freeSlots.append(s.slot)
            } else {
                let n = next - first
                var identity = n == s.rows
                if identity { for j in 0..<n where localParents[first + j] != j { identity = false; break } }
                s.controls.advance(step: t, parents: localParents + first, tokens: nextToken + first, count: n, identity: identity)
                s.rowStart = first
                s.rows = n
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
}
