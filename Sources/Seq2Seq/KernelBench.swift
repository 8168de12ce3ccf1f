/// Not API (SPI `Benchmarks`, seen only after `@_spi(Benchmarks) import Seq2Seq`): single kernels of the
/// engine, set up on a real model, for the benchmark package (`Benchmarks/Benchmarks/Workloads`). Each runs on
/// `rows` hypotheses over sources of `sourceLength` tokens.
@_spi(Benchmarks) public final class _KernelBench {
    private let engine: Engine
    private let arena = Arena()
    private let encoded: EncodedBatch
    private var state: DecoderState
    private let rows: Int
    private let lse: UnsafeMutablePointer<Float>
    private let topValue: UnsafeMutablePointer<Float>
    private let topToken: UnsafeMutablePointer<Int>
    private let topFound: UnsafeMutablePointer<Int>
    private let candidates: UnsafeMutablePointer<Candidate>
    private let parents: UnsafeMutablePointer<Int>
    private let controls: SearchControls

    /// Encodes one source of `sourceLength` tokens and prepares `rows` decoder rows on it (a beam of `rows`).
    public init(model: Seq2SeqModel, rows: Int, sourceLength: Int) {
        BLASThreads.configure()
        engine = Engine(config: model.config, weights: model.weights)
        self.rows = rows
        let source = (0..<sourceLength).map { 4 + $0 % max(1, model.config.sourceVocabSize - 4) }
        encoded = engine.encode([source], arena: arena)
        state = DecoderState(engine: engine, encoded: encoded, capacity: rows, arena: arena)
        state.start(engine: engine, encoded: encoded)
        lse = arena.array(rows, of: Float(0))
        topValue = arena.array(rows * (rows + 1), of: Float(0))
        topToken = arena.array(rows * (rows + 1), of: 0)
        topFound = arena.array(rows, of: 0)
        candidates = arena.array(rows * (rows + 1), of: Candidate(value: 0, row: 0, token: 0, logProb: 0))
        parents = arena.array(rows, of: 0)
        for r in 0..<rows { state.rowSlot[r] = 0 }
        controls = SearchControls(options: DecodingOptions(beamSize: rows), config: model.config, prefixes: [[]],
                                  streams: [0], capacity: rows, steps: 1, arena: arena)
    }

    /// The first decoder layer's step: both products and the cell update, for every row.
    public func cellStep() {
        let c = engine.config, H = c.hiddenSize
        let layer = engine.weights.decoder[0]
        let gx = state.gx.rows(0, rows), gh = state.gh.rows(0, rows)
        gx.fillRows(with: layer.inputBias)
        accumulateProduct(state.embedded.rows(0, rows).const, layer.weightIH.columns(0, c.embeddingSize), into: gx, beta: 1)
        accumulateProduct(state.h[0].rows(0, rows).const, layer.weightHH, into: gh, beta: 0)
        for r in 0..<rows {
            cellUpdate(c.cell, hidden: H, gx: gx.row(r), gh: gh.row(r), biasN: layer.hiddenBiasN,
                       h: state.h[0].row(r), c: c.cell == .lstm ? state.c[0].row(r) : nil)
        }
    }

    /// Attention over the source for every row (scores, softmax, context).
    public func attentionStep() {
        guard engine.config.attention != .none else { return }
        engine.attend(&state, rows: rows, encoded: encoded, state: state.h[engine.config.decoderLayers - 1].rows(0, rows).const)
    }

    /// The output projection over the vocabulary and the log-softmax statistics (log Σ exp and the best tokens).
    public func outputAndLogSoftmax() {
        let top = state.h[engine.config.decoderLayers - 1].rows(0, rows).const
        let o = engine.config.attention.isLuong ? state.hTilde.rows(0, rows).const : top
        engine.weights.output.apply(o, into: state.logits.rows(0, rows))
        engine.weights.outputRescoring?.apply(o, logits: state.logits.rows(0, rows), values: state.rescoreValues,
                                              tokens: state.rescoreTokens)
        var stats = RowStatistics(logits: state.logits, vocabulary: engine.config.targetVocabSize,
                                  mode: rows == 1 ? .greedy : .beam, perRow: rows + 1, eos: engine.config.specialTokens.eos,
                                  eosBlocked: false, suppressed: controls.excluded, suppressedCount: 0, lse: lse,
                                  topValue: topValue, topToken: topToken, topFound: topFound, rules: controls.rules)
        forEachRow(rows, work: engine.config.targetVocabSize, state: &stats) { raw, r in
            raw.assumingMemoryBound(to: RowStatistics.self).pointee.compute(r)
        }
    }

    /// A beam step's selection after the logits: candidates ranked, next beam chosen, state rows reordered.
    public func beamStep() {
        var m = 0
        for r in 0..<rows {
            for q in 0..<topFound[r] {
                let lp = topValue[r * (rows + 1) + q] - lse[r]
                candidates[m] = Candidate(value: Double(lp), row: r, token: topToken[r * (rows + 1) + q], logProb: lp)
                m += 1
            }
        }
        sortCandidates(candidates, m)
        for i in 0..<min(rows, m) { parents[i] = candidates[i].row }
        state.gather(parents, count: min(rows, m))
    }

    /// A whole decoder step (embedding, attention, cells, output) for every row.
    public func decoderStep() {
        engine.step(&state, rows: rows, encoded: encoded)
    }
}
