import Seq2Seq

/// The naive reference: MODEL.md's equations as plain loops over Swift arrays, in Double, one sentence and
/// one step at a time. No BLAS, no batching, no workspace. It exists to check the engine (`Translator`)
/// against; it is slow by design.
///
/// It reuses the engine's loading and validation (`Seq2SeqModel`) but none of its math, and returns the
/// engine's result types so the two can be compared field by field:
///
/// ```swift
/// let model = try Seq2SeqModel(directory: "model")
/// let reference = ReferenceTranslator(model: model)
/// let out = try reference.translate([[5, 6, 7]], options: DecodingOptions(beamSize: 5))
/// ```
public final class ReferenceTranslator {
    /// The model this reference runs.
    public let model: Seq2SeqModel
    private let reference: ReferenceModel

    /// A reference translator for `model` (converts its weights to Double once).
    public init(model: Seq2SeqModel) {
        self.model = model
        self.reference = ReferenceModel(model)
    }

    /// Decodes each source (token ids) on its own and returns its n-best list, in input order.
    ///
    /// `options.beamSize == 1` is greedy search (or sampling when `options.isSampling`); otherwise beam search.
    /// Results carry tokens when the model has a target vocabulary, and attention rows (one per generated token,
    /// the `eos` step included) when `options.returnAttention` is set and the model has attention.
    ///
    /// - Throws: `invalidOptions` for out-of-range options, `invalidInput` for a bad source (naming its index).
    public func translate(_ sources: [[Int]], options: DecodingOptions = .greedy) throws -> [Translation] {
        try translate(inputs: sources.map { TranslationInput(source: $0) }, options: options)
    }

    /// Decodes each input (source, target prefix, position in the request) on its own; see
    /// `Translator.translate(inputs:options:)`.
    public func translate(inputs: [TranslationInput], options: DecodingOptions = .greedy) throws -> [Translation] {
        try translateWithMargins(inputs, options: options).map(\.translation)
    }

    /// As `translate(inputs:options:)`, with each hypothesis's per-step margins (see `SearchHypothesis.margins`).
    package func translateWithMargins(_ inputs: [TranslationInput], options: DecodingOptions)
        throws -> [(translation: Translation, margins: [[Double]])] {
        try options.validate(for: model.config)
        return try model.prepare(inputs, options: options).map { translateOne($0, options: options) }
    }

    /// Teacher-forced log-probabilities of `targets[i]` given `sources[i]`, in input order.
    ///
    /// - Throws: `invalidInput` when the counts differ or a source or target is invalid (naming its index).
    public func score(sources: [[Int]], targets: [[Int]]) throws -> [ScoreResult] {
        guard sources.count == targets.count else {
            throw Seq2SeqError.invalidInput("\(sources.count) sources but \(targets.count) targets")
        }
        for (i, s) in sources.enumerated() { try check(i, "source") { try model.validate(source: s) } }
        for (i, t) in targets.enumerated() { try check(i, "target") { try model.validate(target: t) } }
        return zip(sources, targets).map { source, target in
            let lps = reference.score(source: withEOS(source), target: target)
            return ScoreResult(tokenLogProbs: lps, logProb: lps.reduce(0, +))
        }
    }

    /// The source as encoded: with `source_append_eos`, the `eos` id appended.
    private func withEOS(_ source: [Int]) -> [Int] {
        model.encoderInputs([source])[0]
    }

    private func check(_ index: Int, _ what: String, _ body: () throws -> Void) throws {
        do { try body() } catch let e as Seq2SeqError {
            throw Seq2SeqError.invalidInput("\(what) \(index): \(e.message)")
        }
    }

    private func translateOne(_ input: PreparedInput, options: DecodingOptions) -> (translation: Translation, margins: [[Double]]) {
        let source = input.source
        // max_length: given, or ⌊a·S⌋ + b (default 2·S + 10), between 1 and the generated-length limit.
        let maxLength = options.maxLength
            ?? Int(min(max((options.maxLengthA * Double(source.count)).rounded(.down) + Double(options.maxLengthB), 1),
                       Double(DecodingOptions.maxGeneratedLength)))
        let rules = DecodingRules(options: options, config: model.config, prefix: input.prefix)
        let ranked: [SearchHypothesis]
        if options.isSampling {
            // nBest independent samples, each with its own stream; ranked by score, then sample index.
            let samples = (0..<options.nBest).map { j in
                var h = reference.sample(source: source, rules: rules, maxLength: maxLength,
                                         stream: SplitMix64(seed: options.seed, sentence: input.index, sample: j))
                h.sample = j
                return h
            }
            ranked = samples.sorted { a, b in
                let sa = normalizedScore(a, options), sb = normalizedScore(b, options)
                return sa != sb ? sa > sb : a.sample < b.sample
            }
        } else if options.beamSize == 1 {
            ranked = [reference.greedy(source: source, rules: rules, maxLength: maxLength)]
        } else {
            ranked = reference.beamSearch(source: source, K: options.beamSize, rules: rules, maxLength: maxLength)
        }
        let withAttention = options.returnAttention && model.config.attention != .none
        let best = ranked.prefix(options.nBest)
        let translation = Translation(hypotheses: best.map { h in
            Hypothesis(ids: h.ids, tokens: model.targetTokens(for: h.ids), logProb: h.logProb,
                       score: normalizedScore(h, options),
                       endedWithEOS: h.endedWithEOS, tokenLogProbs: h.tokenLogProbs.map(Float.init),
                       attention: withAttention ? h.attention.map { $0.map(Float.init) } : nil)
        }, warnings: input.warnings)
        return (translation, best.map(\.margins))
    }
}
