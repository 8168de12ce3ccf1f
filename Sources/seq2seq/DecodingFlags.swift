import ArgumentParser
import Seq2Seq

extension LengthPenaltyKind: ExpressibleByArgument {}

/// The command line's flags for MODEL.md "Decoding options": the options' names in kebab case.
struct DecodingFlags: ParsableArguments {
    @Option(name: .long, help: "Sample among the K most likely tokens (0: the whole vocabulary; 1, the default: greedy).")
    var samplingTopk: Int?

    @Option(name: .long, help: "Sample from the smallest set of most likely tokens whose probability reaches P (0 < P ≤ 1).")
    var samplingTopp: Double?

    @Option(name: .long, help: "Sampling temperature T > 0 (tokens drawn with probability ∝ exp(logit / T)).")
    var samplingTemperature: Double?

    @Option(name: .long, help: "Seed of the random streams (with each line's number; default 0).")
    var seed: UInt64?

    @Option(name: .long, help: "Text every translation starts with (tokenized with the target vocabulary); JSONL lines may give \"target_prefix\".")
    var targetPrefix: String?

    @Option(name: .long, help: "Never repeat an n-gram of this size (0: off).")
    var noRepeatNgramSize: Int?

    @Option(name: .long, help: "Penalize tokens already generated (CTranslate2's definition; 1: off).")
    var repetitionPenalty: Double?

    @Flag(name: .long, help: "Never generate the unknown token.")
    var disableUnk = false

    @Option(name: .long, help: "Target ids never generated, comma-separated (e.g. 5,9).")
    var suppressIds: String?

    @Option(name: .long, help: "A sequence of target ids never generated, comma-separated; repeat for more.")
    var suppressSequence: [String] = []

    @Option(name: .long, help: "Length normalization of scores: avg (log_prob / L^α), wu ((5 + L) / 6)^α) or none.")
    var lengthPenaltyKind: LengthPenaltyKind?

    @Option(name: .long, help: "Max length relative to the source: ⌊A·S⌋ + B (default A = 2, B = 10).")
    var maxLengthA: Double?

    @Option(name: .long, help: "See --max-length-a.")
    var maxLengthB: Int?

    @Option(name: .long, help: "Cut longer sources to their first N tokens, with a warning, instead of refusing them.")
    var maxInputLength: Int?

    @Flag(name: .long, help: "JSONL: give each token's log-probability (\"token_log_probs\").")
    var returnScores = false

    /// The ids of a comma-separated list, or a validation error naming the flag.
    static func ids(_ text: String, flag: String) throws -> [Int] {
        try text.split(separator: ",", omittingEmptySubsequences: false).map { part in
            guard let id = Int(part.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("\(flag): \"\(part)\" is not an integer id (give ids separated by commas)")
            }
            return id
        }
    }

    /// `options` with these flags applied.
    func apply(to options: inout DecodingOptions, maxLengthGiven: Bool) throws {
        if maxLengthGiven && (maxLengthA != nil || maxLengthB != nil) {
            throw ValidationError("give --max-length or --max-length-a/--max-length-b, not both")
        }
        if let v = samplingTopk { options.samplingTopK = v }
        if let v = samplingTopp { options.samplingTopP = v }
        if let v = samplingTemperature { options.samplingTemperature = v }
        if let v = seed { options.seed = v }
        if let v = noRepeatNgramSize { options.noRepeatNgramSize = v }
        if let v = repetitionPenalty { options.repetitionPenalty = v }
        if disableUnk { options.disableUnk = true }
        if let v = suppressIds { options.suppressIDs = try Self.ids(v, flag: "--suppress-ids") }
        options.suppressSequences = try suppressSequence.map { try Self.ids($0, flag: "--suppress-sequence") }
        if let v = lengthPenaltyKind { options.lengthPenaltyKind = v }
        if let v = maxLengthA { options.maxLengthA = v }
        if let v = maxLengthB { options.maxLengthB = v }
        if let v = maxInputLength { options.maxInputLength = v }
    }

    /// Why flags that only matter when sampling do nothing, if they do nothing.
    func samplingWarning(_ options: DecodingOptions) -> String? {
        guard !options.isSampling, samplingTopp != nil || samplingTemperature != nil || seed != nil else { return nil }
        return "--sampling-topp, --sampling-temperature and --seed only matter when sampling (--sampling-topk 0 or more than 1)"
    }
}
