/// Translates and scores with one model, owning the working memory for it.
///
/// A translator is for one thread at a time; create one per thread (or task)
/// over a shared `Seq2SeqModel`. Its memory is sized by the largest batch seen
/// and reused: after warm-up, decoding allocates only the results.
///
/// ```swift
/// let model = try Seq2SeqModel(directory: "model")
/// let translator = Translator(model: model)
/// let out = try translator.translate([[5, 6, 7]], options: DecodingOptions(beamSize: 5, nBest: 3))
/// print(out[0].best.ids, out[0].best.score)
/// ```
public final class Translator {
    /// The model this translator runs.
    public let model: Seq2SeqModel
    /// Sentences decoded together at most; larger requests are split (after sorting by length).
    public var maxBatchSize: Int
    /// Batch-invariant mode: a sentence's ids, log-probabilities and attention are the same bits alone, in any
    /// batch, at any batch size and with any thread count (every product runs through the engine's kernels,
    /// whose per-element reduction order does not depend on the other rows). See README, "Batch invariance".
    public var batchInvariant: Bool
    private let engine: Engine
    private let arena = Arena()

    /// A translator for `model`, decoding at most `maxBatchSize` sentences at once.
    public init(model: Seq2SeqModel, maxBatchSize: Int = 64, batchInvariant: Bool = Translator.batchInvariantByDefault) {
        self.model = model
        self.maxBatchSize = max(1, maxBatchSize)
        self.batchInvariant = batchInvariant
        self.engine = Engine(config: model.config, weights: model.weights)
        BLASThreads.configure()
    }

    /// Bytes of working memory currently held.
    public var workspaceBytes: Int { arena.reservedBytes }

    /// Decodes each source (token ids) and returns its n-best list, in input order. Sentence `i` is at
    /// position `i` of the request (its random stream when sampling).
    ///
    /// - Throws: `invalidOptions` for out-of-range options, `invalidInput` for an empty source,
    ///   a source longer than `DecodingOptions.maxSourceLength` (unless `maxInputLength` cuts it), or an id
    ///   outside the source vocabulary (the message names the sentence index and the id).
    public func translate(_ sources: [[Int]], options: DecodingOptions = .greedy) throws -> [Translation] {
        try translate(inputs: sources.map { TranslationInput(source: $0) }, options: options)
    }

    /// Decodes each input (source ids, an optional target prefix, its position in the request) and returns its
    /// n-best list, in input order (MODEL.md "Decoding options").
    ///
    /// - Throws: as `translate(_:options:)`, and `invalidInput` for a target prefix with an id outside the target
    ///   vocabulary, with `eos`, or longer than the sentence's max length.
    public func translate(inputs: [TranslationInput], options: DecodingOptions = .greedy) throws -> [Translation] {
        try options.validate(for: model.config)
        let prepared = try model.prepare(inputs, options: options)
        let sources = prepared.map(\.source)
        // Working memory grows with sentences × beam × (vocabulary + steps × source length): refuse a request
        // that would need more than the limit instead of failing to allocate it.
        let longest = sources.map(\.count).max() ?? 0
        let sentences = min(sources.count, maxBatchSize)
        let bytes = Self.workspaceEstimate(config: model.config, options: options, sentences: sentences, sourceLength: longest)
        if bytes > Self.workspaceLimit {
            let rows = options.isSampling ? "\(options.nBest) samples" : "beam size \(options.beamSize)"
            throw Seq2SeqError.invalidOptions(
                "this request needs about \(bytes >> 20) MiB of working memory (\(rows), \(sentences) sentences decoded together, sources of up to \(longest) tokens\(options.returnAttention ? ", attention returned" : "")), more than the limit of \(Self.workspaceLimit >> 20) MiB; use a smaller beam, batch or max length")
        }
        return ProductPolicy.with(batchInvariant: batchInvariant) {
            runSorted(sources) { batch, indices in
                engine.search(batch, prefixes: indices.map { prepared[$0].prefix }, streams: indices.map { prepared[$0].index },
                              options: options, arena: arena)
            }
        }.enumerated().map { i, t in
            var t = attachTokens(t)
            t.warnings = prepared[i].warnings
            return t
        }
    }

    /// Tokenizes `text` with the model's tokenizer and source vocabulary, then translates it.
    public func translate(_ text: String, options: DecodingOptions = .greedy) throws -> Translation {
        try translate([model.sourceIDs(for: text)], options: options)[0]
    }

