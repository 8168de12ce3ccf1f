/// A `translate` JSONL line with its own decoding options (MODEL.md "Decoding options": "Per request").
public struct TranslateRequest: Sendable {
    /// The source, the target prefix (`"target_prefix"`, ids or text) and, left nil, the position.
    public var input: TranslationInput
    /// The caller's options with the line's own (snake-case keys) on top, validated against the model.
    public var options: DecodingOptions
    /// `"return_scores"` on the line, if given: whether to return each token's log-probability.
    public var returnScores: Bool?

    /// A request from its parts.
    public init(input: TranslationInput, options: DecodingOptions, returnScores: Bool? = nil) {
        self.input = input
        self.options = options
        self.returnScores = returnScores
    }
}

extension Requests {
    /// The decoding options a JSONL line may carry, by key.
    public static let optionKeys: [String] = [
        "beam_size", "n_best", "length_penalty", "length_penalty_kind", "max_length", "max_length_a", "max_length_b",
        "min_length", "sampling_topk", "sampling_topp", "sampling_temperature", "seed", "no_repeat_ngram_size",
        "repetition_penalty", "disable_unk", "suppress_ids", "suppress_sequences", "max_input_length", "return_scores",
    ]

    /// A `translate` line: `{"source_ids": [..]}` or `{"source": "text"}`, optionally `"target_prefix"` (ids or
    /// text) and any of `optionKeys`, which override `defaults`. Text is turned into ids by `sourceText` and
    /// `targetText` when given (subword models, through Seq2SeqText), else by the model's format-1 tokenizer.
    ///
    /// - Throws: `invalidInput` naming the key at fault, `invalidOptions` for options out of range.
    public static func translateRequest(_ line: UnsafeRawBufferPointer, model: Seq2SeqModel,
                                        defaults: DecodingOptions, sourceText: TextToIDs? = nil,
                                        targetText: TextToIDs? = nil) throws -> TranslateRequest {
        let object = try parseObject(line, allowed: Set(["source_ids", "source", "target_prefix"] + optionKeys))
        let source = try Self.source(object, model: model, text: sourceText)
        var options = defaults
        let returnScores = try applyOptions(object, to: &options)
        // A line that samples without a beam_size of its own samples (a beam of one).
        if options.isSampling && object["beam_size"] == nil { options.beamSize = 1 }
        try options.validate(for: model.config)
        // A source longer than max_input_length is cut by the translator (with a warning): check what it keeps.
        try model.validate(source: options.maxInputLength.map { Array(source.prefix($0)) } ?? source)
        var prefix: [Int] = []
        switch object["target_prefix"] {
        case nil, .null?: break
        case .string(let text)?: prefix = try targetText?(text) ?? model.targetIDs(for: text)
        case let v?: prefix = try ids(v, key: "target_prefix")
        }
        return TranslateRequest(input: TranslationInput(source: source, targetPrefix: prefix), options: options,
                                returnScores: returnScores)
    }

    /// Applies the decoding options of a JSON object (the keys of `optionKeys`, snake case, as on a `translate`
    /// JSONL line; other keys are ignored) on top of `options`, and returns its `"return_scores"`, if given.
    /// The options are not validated: call `DecodingOptions.validate(for:)` after.
    ///
    /// - Throws: `invalidInput` naming the key whose value has the wrong type.
    public static func applyOptions(_ object: JSONValue, to options: inout DecodingOptions) throws -> Bool? {
        guard case .object(let members) = object else { return nil }
        var returnScores: Bool?
        for (key, value) in members {
            func int() throws -> Int {
                if case .int(let i) = value { return i }
                throw Seq2SeqError.invalidInput("\"\(key)\" must be an integer, found \(value.kindName)")
            }
            func number() throws -> Double {
                switch value {
                case .int(let i): return Double(i)
                case .double(let d): return d
                default: throw Seq2SeqError.invalidInput("\"\(key)\" must be a number, found \(value.kindName)")
                }
            }
            func bool() throws -> Bool {
                if case .bool(let b) = value { return b }
                throw Seq2SeqError.invalidInput("\"\(key)\" must be true or false, found \(value.kindName)")
            }
            switch key {
            case "beam_size": options.beamSize = try int()
            case "n_best": options.nBest = try int()
            case "length_penalty": options.lengthPenalty = try number()
            case "length_penalty_kind":
                guard case .string(let s) = value, let kind = LengthPenaltyKind(rawValue: s) else {
                    throw Seq2SeqError.invalidInput("\"length_penalty_kind\" must be \"avg\", \"wu\" or \"none\"")
                }
                options.lengthPenaltyKind = kind
            case "max_length": options.maxLength = value == .null ? nil : try int()
            case "max_length_a": options.maxLengthA = try number(); options.maxLength = nil
            case "max_length_b": options.maxLengthB = try int(); options.maxLength = nil
            case "min_length": options.minLength = try int()
            case "sampling_topk": options.samplingTopK = try int()
            case "sampling_topp": options.samplingTopP = try number()
            case "sampling_temperature": options.samplingTemperature = try number()
            case "seed":
                let s = try int()
                guard s >= 0 else { throw Seq2SeqError.invalidInput("\"seed\" must be at least 0, found \(s)") }
                options.seed = UInt64(s)
            case "no_repeat_ngram_size": options.noRepeatNgramSize = try int()
            case "repetition_penalty": options.repetitionPenalty = try number()
            case "disable_unk": options.disableUnk = try bool()
            case "suppress_ids": options.suppressIDs = try ids(value, key: key)
            case "suppress_sequences":
                guard case .array(let items) = value else {
                    throw Seq2SeqError.invalidInput("\"suppress_sequences\" must be an array of arrays of ids, found \(value.kindName)")
                }
                options.suppressSequences = try items.enumerated().map { try ids($1, key: "suppress_sequences[\($0)]") }
            case "max_input_length": options.maxInputLength = value == .null ? nil : try int()
            case "return_scores": returnScores = try bool()
            default: break
            }
        }
        return returnScores
    }
}
