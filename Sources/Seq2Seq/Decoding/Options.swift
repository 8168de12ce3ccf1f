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

    // Options of MODEL.md "Decoding options" (defaults: off). Validated by `validate(for:)`.

    /// Sample among this many most likely tokens: 1 (the default) is greedy decoding, 0 the whole vocabulary.
    public var samplingTopK: Int
    /// Sample from the smallest set of most likely tokens whose probability reaches this (in (0, 1]; default 1).
    public var samplingTopP: Double
    /// Sampling temperature `T > 0`: tokens are drawn with probability ∝ `exp(logit / T)` (default 1).
    public var samplingTemperature: Double
    /// Seeds every sentence's random stream, with the sentence's position in the request (default 0).
    public var seed: UInt64
    /// A token that would repeat an n-gram of this size already in the hypothesis is not chosen (0: off).
    public var noRepeatNgramSize: Int
    /// CTranslate2's repetition penalty: the logit of every token already in the hypothesis is divided by
    /// this when positive and multiplied by it when negative (1: off).
    public var repetitionPenalty: Double
    /// The model's `unk` is never chosen.
    public var disableUnk: Bool
    /// Target ids never chosen (besides the model's `suppress_ids`).
    public var suppressIDs: [Int]
    /// Token sequences never generated: the last id of each is not chosen after the others.
    public var suppressSequences: [[Int]]
    /// How finished hypotheses are normalized by their length (`avg`, the default, is `length^α`).
    public var lengthPenaltyKind: LengthPenaltyKind
    /// With `maxLength` nil, the step limit is `⌊maxLengthA · S⌋ + maxLengthB` (default `2·S + 10`).
    public var maxLengthA: Double
    /// See `maxLengthA`.
    public var maxLengthB: Int
    /// Sources longer than this keep their first `maxInputLength` tokens (with a warning) instead of being refused.
    public var maxInputLength: Int?

    /// Options with MODEL.md's defaults unless given.
    public init(beamSize: Int = 1, nBest: Int = 1, lengthPenalty: Double = 1.0, maxLength: Int? = nil,
                minLength: Int = 0, returnAttention: Bool = false,
                samplingTopK: Int = 1, samplingTopP: Double = 1, samplingTemperature: Double = 1, seed: UInt64 = 0,
                noRepeatNgramSize: Int = 0, repetitionPenalty: Double = 1, disableUnk: Bool = false,
                suppressIDs: [Int] = [], suppressSequences: [[Int]] = [], lengthPenaltyKind: LengthPenaltyKind = .avg,
                maxLengthA: Double = 2, maxLengthB: Int = 10, maxInputLength: Int? = nil) {
        self.beamSize = beamSize
        self.nBest = nBest
        self.lengthPenalty = lengthPenalty
        self.maxLength = maxLength
        self.minLength = minLength
        self.returnAttention = returnAttention
        self.samplingTopK = samplingTopK
        self.samplingTopP = samplingTopP
        self.samplingTemperature = samplingTemperature
        self.seed = seed
        self.noRepeatNgramSize = noRepeatNgramSize
        self.repetitionPenalty = repetitionPenalty
        self.disableUnk = disableUnk
        self.suppressIDs = suppressIDs
        self.suppressSequences = suppressSequences
        self.lengthPenaltyKind = lengthPenaltyKind
        self.maxLengthA = maxLengthA
        self.maxLengthB = maxLengthB
        self.maxInputLength = maxInputLength
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
        guard nBest >= 1 && (nBest <= beamSize || isSampling) else {
            throw Seq2SeqError.invalidOptions("n-best must be between 1 and the beam size \(beamSize), found \(nBest)")
        }
        guard lengthPenalty.isFinite else { throw Seq2SeqError.invalidOptions("length penalty must be finite, found \(lengthPenalty)") }
        if let m = maxLength {
            guard m >= 1 && m <= Self.maxGeneratedLength else {
                throw Seq2SeqError.invalidOptions("max length must be between 1 and \(Self.maxGeneratedLength), found \(m)")
            }
        }
        guard minLength >= 0 else { throw Seq2SeqError.invalidOptions("min length must be at least 0, found \(minLength)") }
        try validateDecodingControls(targetVocabularySize: targetVocabularySize)
    }

    /// Checks the options against a model's configuration: `validate(targetVocabularySize:)`, and a beam no
    /// larger than the tokens the model lets a search choose (all but `suppress_ids` and `eos`) when it
    /// suppresses any.
    public func validate(for config: ModelConfig) throws {
        try validate(targetVocabularySize: config.targetVocabSize)
        guard config.suppressIDs.isEmpty || beamSize <= config.choosableTokens else {
            throw Seq2SeqError.invalidOptions("beam size \(beamSize) exceeds the \(config.choosableTokens) tokens the model lets a search choose (the target vocabulary less suppress_ids and eos)")
        }
        try validateDecodingControls(for: config)
    }
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
    /// What the caller should know about this sentence, such as a source cut to `maxInputLength`.
    public var warnings: [String]

    /// A translation from its n-best list, best first.
    public init(hypotheses: [Hypothesis], warnings: [String] = []) {
        self.hypotheses = hypotheses
        self.warnings = warnings
    }
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
