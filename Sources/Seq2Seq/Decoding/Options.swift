/// How to decode: MODEL.md's decoding parameters, with its defaults.
public struct DecodingOptions: Sendable, Equatable {
    /// Beam size `K`; 1 is greedy decoding (its own fast path). Default 1.
    public var beamSize: Int
    /// How many hypotheses to return per sentence, best first (`≤ beamSize`). Default 1.
    public var nBest: Int
    /// Length penalty `α`: hypotheses are ranked by `logProb / length^α`. Default 1.0.
    public var lengthPenalty: Double
    /// Maximum generated tokens per sentence; nil means MODEL.md's default `2·S + 10`.
    public var maxLength: Int?
    /// `eos` cannot be chosen before this many tokens exist. Default 0.
    public var minLength: Int
    /// Whether results carry attention weights (one row of length `S` per generated token, the `eos` step included).
    public var returnAttention: Bool

    /// Options with MODEL.md's defaults unless given.
    public init(beamSize: Int = 1, nBest: Int = 1, lengthPenalty: Double = 1.0, maxLength: Int? = nil,
                minLength: Int = 0, returnAttention: Bool = false) {
        self.beamSize = beamSize
        self.nBest = nBest
        self.lengthPenalty = lengthPenalty
        self.maxLength = maxLength
        self.minLength = minLength
        self.returnAttention = returnAttention
    }

    /// Greedy decoding.
    public static let greedy = DecodingOptions()

    /// The largest source a sentence may have, in tokens. Longer sources are refused with a clear error
    /// rather than risking memory exhaustion (working memory grows with `S²` when attention is returned).
    public static let maxSourceLength = 4096

    /// The largest `maxLength` accepted.
    public static let maxGeneratedLength = 16384

    /// Checks the options against a model; throws `invalidOptions` naming the option.
    public func validate(targetVocabularySize: Int) throws {
        guard beamSize >= 1 else { throw Seq2SeqError.invalidOptions("beam size must be at least 1, found \(beamSize)") }
        guard beamSize <= targetVocabularySize else {
            throw Seq2SeqError.invalidOptions("beam size \(beamSize) exceeds the target vocabulary size \(targetVocabularySize)")
        }
        guard nBest >= 1 && nBest <= beamSize else {
            throw Seq2SeqError.invalidOptions("n-best must be between 1 and the beam size \(beamSize), found \(nBest)")
        }
        guard lengthPenalty.isFinite else { throw Seq2SeqError.invalidOptions("length penalty must be finite, found \(lengthPenalty)") }
        if let m = maxLength {
            guard m >= 1 && m <= Self.maxGeneratedLength else {
                throw Seq2SeqError.invalidOptions("max length must be between 1 and \(Self.maxGeneratedLength), found \(m)")
            }
        }
        guard minLength >= 0 else { throw Seq2SeqError.invalidOptions("min length must be at least 0, found \(minLength)") }
    }

    /// Checks the options against a model's configuration: `validate(targetVocabularySize:)`, and a beam no
    /// larger than the tokens the model lets a search choose (all but `suppress_ids` and `eos`) when it
    /// suppresses any.
    public func validate(for config: ModelConfig) throws {
        try validate(targetVocabularySize: config.targetVocabSize)
        guard config.suppressIDs.isEmpty || beamSize <= config.choosableTokens else {
            throw Seq2SeqError.invalidOptions("beam size \(beamSize) exceeds the \(config.choosableTokens) tokens the model lets a search choose (the target vocabulary less suppress_ids and eos)")
        }
    }

    /// The step limit for a source of `sourceLength` tokens.
    func maxSteps(sourceLength: Int) -> Int { maxLength ?? min(2 * sourceLength + 10, Self.maxGeneratedLength) }
}

/// One decoded output sequence.
public struct Hypothesis: Sendable, Equatable {
    /// Generated ids, without the final `eos`.
    public var ids: [Int]
    /// Tokens for `ids` when the model has a target vocabulary.
    public var tokens: [String]?
    /// `log p(ids [, eos] | source)`: the sum of the step log-probabilities, `eos`'s included when it ended with `eos`.
    public var logProb: Double
    /// `logProb / length^α`, where length counts `eos`.
    public var score: Double
    /// Whether the hypothesis ended by emitting `eos` (rather than reaching the maximum length).
    public var endedWithEOS: Bool
    /// The log-probability of each step's token (`eos` last, when emitted).
    public var tokenLogProbs: [Float]
    /// Attention rows (one per step, `eos` step included; each of the source length), when asked for and
    /// the model has attention.
    public var attention: [[Float]]?

    /// A hypothesis from its parts (for other backends, such as the naive reference, and for tests).
    public init(ids: [Int], tokens: [String]?, logProb: Double, score: Double, endedWithEOS: Bool,
                tokenLogProbs: [Float], attention: [[Float]]?) {
        self.ids = ids
        self.tokens = tokens
        self.logProb = logProb
        self.score = score
        self.endedWithEOS = endedWithEOS
        self.tokenLogProbs = tokenLogProbs
        self.attention = attention
    }
}

/// The result for one source sentence: its n-best list, best first.
public struct Translation: Sendable, Equatable {
    /// `nBest` hypotheses, best first.
    public var hypotheses: [Hypothesis]
    /// The best hypothesis.
    public var best: Hypothesis { hypotheses[0] }

    /// A translation from its n-best list, best first.
    public init(hypotheses: [Hypothesis]) { self.hypotheses = hypotheses }
}

/// Teacher-forced scores of a target given a source.
public struct ScoreResult: Sendable, Equatable {
    /// `log p(y_t | y_<t, x)` for each target token.
    public var tokenLogProbs: [Double]
    /// Their sum.
    public var logProb: Double

    /// A score result from its parts.
    public init(tokenLogProbs: [Double], logProb: Double) {
        self.tokenLogProbs = tokenLogProbs
        self.logProb = logProb
    }
}
