import Hummingbird
import Seq2Seq
import Seq2SeqText

/// An error answered to the client: a status, a message that names the field or limit, and a kind.
public struct APIError: Error, Sendable {
    public var status: HTTPResponse.Status
    public var message: String
    /// `invalid` (400), `too_large` (413), `limit` (422), `overloaded` (503), `timeout` (504),
    /// `shutting_down` (503), `not_found` (404), `cancelled`.
    public var kind: String
    public var retryAfter: Int?

    static func invalid(_ m: String) -> APIError { APIError(status: .badRequest, message: m, kind: "invalid") }
    static func limit(_ m: String) -> APIError { APIError(status: .unprocessableContent, message: m, kind: "limit") }

    init(status: HTTPResponse.Status, message: String, kind: String, retryAfter: Int? = nil) {
        self.status = status
        self.message = message
        self.kind = kind
        self.retryAfter = retryAfter
    }

    init(_ e: WorkerError) {
        switch e {
        case .queueFull(let limit):
            self.init(status: .serviceUnavailable, message: "the queue is full (\(limit) sentences waiting); retry later",
                      kind: "overloaded", retryAfter: 1)
        case .timeout(let s):
            self.init(status: .gatewayTimeout, message: "the request did not finish within its deadline of \(s) s", kind: "timeout")
        case .shuttingDown:
            self.init(status: .serviceUnavailable, message: "the server is shutting down", kind: "shutting_down", retryAfter: 1)
        case .cancelled:
            self.init(status: .init(code: 499, reasonPhrase: "Client Closed Request"), message: "cancelled", kind: "cancelled")
        case .invalid(let m):
            self.init(status: .badRequest, message: m, kind: "invalid")
        }
    }

    var body: String { JSON.object([("error", JSON.string(message)), ("type", JSON.string(kind))]) }
}

/// A parsed `POST /v1/score` body.
struct ScoreRequest {
    var model: String?
    var sources: [[Int]]
    var targets: [[Int]]
}

/// Request parsing with messages that name the field; limits from the configuration.
enum API {
    /// The decoding options of `/v1/translate`: the CLI's JSONL keys (`Requests.optionKeys`), `target_prefix`
    /// and `attention` (the CLI's `--attention`).
    static let optionKeys: Set<String> = Set(Requests.optionKeys + ["target_prefix", "attention"])
    static let translateKeys: Set<String> = Set(["text", "source_ids", "model"]).union(optionKeys)
    static let scoreKeys: Set<String> = ["text", "source_ids", "target", "target_ids", "model"]

    static func object(_ bytes: [UInt8], allowed: Set<String>) throws -> JSONValue {
        let value: JSONValue
        do { value = try bytes.withUnsafeBytes { try JSONValue.parse($0) } } catch {
            throw APIError.invalid("the body is not valid JSON: \(error)")
        }
        guard case .object(let members) = value else { throw APIError.invalid("the body must be a JSON object, found \(value.kindName)") }
        for (k, _) in members where !allowed.contains(k) {
            throw APIError.invalid("unknown field \"\(k)\" (expected one of \(allowed.sorted().joined(separator: ", ")))")
        }
        return value
    }

    static func modelName(_ o: JSONValue) throws -> String? {
        switch o["model"] {
        case nil, .some(.null): return nil
        case .some(.string(let s)): return s
        case .some(let v): throw APIError.invalid("\"model\" must be a string, found \(v.kindName)")
        }
    }

    static func int(_ o: JSONValue, _ key: String) throws -> Int? {
        switch o[key] {
        case nil, .some(.null): return nil
        case .some(.int(let i)): return i
        case .some(.double(let d)) where d == d.rounded() && abs(d) < 1e15: return Int(d)
        case .some(let v): throw APIError.invalid("\"\(key)\" must be an integer, found \(v.kindName)")
        }
    }

    static func double(_ o: JSONValue, _ key: String) throws -> Double? {
        switch o[key] {
        case nil, .some(.null): return nil
        case .some(.int(let i)): return Double(i)
        case .some(.double(let d)): return d
        case .some(let v): throw APIError.invalid("\"\(key)\" must be a number, found \(v.kindName)")
        }
    }

    static func bool(_ o: JSONValue, _ key: String) throws -> Bool? {
        switch o[key] {
        case nil, .some(.null): return nil
        case .some(.bool(let b)): return b
        case .some(let v): throw APIError.invalid("\"\(key)\" must be true or false, found \(v.kindName)")
        }
    }

    /// `[[ids]]` under `key`, each id an integer.
    static func idLists(_ v: JSONValue, key: String) throws -> [[Int]] {
        guard case .array(let items) = v else { throw APIError.invalid("\"\(key)\" must be an array of arrays of integers, found \(v.kindName)") }
        return try items.enumerated().map { i, item in
            guard case .array(let ids) = item else { throw APIError.invalid("\"\(key)\"[\(i)] must be an array of integers, found \(item.kindName)") }
            return try ids.enumerated().map { j, id in
                if case .int(let x) = id { return x }
                if case .double(let d) = id, d == d.rounded(), abs(d) < 1e15 { return Int(d) }
                throw APIError.invalid("\"\(key)\"[\(i)][\(j)] must be an integer, found \(id.kindName)")
            }
        }
    }

