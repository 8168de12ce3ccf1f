// The per-sentence state of a DecodingSession: its options, rows, decoding controls and search history.

/// One sentence of a session: its options, its rows, its controls (MODEL.md "Decoding options") and its search
/// history (MODEL.md "Decoding"), kept in the same structures a `Translator` search of it alone uses.
final class SessionSentence {
    let id: Int
    let source: [Int]  // encoder input (cut to max_input_length, eos appended when the model says so)
    let prefix: [Int]  // target prefix, forced
    let index: Int  // position in its request: seeds its random streams
    let warnings: [String]
    let options: DecodingOptions
    let mode: SearchMode
    let beam: Int  // K
    let width: Int  // rows reserved for its whole life: the beam, or the samples
    let perRow: Int  // candidates each row proposes: K + 1 for a beam, else 1
    let limit: Int  // max steps
    var slot = -1
    var queuedAt = 0  // the session's step count when added
    var rowStart = 0
    var rows = 0
    var t = 0  // steps done
    var cancelled = false
    var finished: [Finished] = []

    // Allocated at admission, for the sentence's whole life (from its own arena).
    private var arena: Arena?
    private(set) var history: History!
    var controls: SearchControls!
    private(set) var zeroSlots: UnsafeMutablePointer<Int>!  // (width): every row belongs to sentence 0 of its controls

    init(id: Int, input: PreparedInput, options: DecodingOptions) {
        self.id = id
        source = input.source
        prefix = input.prefix
        index = input.index
        warnings = input.warnings
        self.options = options
        mode = options.isSampling ? .sampling : options.beamSize == 1 ? .greedy : .beam
        beam = options.beamSize
        width = options.rowsPerSentence
        perRow = mode == .beam ? beam + 1 : 1
        limit = options.maxSteps(sourceLength: input.source.count)
    }

    /// Allocates the history and controls (once, for the sentence's whole life) and returns the rows it starts
    /// with (its samples when sampling, else one).
    func admitted(rowStart: Int, config: ModelConfig) -> Int {
        let a = Arena(bytes: 4096)
        arena = a
        self.rowStart = rowStart
        rows = mode == .sampling ? width : 1
        history = History(rows: width, steps: limit, maxLength: source.count,
                          attention: options.returnAttention && config.attention != .none, arena: a)
        controls = SearchControls(options: options, config: config, prefixes: [prefix], streams: [index],
                                  capacity: width, steps: limit, arena: a)
        zeroSlots = a.array(width, of: 0)
        controls.start(rows: rows, samplesPerSentence: mode == .sampling ? width : 1, rowSlot: zeroSlots)
        finished.reserveCapacity(3 * width)
        return rows
    }

    /// The row statistics of this sentence's rows at step `t` (its rows of the session's buffers, indexed locally).
    func statistics(logits: MatrixView, vocabulary: Int, eos: Int, lse: UnsafeMutablePointer<Float>,
                    topValue: UnsafeMutablePointer<Float>, topToken: UnsafeMutablePointer<Int>,
                    topFound: UnsafeMutablePointer<Int>, stride: Int) -> RowStatistics {
        controls.prepare(step: t, rows: rows, rowSlot: zeroSlots)
        return RowStatistics(logits: logits.rows(rowStart, rows), vocabulary: vocabulary, mode: mode, perRow: perRow,
                             eos: eos, eosBlocked: t - 1 < options.minLength, suppressed: controls.excluded,
                             suppressedCount: controls.excludedCount, lse: lse + rowStart,
                             topValue: topValue + rowStart * stride, topToken: topToken + rowStart * stride,
                             topFound: topFound + rowStart, rules: controls.rules)
    }

    /// The n-best list, as `Translator.translate` of it alone ranks and rebuilds it.
    func result(model: Seq2SeqModel) -> Translation {
        var hyps = history.hypotheses(finished, options: options, sourceLength: source.count)
        for i in hyps.indices { hyps[i].tokens = model.targetTokens(for: hyps[i].ids) }
        return Translation(hypotheses: hyps, warnings: warnings)
    }
}

/// The row statistics of every live row of a session step: row `r` is local row `local[r]` of sentence
/// `owner[r]`'s statistics.
struct SessionRowStatistics {
    let sentences: UnsafeMutablePointer<RowStatistics>  // (live sentences)
    let owner: UnsafeMutablePointer<Int>  // (R)
    let local: UnsafeMutablePointer<Int>  // (R)

    @inline(__always) func compute(_ r: Int) { sentences[owner[r]].compute(local[r]) }
}
