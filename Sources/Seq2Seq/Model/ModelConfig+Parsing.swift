extension ModelConfig {
    /// Parses and validates `config.json` text.
    public static func parse(json text: String) throws -> ModelConfig {
        let value: JSONValue
        do { value = try JSONValue.parse(text) } catch {
            throw Seq2SeqError.invalidModel("config.json is not valid JSON: \(error)")
        }
        var reader = try ConfigReader(value)
        let format: String = try reader.string("format")
        guard format == "seq2seq-rnn" else {
            throw Seq2SeqError.invalidModel("config.json: format must be \"seq2seq-rnn\", found \"\(format)\"")
        }
        let version = try reader.int("format_version")
        guard version == 1 || version == 2 else {
            throw Seq2SeqError.invalidModel("config.json: format_version \(version) is not supported (expected 1 or 2)")
        }
        var config = ModelConfig(
            cell: try reader.enumeration("cell"),
            sourceVocabSize: try reader.int("source_vocab_size"),
            targetVocabSize: try reader.int("target_vocab_size"),
            embeddingSize: try reader.int("embedding_size"),
            hiddenSize: try reader.int("hidden_size"),
            encoderLayers: try reader.int("encoder_layers"),
            decoderLayers: try reader.int("decoder_layers"),
            bidirectionalEncoder: try reader.bool("bidirectional_encoder"),
            bridge: try reader.enumeration("bridge"),
            attention: try reader.enumeration("attention"),
            attentionSize: try reader.optionalInt("attention_size"),
            tieTargetEmbeddings: try reader.bool("tie_target_embeddings"))
        // Format 2 may leave `tokenizer` out when both sides have their own (checked below).
        let tokenizer: Tokenizer? = version == 1 ? try reader.enumeration("tokenizer") : try reader.optionalEnumeration("tokenizer")
        if let special = try reader.optional("special_tokens") {
            var sub = try ConfigReader(special, prefix: "special_tokens.")
            if version == 1 {
                config.specialTokens = SpecialTokens(pad: try sub.int("pad"), bos: try sub.int("bos"),
                                                     eos: try sub.int("eos"), unk: try sub.int("unk"))
            } else {
                config.specialTokens = SpecialTokens(pad: try sub.optionalInt("pad"), bos: try sub.int("bos"),
                                                     eos: try sub.int("eos"), unk: try sub.optionalInt("unk"))
            }
            try sub.finish()
        }
        if version == 2 {
            config.encoderHiddenSize = try reader.optionalInt("encoder_hidden_size")
            config.bridgeInput = try reader.optionalEnumeration("bridge_input") ?? .summary
            config.bridgeActivation = try reader.optionalEnumeration("bridge_activation") ?? .tanh
            config.bridgeCell = try reader.optionalEnumeration("bridge_cell") ?? .zeros
            config.decoderInputFeed = try reader.optionalEnumeration("decoder_input_feed")
            config.combineActivation = try reader.optionalEnumeration("combine_activation") ?? .tanh
            config.decoderEmbeddingActivation = try reader.optionalEnumeration("decoder_embedding_activation") ?? .none
            config.outputProjectionSize = try reader.optionalInt("output_projection_size")
            config.sourceAppendEOS = try reader.optionalBool("source_append_eos") ?? false
            config.suppressIDs = try reader.optionalIntArray("suppress_ids") ?? []
            config.detokenizeSkipIDs = try reader.optionalIntArray("detokenize_skip_ids") ?? []
            for side in Side.allCases {
                guard let v = try reader.optional(side.key), v != .null else { continue }
                let t = try ModelConfig.parseTokenizer(v, key: side.key)
                if side == .source { config.sourceTokenizer = t } else { config.targetTokenizer = t }
            }
            if let d = try reader.optional("decoding_defaults") {
                var sub = try ConfigReader(d, prefix: "decoding_defaults.")
                config.decodingDefaults = DecodingDefaults(beamSize: try sub.optionalInt("beam_size"),
                                                           minLength: try sub.optionalInt("min_length"))
                try sub.finish()
            }
        }
        if let tokenizer {
            config.tokenizer = tokenizer
        } else if config.sourceTokenizer == nil || config.targetTokenizer == nil {
            throw Seq2SeqError.invalidModel("config.json: missing key tokenizer (it may be left out only when source_tokenizer and target_tokenizer are both given)")
        }
        config.formatVersion = version
        if let q = try reader.optional("quantization"), q != .null { config.quantization = try StoredQuantization.parse(q) }
        try reader.finish(version: version)
        try config.validate()
        return config
    }

    /// The configuration as `config.json` text (keys in MODEL.md's order; format-2 keys only when set).
    public var jsonText: String {
        var lines: [String] = []
        func add(_ key: String, _ value: String) { lines.append("  \"\(key)\": \(value)") }
        func str(_ s: String) -> String { "\"\(s)\"" }
        add("format", str("seq2seq-rnn"))
        add("format_version", "\(formatVersion)")
        add("cell", str(cell.rawValue))
        add("source_vocab_size", "\(sourceVocabSize)")
        add("target_vocab_size", "\(targetVocabSize)")
        add("embedding_size", "\(embeddingSize)")
        add("hidden_size", "\(hiddenSize)")
        if let he = encoderHiddenSize { add("encoder_hidden_size", "\(he)") }
        add("encoder_layers", "\(encoderLayers)")
        add("decoder_layers", "\(decoderLayers)")
        add("bidirectional_encoder", "\(bidirectionalEncoder)")
        add("bridge", str(bridge.rawValue))
        if bridge == .linear {
            add("bridge_input", str(bridgeInput.rawValue))
            add("bridge_activation", str(bridgeActivation.rawValue))
            add("bridge_cell", str(bridgeCell.rawValue))
        }
        add("attention", str(attention.rawValue))
        if let a = attentionSize { add("attention_size", "\(a)") }
        if let f = decoderInputFeed { add("decoder_input_feed", str(f.rawValue)) }
        if combineActivation != .tanh { add("combine_activation", str(combineActivation.rawValue)) }
        if decoderEmbeddingActivation != .none { add("decoder_embedding_activation", str(decoderEmbeddingActivation.rawValue)) }
        if let o = outputProjectionSize { add("output_projection_size", "\(o)") }
        add("tie_target_embeddings", "\(tieTargetEmbeddings)")
        if sourceAppendEOS { add("source_append_eos", "true") }
        if !suppressIDs.isEmpty { add("suppress_ids", "[\(suppressIDs.map(String.init).joined(separator: ", "))]") }
        if !detokenizeSkipIDs.isEmpty { add("detokenize_skip_ids", "[\(detokenizeSkipIDs.map(String.init).joined(separator: ", "))]") }
        // Left out only when both sides have their own tokenizer and it is the default.
        if sourceTokenizer == nil || targetTokenizer == nil || tokenizer != .whitespace {
            add("tokenizer", str(tokenizer.rawValue))
        }
        if let t = sourceTokenizer { add("source_tokenizer", t.jsonText) }
        if let t = targetTokenizer { add("target_tokenizer", t.jsonText) }
        let s = specialTokens
        let special = [("pad", s.pad), ("bos", s.bos), ("eos", s.eos), ("unk", s.unk)]
            .compactMap { k, v in v.map { "\"\(k)\": \($0)" } }
        add("special_tokens", "{\(special.joined(separator: ", "))}")
        if decodingDefaults != DecodingDefaults() {
            let d = [("beam_size", decodingDefaults.beamSize), ("min_length", decodingDefaults.minLength)]
                .compactMap { k, v in v.map { "\"\(k)\": \($0)" } }
            add("decoding_defaults", "{\(d.joined(separator: ", "))}")
        }
        if let q = quantization { add("quantization", q.jsonText) }
        return "{\n" + lines.joined(separator: ",\n") + "\n}\n"
    }
}

