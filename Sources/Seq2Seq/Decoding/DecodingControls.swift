// The decoding controls of MODEL.md "Decoding options": sampling, target prefixes, repetition controls,
// length penalties and limits. The search applies them (Search.swift, RowRules.swift); this file holds the
// public types, the validation and the small formulas that the engine shares with its callers.

/// How a finished hypothesis's log-probability is normalized by its length `L` (tokens, `eos` included) to
/// give its score, with the length penalty `α`.
public enum LengthPenaltyKind: String, Sendable, CaseIterable {
    /// `logProb / L^α` (MODEL.md's default).
    case avg
    /// GNMT's (Wu et al. 2016): `logProb / ((5 + L) / 6)^α`.
    case wu
    /// The log-probability itself.
    case none

    /// The score of a hypothesis of `length` tokens and log-probability `logProb`.
    public func score(logProb: Double, length: Int, alpha: Double) -> Double {
        switch self {
        case .avg: return logProb / pow(Double(length), alpha)
        case .wu: return logProb / pow((5 + Double(length)) / 6, alpha)
        case .none: return logProb
        }
    }
}

/// One sentence of a request: its source ids, a target prefix to force, and its position in the request.
public struct TranslationInput: Sendable, Equatable {
    /// Source token ids.
    public var source: [Int]
    /// Target ids that every hypothesis starts with (forced; scored like any other token). Default none.
    public var targetPrefix: [Int]
    /// The sentence's position in the whole request, which seeds its random stream when sampling;
    /// nil means its position in the call.
    public var index: Int?

    /// An input from its parts.
    public init(source: [Int], targetPrefix: [Int] = [], index: Int? = nil) {
        self.source = source
        self.targetPrefix = targetPrefix
        self.index = index
    }
}

extension DecodingOptions {
    /// Whether tokens are drawn at random (`samplingTopK ≠ 1`) rather than chosen greedily or by beam search.
    public var isSampling: Bool { samplingTopK != 1 }

    /// Hypotheses decoded side by side for one sentence: the beam, or the samples.
    var rowsPerSentence: Int { isSampling ? nBest : beamSize }

    /// The largest `nBest` accepted when sampling (each sample is a row of the batch).
    public static let maxSamples = 1024

    /// The step limit for a source of `sourceLength` tokens (as encoded): `maxLength`, or
    /// `⌊maxLengthA · S⌋ + maxLengthB` kept between 1 and `maxGeneratedLength`.
    public func maxSteps(sourceLength: Int) -> Int {
        if let m = maxLength { return m }
        let relative = (maxLengthA * Double(sourceLength)).rounded(.down) + Double(maxLengthB)
        return Int(min(max(relative, 1), Double(Self.maxGeneratedLength)))
    }

    /// A finished hypothesis's score (`lengthPenaltyKind` with `lengthPenalty`).
    public func score(logProb: Double, length: Int) -> Double {
        lengthPenaltyKind.score(logProb: logProb, length: length, alpha: lengthPenalty)
    }

    /// The options of MODEL.md "Decoding options" that need no model.
    func validateDecodingControls(targetVocabularySize V: Int) throws {
        func bad(_ m: String) -> Seq2SeqError { .invalidOptions(m) }
        guard samplingTopK >= 0 else { throw bad("sampling_topk must be 0 (the whole vocabulary) or more, found \(samplingTopK)") }
        guard samplingTopP > 0 && samplingTopP <= 1 else {
            throw bad("sampling_topp must be in (0, 1], found \(samplingTopP)")
        }
        guard samplingTemperature > 0 && samplingTemperature.isFinite else {
            throw bad("sampling_temperature must be positive and finite, found \(samplingTemperature)")
        }
        if isSampling {
            guard beamSize == 1 else {
                throw bad("sampling (sampling_topk \(samplingTopK)) needs beam_size 1, found \(beamSize)")
            }
            guard nBest <= Self.maxSamples else {
                throw bad("n_best (samples) must be at most \(Self.maxSamples) when sampling, found \(nBest)")
            }
        }
        guard noRepeatNgramSize >= 0 else { throw bad("no_repeat_ngram_size must be at least 0, found \(noRepeatNgramSize)") }
        guard repetitionPenalty > 0 && repetitionPenalty.isFinite else {
            throw bad("repetition_penalty must be positive and finite, found \(repetitionPenalty)")
        }
        if let b = suppressIDs.first(where: { $0 < 0 || $0 >= V }) {
            throw bad("suppress_ids holds \(b), outside the target vocabulary (0..<\(V))")
        }
        for (i, sequence) in suppressSequences.enumerated() {
            guard !sequence.isEmpty else { throw bad("suppress_sequences[\(i)] is empty") }
            if let b = sequence.first(where: { $0 < 0 || $0 >= V }) {
                throw bad("suppress_sequences[\(i)] holds \(b), outside the target vocabulary (0..<\(V))")
            }
        }
        guard maxLengthA >= 0 && maxLengthA.isFinite else {
            throw bad("max_length_a must be at least 0 and finite, found \(maxLengthA)")
        }
        guard maxLengthB >= 0 && maxLengthB <= Self.maxGeneratedLength else {
            throw bad("max_length_b must be between 0 and \(Self.maxGeneratedLength), found \(maxLengthB)")
        }
        if let m = maxInputLength {
            guard m >= 1 && m <= Self.maxSourceLength else {
                throw bad("max_input_length must be between 1 and \(Self.maxSourceLength), found \(m)")
            }
        }
    }