    /// `["text", ...]` (or one string) under `key`.
    static func texts(_ v: JSONValue, key: String) throws -> [String] {
        if case .string(let s) = v { return [s] }
        guard case .array(let items) = v else { throw APIError.invalid("\"\(key)\" must be an array of strings, found \(v.kindName)") }
        return try items.enumerated().map { i, item in
            guard case .string(let s) = item else { throw APIError.invalid("\"\(key)\"[\(i)] must be a string, found \(item.kindName)") }
            return s
        }
    }

    /// The sources of a request: `text` (tokenized by the model) or `source_ids`; checked against the limits.
    /// With `maxInputLength`, longer sources are cut by the engine (with a warning): the limit applies to what it keeps.
    static func sources(_ o: JSONValue, textKey: String, idsKey: String, text: ModelText, config: ServerConfiguration,
                        maxInputLength: Int? = nil) throws -> [[Int]] {
        let count: Int
        switch (o[textKey], o[idsKey]) {
        case (.some(let v), nil):
            if case .array(let a) = v { count = a.count } else { count = 1 }
            try checkCount(count, key: textKey, config: config)
            let t = try texts(v, key: textKey)
            return try t.enumerated().map { i, s in
                guard s.utf8.count <= config.maxSourceTokens * 64 else {
                    throw APIError.limit("\"\(textKey)\"[\(i)] is longer than the limit of \(config.maxSourceTokens) tokens")
                }
                let ids: [Int]
                do { ids = try text.source.ids(for: s) } catch {
                    throw APIError.invalid("\"\(textKey)\"[\(i)]: \((error as? Seq2SeqError)?.message ?? "\(error)")")
                }
                try check(ids, key: textKey, index: i, model: text.model, config: config, maxInputLength: maxInputLength)
                return ids
            }
        case (nil, .some(let v)):
            if case .array(let a) = v { count = a.count } else { count = 0 }
            try checkCount(count, key: idsKey, config: config)
            let lists = try idLists(v, key: idsKey)
            for (i, ids) in lists.enumerated() {
                try check(ids, key: idsKey, index: i, model: text.model, config: config, maxInputLength: maxInputLength)
            }
            return lists
        case (.some, .some): throw APIError.invalid("give either \"\(textKey)\" or \"\(idsKey)\", not both")
        case (nil, nil): throw APIError.invalid("missing \"\(textKey)\" (or \"\(idsKey)\")")
        }
    }

    static func checkCount(_ n: Int, key: String, config: ServerConfiguration) throws {
        guard n >= 1 else { throw APIError.invalid("\"\(key)\" must hold at least one sentence") }
        guard n <= config.maxSentences else {
            throw APIError.limit("\"\(key)\" holds \(n) sentences, more than the limit of \(config.maxSentences) per request")
        }
    }

    static func check(_ ids: [Int], key: String, index i: Int, model: Seq2SeqModel, config: ServerConfiguration,
                      maxInputLength: Int? = nil) throws {
        guard !ids.isEmpty else { throw APIError.invalid("\"\(key)\"[\(i)] is an empty source") }
        guard min(ids.count, maxInputLength ?? .max) <= config.maxSourceTokens else {
            throw APIError.limit("\"\(key)\"[\(i)] has \(ids.count) tokens, more than the limit of \(config.maxSourceTokens)")
        }
        let V = model.config.sourceVocabSize
        if let bad = ids.first(where: { $0 < 0 || $0 >= V }) {
            throw APIError.invalid("\"\(key)\"[\(i)]: source id \(bad) is outside the source vocabulary (0..<\(V))")
        }
    }