/// Reads typed values from a JSON object, remembering which keys were used so
/// that `finish()` can reject the rest.
private struct ConfigReader {
    let members: [(String, JSONValue)]
    let prefix: String
    var used = Set<String>()

    /// Keys that format 2 adds: in a format-1 file they are named as such in the error.
    static let format2Keys: Set<String> = [
        "encoder_hidden_size", "bridge_input", "bridge_activation", "bridge_cell", "decoder_input_feed",
        "combine_activation", "decoder_embedding_activation", "output_projection_size", "source_append_eos",
        "suppress_ids", "detokenize_skip_ids", "decoding_defaults", "source_tokenizer", "target_tokenizer",
    ]

    init(_ value: JSONValue, prefix: String = "") throws {
        guard case .object(let m) = value else {
            throw Seq2SeqError.invalidModel("config.json: \(prefix.isEmpty ? "the file" : String(prefix.dropLast())) must be a JSON object, found \(value.kindName)")
        }
        members = m
        self.prefix = prefix
    }

    func fail(_ key: String, _ m: String) -> Seq2SeqError { .invalidModel("config.json: \(prefix)\(key) \(m)") }

    mutating func raw(_ key: String) -> JSONValue? {
        used.insert(key)
        return members.first { $0.0 == key }?.1
    }