    /// The options of MODEL.md "Decoding options" that depend on the model: `eos` may not be suppressed
    /// (`min_length` delays it), the beam fits in the tokens left to choose, and a cut source still fits.
    func validateDecodingControls(for config: ModelConfig) throws {
        let eos = config.specialTokens.eos
        if suppressIDs.contains(eos) {
            throw Seq2SeqError.invalidOptions("suppress_ids may not hold eos (\(eos)); use min_length to delay it")
        }
        for (i, sequence) in suppressSequences.enumerated() where sequence.contains(eos) {
            throw Seq2SeqError.invalidOptions("suppress_sequences[\(i)] may not hold eos (\(eos))")
        }
        let excluded = excludedIDs(config)
        if excluded.count > config.suppressIDs.count || disableUnk {
            let choosable = config.targetVocabSize - excluded.union([eos]).count
            guard choosable >= 1 else {
                throw Seq2SeqError.invalidOptions("suppress_ids\(disableUnk ? " and disable_unk" : "") leave no token but eos to choose")
            }
            guard beamSize <= choosable else {
                throw Seq2SeqError.invalidOptions("beam size \(beamSize) exceeds the \(choosable) tokens left to choose (the target vocabulary less suppress_ids, unk with disable_unk, and eos)")
            }
        }
        if let m = maxInputLength, config.sourceAppendEOS, m + 1 > Self.maxSourceLength {
            throw Seq2SeqError.invalidOptions("max_input_length \(m) and the eos the model appends exceed the source limit of \(Self.maxSourceLength)")
        }
    }

    /// Every id the ranking never chooses, whatever the hypothesis: the model's `suppress_ids`, these
    /// options' `suppressIDs`, single-id `suppressSequences`, and `unk` with `disableUnk`. Sorted.
    func excludedIDs(_ config: ModelConfig) -> Set<Int> {
        var ids = Set(config.suppressIDs).union(suppressIDs)
        for s in suppressSequences where s.count == 1 { ids.insert(s[0]) }
        if disableUnk, let unk = config.specialTokens.unk { ids.insert(unk) }
        return ids
    }

    /// Checks one input against a model and these options (MODEL.md "Target prefix"): prefix ids inside the
    /// target vocabulary, no `eos`, at most the step limit of its source (`encodedLength` tokens as encoded).
    func validate(prefix: [Int], encodedLength: Int, config: ModelConfig) throws {
        let V = config.targetVocabSize
        if let b = prefix.first(where: { $0 < 0 || $0 >= V }) {
            throw Seq2SeqError.invalidInput("target_prefix id \(b) is outside the target vocabulary (0..<\(V))")
        }
        if prefix.contains(config.specialTokens.eos) {
            throw Seq2SeqError.invalidInput("target_prefix may not hold eos (\(config.specialTokens.eos))")
        }
        let limit = maxSteps(sourceLength: encodedLength)
        guard prefix.count <= limit else {
            throw Seq2SeqError.invalidInput("target_prefix of \(prefix.count) tokens is longer than the max length \(limit)")
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// MODEL.md "Random stream": SplitMix64, one stream per (seed, sentence, sample).
struct RandomStream {
    var state: UInt64

    init(state: UInt64) { self.state = state }

    /// SplitMix64's output function.
    @inline(__always) static func mix(_ z0: UInt64) -> UInt64 {
        var z = z0
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The stream of sample `j` of sentence `n`: state `mix(mix(mix(seed) + n) + j)`.
    init(seed: UInt64, sentence n: Int, sample j: Int) {
        state = Self.mix(Self.mix(Self.mix(seed) &+ UInt64(truncatingIfNeeded: n)) &+ UInt64(truncatingIfNeeded: j))
    }

    /// The next 64 bits: `state += 0x9E3779B97F4A7C15`, then `mix(state)`.
    @inline(__always) mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// A uniform draw in [0, 1): the top 53 bits of `next()` times 2⁻⁵³.
    @inline(__always) mutating func uniform() -> Double {
        Double(next() >> 11) * 0x1p-53
    }
}