    /// The decoding options of a request (the CLI's JSONL keys, `attention`), with the model's defaults and the
    /// CLI's (beam 5), checked against the server's limits (422) and the engine's rules (400); and whether
    /// `return_scores` was asked.
    static func options(_ o: JSONValue, model: Seq2SeqModel, config: ServerConfiguration) throws -> (DecodingOptions, Bool) {
        let d = model.config.decodingDefaults
        var options = DecodingOptions(beamSize: d.beamSize ?? 5, minLength: d.minLength ?? 0)
        let scores: Bool?
        do { scores = try Requests.applyOptions(o, to: &options) } catch let e as Seq2SeqError { throw APIError.invalid(e.message) }
        options.returnAttention = try bool(o, "attention") ?? false
        // Sampling without a beam_size of its own samples (a beam of one), as on the CLI.
        if options.isSampling && o["beam_size"] == nil { options.beamSize = 1 }
        let beam = options.beamSize, nBest = options.nBest
        guard beam >= 1 else { throw APIError.invalid("\"beam_size\" must be at least 1, found \(beam)") }
        guard beam <= min(config.maxBeamSize, config.maxBatchRows) else {
            throw APIError.limit("\"beam_size\" \(beam) is more than the limit of \(min(config.maxBeamSize, config.maxBatchRows))")
        }
        if options.isSampling {
            guard nBest <= config.maxBatchRows else {
                throw APIError.limit("\"n_best\" \(nBest) (samples) is more than the limit of \(config.maxBatchRows) rows")
            }
        } else if nBest < 1 || nBest > beam {
            throw APIError.invalid("\"n_best\" must be between 1 and the beam size \(beam), found \(nBest)")
        }
        for (key, value) in [("max_length", options.maxLength), ("min_length", options.minLength), ("max_length_b", options.maxLengthB)] {
            guard let m = value else { continue }
            guard m <= config.maxGeneratedLength else {
                throw APIError.limit("\"\(key)\" \(m) is more than the limit of \(config.maxGeneratedLength)")
            }
        }
        do { try options.validate(for: model.config) } catch let e as Seq2SeqError {
            throw APIError.invalid("options: \(e.message)")
        }
        return (options, scores ?? false)
    }

    /// The target prefixes of a request's `count` sentences: `"target_prefix"` as one text or one list of ids (for
    /// every sentence), or a list of texts or of id lists (one per sentence); none when absent.
    static func prefixes(_ o: JSONValue, count: Int, text: ModelText) throws -> [[Int]] {
        let key = "target_prefix"
        func ids(_ s: String, _ what: String) throws -> [Int] {
            do { return try text.targetIDs(for: s) } catch {
                throw APIError.invalid("\(what): \((error as? Seq2SeqError)?.message ?? "\(error)")")
            }
        }
        switch o[key] {
        case nil, .some(.null): return [[Int]](repeating: [], count: count)
        case .some(.string(let s)): return [[Int]](repeating: try ids(s, "\"\(key)\""), count: count)
        case .some(.array(let items)) where items.allSatisfy({ if case .int = $0 { true } else { false } }) && !items.isEmpty:
            return [[Int]](repeating: try idLists(.array([.array(items)]), key: key)[0], count: count)
        case .some(.array(let items)):
            guard items.count == count else {
                throw APIError.invalid("\"\(key)\" holds \(items.count) prefixes for \(count) sentences (give one, or one per sentence)")
            }
            return try items.enumerated().map { i, item in
                if case .string(let s) = item { return try ids(s, "\"\(key)\"[\(i)]") }
                return try idLists(.array([item]), key: key)[0]
            }
        case .some(let v): throw APIError.invalid("\"\(key)\" must be a string, an array of ids, or one of either per sentence; found \(v.kindName)")
        }
    }

    /// Without `max_length`, the step limit is `⌊max_length_a · S⌋ + max_length_b` (`2·S + 10` by default, S the
    /// source as encoded, cut to `max_input_length`): it must stay within the server's limit too.
    static func checkImplicitLength(_ sources: [[Int]], options: DecodingOptions, model: Seq2SeqModel, config: ServerConfiguration) throws {
        guard options.maxLength == nil, let longest = sources.map({ min($0.count, options.maxInputLength ?? .max) }).max() else { return }
        let steps = options.maxSteps(sourceLength: longest + (model.config.sourceAppendEOS ? 1 : 0))
        if steps > config.maxGeneratedLength {
            throw APIError.limit("a source of \(longest) tokens allows \(steps) generated tokens (max_length_a · S + max_length_b), more than the limit of \(config.maxGeneratedLength); give \"max_length\"")
        }
    }
}

/// The server's JSON: the command line's (`JSONOutput`), plus arrays of encoded values and result lines.
typealias JSON = JSONOutput

extension JSONOutput {
    static func array(_ a: [String]) -> String { "[" + a.joined(separator: ", ") + "]" }

    /// The CLI's JSONL fields of a hypothesis (`ids`, `tokens`, `log_prob`, `score`, `attention`), plus `text`.
    static func hypothesis(_ h: Hypothesis, text: ModelText, attention: Bool, scores: Bool = false) -> [(String, String)] {
        hypothesis(h, text: (try? text.detokenize(h.ids)) ?? text.model.detokenize(h.ids), attention: attention, scores: scores)
    }

    /// One result line of `/v1/translate`: the best hypothesis's fields, `n_best` when more than one was asked,
    /// and `warnings` when there are any (the CLI's JSONL line).
    static func translation(_ t: Translation, nBest: Int, text: ModelText, attention: Bool, scores: Bool) -> String {
        var members = hypothesis(t.best, text: text, attention: attention, scores: scores)
        if nBest > 1 {
            members.append(("n_best", array(t.hypotheses.map { object(hypothesis($0, text: text, attention: attention, scores: scores)) })))
        }
        if !t.warnings.isEmpty { members.append(("warnings", strings(t.warnings))) }
        return object(members)
    }
}