    mutating func required(_ key: String) throws -> JSONValue {
        guard let v = raw(key) else { throw Seq2SeqError.invalidModel("config.json: missing key \(prefix)\(key)") }
        return v
    }

    mutating func int(_ key: String) throws -> Int {
        let v = try required(key)
        if case .int(let i) = v { return i }
        if case .double(let d) = v, d == d.rounded(), abs(d) < 1e15 { return Int(d) }
        throw fail(key, "must be an integer, found \(v.kindName)")
    }

    mutating func optionalInt(_ key: String) throws -> Int? {
        guard let v = raw(key), v != .null else { return nil }
        if case .int(let i) = v { return i }
        throw fail(key, "must be an integer, found \(v.kindName)")
    }

    mutating func bool(_ key: String) throws -> Bool {
        let v = try required(key)
        guard case .bool(let b) = v else { throw fail(key, "must be true or false, found \(v.kindName)") }
        return b
    }

    mutating func optionalBool(_ key: String) throws -> Bool? {
        guard let v = raw(key), v != .null else { return nil }
        guard case .bool(let b) = v else { throw fail(key, "must be true or false, found \(v.kindName)") }
        return b
    }

    mutating func string(_ key: String) throws -> String {
        let v = try required(key)
        guard case .string(let s) = v else { throw fail(key, "must be a string, found \(v.kindName)") }
        return s
    }

    mutating func enumeration<E: RawRepresentable & CaseIterable>(_ key: String) throws -> E where E.RawValue == String {
        let s = try string(key)
        guard let e = E(rawValue: s) else {
            throw fail(key, "has unknown value \"\(s)\" (expected one of \(E.allCases.map { $0.rawValue }.joined(separator: ", ")))")
        }
        return e
    }

    mutating func optionalEnumeration<E: RawRepresentable & CaseIterable>(_ key: String) throws -> E? where E.RawValue == String {
        guard let v = raw(key), v != .null else { return nil }
        used.remove(key)
        return try enumeration(key) as E
    }

    mutating func optionalIntArray(_ key: String) throws -> [Int]? {
        guard let v = raw(key), v != .null else { return nil }
        guard case .array(let items) = v, items.count <= 1 << 20 else {
            throw fail(key, "must be an array of integers, found \(v.kindName)")
        }
        return try items.enumerated().map { i, item in
            guard case .int(let id) = item else { throw fail("\(key)[\(i)]", "must be an integer, found \(item.kindName)") }
            return id
        }
    }

    mutating func optional(_ key: String) throws -> JSONValue? { raw(key) }

    func finish(version: Int = 2) throws {
        for (k, _) in members where !used.contains(k) {
            if version == 1 && prefix.isEmpty && Self.format2Keys.contains(k) {
                throw Seq2SeqError.invalidModel("config.json: key \(k) belongs to format 2; set \"format_version\": 2 to use it")
            }
            throw Seq2SeqError.invalidModel("config.json: unknown key \(prefix)\(k)")
        }
    }
}
