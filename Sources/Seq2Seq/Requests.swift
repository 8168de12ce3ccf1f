/// Parsing of the command line's JSONL requests (MODEL.md "Command line"), kept in the library so that
/// other front ends and the fuzzers use the same code.
public enum Requests {
    /// Turns a side's text into ids (for the subword kinds, `Seq2SeqText`'s `ModelTokenizer.ids(for:)`).
    public typealias TextToIDs = (String) throws -> [Int]

    /// A `translate` line: `{"source_ids": [..]}` or `{"source": "text"}`. Returns valid source ids.
    /// Source text goes through `sourceText`, or the model's own `sourceIDs(for:)` when nil.
    ///
    /// - Throws: `invalidInput` with a message naming the problem (not the line number; the caller adds it).
    public static func translateSource(_ line: UnsafeRawBufferPointer, model: Seq2SeqModel,
                                       sourceText: TextToIDs? = nil) throws -> [Int] {
        let object = try parseObject(line, allowed: ["source_ids", "source"])
        let ids = try source(object, model: model, text: sourceText)
        try model.validate(source: ids)
        return ids
    }

    /// A `score` line: `{"source_ids": [..], "target_ids": [..]}` (or `source` / `target` text).
    /// Text goes through `sourceText` / `targetText`, or the model's own `sourceIDs(for:)` / `targetIDs(for:)`.
    public static func scorePair(_ line: UnsafeRawBufferPointer, model: Seq2SeqModel, sourceText: TextToIDs? = nil,
                                 targetText: TextToIDs? = nil) throws -> (source: [Int], target: [Int]) {
        let object = try parseObject(line, allowed: ["source_ids", "source", "target_ids", "target"])
        let src = try source(object, model: model, text: sourceText)
        try model.validate(source: src)
        let tgt: [Int]
        switch (object["target_ids"], object["target"]) {
        case (.some(let v), nil): tgt = try ids(v, key: "target_ids")
        case (nil, .some(.string(let text))): tgt = try targetText?(text) ?? model.targetIDs(for: text)
        case (nil, .some(let v)): throw Seq2SeqError.invalidInput("\"target\" must be a string, found \(v.kindName)")
        case (.some, .some): throw Seq2SeqError.invalidInput("give either \"target_ids\" or \"target\", not both")
        case (nil, nil): throw Seq2SeqError.invalidInput("missing \"target_ids\" (or \"target\")")
        }
        try model.validate(target: tgt)
        return (src, tgt)
    }

    static func parseObject(_ line: UnsafeRawBufferPointer, allowed: Set<String>) throws -> JSONValue {
        let value: JSONValue
        do { value = try JSONValue.parse(line) } catch {
            throw Seq2SeqError.invalidInput("not valid JSON: \(error)")
        }
        guard case .object(let members) = value else {
            throw Seq2SeqError.invalidInput("expected a JSON object, found \(value.kindName)")
        }
        for (k, _) in members where !allowed.contains(k) {
            throw Seq2SeqError.invalidInput("unknown key \"\(k)\" (expected \(allowed.sorted().joined(separator: " or ")))")
        }
        return value
    }

    static func source(_ object: JSONValue, model: Seq2SeqModel, text tokenize: TextToIDs?) throws -> [Int] {
        switch (object["source_ids"], object["source"]) {
        case (.some(let v), nil): return try ids(v, key: "source_ids")
        case (nil, .some(.string(let text))): return try tokenize?(text) ?? model.sourceIDs(for: text)
        case (nil, .some(let v)): throw Seq2SeqError.invalidInput("\"source\" must be a string, found \(v.kindName)")
        case (.some, .some): throw Seq2SeqError.invalidInput("give either \"source_ids\" or \"source\", not both")
        case (nil, nil): throw Seq2SeqError.invalidInput("missing \"source_ids\" (or \"source\")")
        }
    }

    static func ids(_ v: JSONValue, key: String) throws -> [Int] {
        guard case .array(let items) = v else {
            throw Seq2SeqError.invalidInput("\"\(key)\" must be an array of integers, found \(v.kindName)")
        }
        return try items.enumerated().map { i, item in
            if case .int(let id) = item { return id }
            if case .double(let d) = item, d == d.rounded(), abs(d) < 1e15 { return Int(d) }
            throw Seq2SeqError.invalidInput("\"\(key)\"[\(i)] must be an integer, found \(item.kindName)")
        }
    }
}

extension Seq2SeqModel {
    /// Checks a source: not empty, at most `DecodingOptions.maxSourceLength` tokens, ids inside the source vocabulary.
    public func validate(source ids: [Int]) throws {
        guard !ids.isEmpty else { throw Seq2SeqError.invalidInput("empty source") }
        let encoded = ids.count + (config.sourceAppendEOS ? 1 : 0)
        guard encoded <= DecodingOptions.maxSourceLength else {
            throw Seq2SeqError.invalidInput("source of \(encoded) tokens\(config.sourceAppendEOS ? " (eos appended)" : "") exceeds the limit of \(DecodingOptions.maxSourceLength)")
        }
        let V = config.sourceVocabSize
        if let bad = ids.first(where: { $0 < 0 || $0 >= V }) {
            throw Seq2SeqError.invalidInput("source id \(bad) is outside the source vocabulary (0..<\(V))")
        }
    }

    /// The sources as the encoder reads them: with `source_append_eos`, each with the `eos` id appended.
    public func encoderInputs(_ sources: [[Int]]) -> [[Int]] {
        guard config.sourceAppendEOS else { return sources }
        return sources.map { $0 + [config.specialTokens.eos] }
    }

    /// Checks target ids for scoring: at most `DecodingOptions.maxGeneratedLength`, inside the target vocabulary.
    public func validate(target ids: [Int]) throws {
        guard ids.count <= DecodingOptions.maxGeneratedLength else {
            throw Seq2SeqError.invalidInput("target of \(ids.count) tokens exceeds the limit of \(DecodingOptions.maxGeneratedLength)")
        }
        let V = config.targetVocabSize
        if let bad = ids.first(where: { $0 < 0 || $0 >= V }) {
            throw Seq2SeqError.invalidInput("target id \(bad) is outside the target vocabulary (0..<\(V))")
        }
    }
}