    /// Teacher-forced log-probabilities of `targets[i]` given `sources[i]`, in input order.
    ///
    /// - Throws: `invalidInput` when the counts differ, a source is empty or too long, or an id is out of range.
    public func score(sources: [[Int]], targets: [[Int]]) throws -> [ScoreResult] {
        guard sources.count == targets.count else {
            throw Seq2SeqError.invalidInput("\(sources.count) sources but \(targets.count) targets")
        }
        for (i, s) in sources.enumerated() { try checkSource(s, index: i) }
        for (i, t) in targets.enumerated() {
            do { try model.validate(target: t) } catch let e as Seq2SeqError {
                throw Seq2SeqError.invalidInput("target \(i): \(e.message)")
            }
        }
        return ProductPolicy.with(batchInvariant: batchInvariant) {
            runSorted(model.encoderInputs(sources)) { batch, indices in
                engine.score(batch, targets: indices.map { targets[$0] }, arena: arena)
            }
        }
    }

    /// Whether new translators are batch-invariant unless told otherwise: true (with the AVX-512 kernels it
    /// costs at most 5% of any workload measured, and is faster at most; README, "Performance"). A process-wide
    /// setting for programs (the command line sets it from `--[no-]batch-invariant`); set it before creating
    /// translators. False lets products over more than 16 rows use OpenBLAS's GEMM (results within 1e-5).
    nonisolated(unsafe) public static var batchInvariantByDefault = true

    /// The most working memory one batch may use, bytes (4 GiB).
    public static let workspaceLimit = 4 << 30

    /// Bytes of working memory a batch of `sentences` sources of `sourceLength` tokens needs (an upper bound
    /// on what the engine's arena takes; the weights are not counted).
    public static func workspaceEstimate(config c: ModelConfig, options: DecodingOptions, sentences: Int, sourceLength S: Int) -> Int {
        let rows = sentences * max(options.beamSize, options.rowsPerSentence)
        let steps = options.maxSteps(sourceLength: S)
        let H = c.hiddenSize, D = c.encoderOutputSize, G = c.cell.gates * H
        // (the backward direction's input projections too: a bidirectional layer's directions run at once)
        let backward = c.bidirectionalEncoder ? c.cell.gates * c.encoderHidden : 0
        let encoder = sentences * S * (c.embeddingSize + 2 * D + G + backward + (c.attentionSize ?? H))
            + sentences * (4 * G + 4 * D + 2 * c.encoderLayers * D)
        let state = rows * (4 * c.decoderLayers * H + 2 * H + c.embeddingSize + D + 2 * G + (c.attentionSize ?? 0) + S
            + (c.outputProjectionSize ?? 0))
        let logits = rows * (c.targetVocabSize + 2 * (options.beamSize + 1))
        let history = rows * steps * (3 + (options.returnAttention ? S : 0))
        let controls = (options.isSampling ? rows * c.targetVocabSize : 0)
            + (options.repetitionPenalty != 1 || options.noRepeatNgramSize > 0 || !options.suppressSequences.isEmpty ? 2 * rows * steps : 0)
        return 8 * (encoder + state + logits + history + controls) + (1 << 20)
    }

    private func checkSource(_ s: [Int], index: Int) throws {
        do { try model.validate(source: s) } catch let e as Seq2SeqError {
            throw Seq2SeqError.invalidInput("source \(index): \(e.message)")
        }
    }

    /// Sorts sources by length (longest first), runs `body` on chunks of `maxBatchSize`, and returns the
    /// results in input order.
    private func runSorted<T>(_ sources: [[Int]], _ body: ([[Int]], [Int]) -> [T]) -> [T] {
        let order = sources.indices.sorted { sources[$0].count != sources[$1].count ? sources[$0].count > sources[$1].count : $0 < $1 }
        var results = [T?](repeating: nil, count: sources.count)
        var start = 0
        while start < order.count {
            let chunk = Array(order[start..<min(start + maxBatchSize, order.count)])
            arena.reset()
            let out = body(chunk.map { sources[$0] }, chunk)
            for (k, i) in chunk.enumerated() { results[i] = out[k] }
            start += chunk.count
        }
        return results.map { $0! }
    }

    private func attachTokens(_ t: Translation) -> Translation {
        var t = t
        for i in t.hypotheses.indices { t.hypotheses[i].tokens = model.targetTokens(for: t.hypotheses[i].ids) }
        return t
    }
}

extension Seq2SeqModel {
    /// Translates with a temporary `Translator` (convenient; reuse a translator for speed).
    public func translate(_ sources: [[Int]], options: DecodingOptions = .greedy) throws -> [Translation] {
        try Translator(model: self).translate(sources, options: options)
    }

    /// Translates off the caller's executor, for async code: the work runs in a detached task with its own
    /// `Translator`, so many such calls can run at once over one model.
    public func translate(_ sources: [[Int]], options: DecodingOptions = .greedy) async throws -> [Translation] {
        try await Task.detached { try Translator(model: self).translate(sources, options: options) }.value
    }

    /// Teacher-forced scores off the caller's executor (see `Translator.score(sources:targets:)`).
    public func score(sources: [[Int]], targets: [[Int]]) async throws -> [ScoreResult] {
        try await Task.detached { try Translator(model: self).score(sources: sources, targets: targets) }.value
    }
}
