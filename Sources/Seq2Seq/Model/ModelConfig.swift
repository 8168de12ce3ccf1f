/// A model's `config.json` (MODEL.md, format version 1), parsed strictly:
/// unknown keys, wrong types and broken `requires` rules are errors that name the key.
public struct ModelConfig: Sendable, Equatable {
    /// The recurrent cell, as PyTorch's `nn.RNN` (tanh), `nn.GRU`, `nn.LSTM`.
    public enum Cell: String, Sendable, CaseIterable {
        case rnnTanh = "rnn_tanh", gru, lstm
        /// Gate blocks stacked in the weights: 1, 3 (r, z, n) or 4 (i, f, g, o).
        public var gates: Int { self == .rnnTanh ? 1 : self == .gru ? 3 : 4 }
    }
    /// How the decoder's initial state is made from the encoder's.
    public enum Bridge: String, Sendable, CaseIterable { case copy, linearTanh = "linear_tanh", zeros }
    /// The attention mechanism.
    public enum Attention: String, Sendable, CaseIterable {
        case none, bahdanau, luongDot = "luong_dot", luongGeneral = "luong_general", luongConcat = "luong_concat"
        /// Luong's global attention with input feeding.
        public var isLuong: Bool { self == .luongDot || self == .luongGeneral || self == .luongConcat }
    }
    /// How text becomes tokens.
    public enum Tokenizer: String, Sendable, CaseIterable { case whitespace, characters }
    /// Ids of the special tokens.
    public struct SpecialTokens: Sendable, Equatable {
        public var pad: Int, bos: Int, eos: Int, unk: Int
        public init(pad: Int = 0, bos: Int = 1, eos: Int = 2, unk: Int = 3) {
            self.pad = pad; self.bos = bos; self.eos = eos; self.unk = unk
        }
    }

    public var cell: Cell
    public var sourceVocabSize: Int
    public var targetVocabSize: Int
    public var embeddingSize: Int
    public var hiddenSize: Int
    public var encoderLayers: Int
    public var decoderLayers: Int
    public var bidirectionalEncoder: Bool
    public var bridge: Bridge
    public var attention: Attention
    /// Used by `bahdanau` and `luong_concat` only.
    public var attentionSize: Int?
    public var tieTargetEmbeddings: Bool
    public var tokenizer: Tokenizer
    public var specialTokens: SpecialTokens

    /// A configuration; call `validate()` to check MODEL.md's rules.
    public init(cell: Cell, sourceVocabSize: Int, targetVocabSize: Int, embeddingSize: Int, hiddenSize: Int,
                encoderLayers: Int = 1, decoderLayers: Int = 1, bidirectionalEncoder: Bool = false,
                bridge: Bridge = .copy, attention: Attention = .bahdanau, attentionSize: Int? = nil,
                tieTargetEmbeddings: Bool = false, tokenizer: Tokenizer = .whitespace,
                specialTokens: SpecialTokens = SpecialTokens()) {
        self.cell = cell
        self.sourceVocabSize = sourceVocabSize
        self.targetVocabSize = targetVocabSize
        self.embeddingSize = embeddingSize
        self.hiddenSize = hiddenSize
        self.encoderLayers = encoderLayers
        self.decoderLayers = decoderLayers
        self.bidirectionalEncoder = bidirectionalEncoder
        self.bridge = bridge
        self.attention = attention
        self.attentionSize = attentionSize
        self.tieTargetEmbeddings = tieTargetEmbeddings
        self.tokenizer = tokenizer
        self.specialTokens = specialTokens
    }

    /// `D`: the encoder's output size, `H` or `2H` when bidirectional.
    public var encoderOutputSize: Int { bidirectionalEncoder ? 2 * hiddenSize : hiddenSize }

    /// `I`: the decoder's first-layer input size (`E + D`, or `E + H` for Luong attention).
    public var decoderInputSize: Int { embeddingSize + (attention.isLuong ? hiddenSize : encoderOutputSize) }

    /// Checks sizes, special token ids and MODEL.md's `requires` rules.
    public func validate() throws {
        func bad(_ m: String) -> Seq2SeqError { .invalidModel("config.json: \(m)") }
        for (key, v) in [("source_vocab_size", sourceVocabSize), ("target_vocab_size", targetVocabSize),
                         ("embedding_size", embeddingSize), ("hidden_size", hiddenSize),
                         ("encoder_layers", encoderLayers), ("decoder_layers", decoderLayers)] where v < 1 {
            throw bad("\(key) must be at least 1, found \(v)")
        }
        let limit = 1 << 24
        for (key, v) in [("source_vocab_size", sourceVocabSize), ("target_vocab_size", targetVocabSize),
                         ("embedding_size", embeddingSize), ("hidden_size", hiddenSize)] where v > limit {
            throw bad("\(key) \(v) exceeds the engine's limit of \(limit)")
        }
        for (key, v) in [("encoder_layers", encoderLayers), ("decoder_layers", decoderLayers)] where v > 64 {
            throw bad("\(key) \(v) exceeds the engine's limit of 64")
        }
        if attention == .bahdanau || attention == .luongConcat {
            guard let a = attentionSize else { throw bad("attention_size is required for attention \(attention.rawValue)") }
            guard a >= 1 && a <= limit else { throw bad("attention_size must be between 1 and \(limit), found \(a)") }
        }
        if bridge == .copy {
            if bidirectionalEncoder {
                throw bad("bridge copy requires a unidirectional encoder, but bidirectional_encoder is true")
            }
            if encoderLayers != decoderLayers {
                throw bad("bridge copy requires encoder_layers = decoder_layers, found \(encoderLayers) and \(decoderLayers)")
            }
        }
        if attention == .luongDot && encoderOutputSize != hiddenSize {
            throw bad("attention luong_dot requires the encoder output size D (\(encoderOutputSize)) to equal hidden_size (\(hiddenSize)); a bidirectional encoder has D = 2H")
        }
        if tieTargetEmbeddings && embeddingSize != hiddenSize {
            throw bad("tie_target_embeddings requires embedding_size = hidden_size, found \(embeddingSize) and \(hiddenSize)")
        }
        let s = specialTokens
        for (key, v) in [("pad", s.pad), ("bos", s.bos), ("eos", s.eos), ("unk", s.unk)] {
            guard v >= 0 && v < targetVocabSize else {
                throw bad("special_tokens.\(key) = \(v) is outside the target vocabulary (0..<\(targetVocabSize))")
            }
        }
        guard s.unk < sourceVocabSize && s.pad < sourceVocabSize else {
            throw bad("special_tokens.unk (\(s.unk)) and pad (\(s.pad)) must be inside the source vocabulary (0..<\(sourceVocabSize))")
        }
    }

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
        guard version == 1 else {
            throw Seq2SeqError.invalidModel("config.json: format_version \(version) is not supported (expected 1)")
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
            tieTargetEmbeddings: try reader.bool("tie_target_embeddings"),
            tokenizer: try reader.enumeration("tokenizer"))
        if let special = try reader.optionalObject("special_tokens") {
            var sub = try ConfigReader(special, prefix: "special_tokens.")
            config.specialTokens = SpecialTokens(pad: try sub.int("pad"), bos: try sub.int("bos"),
                                                 eos: try sub.int("eos"), unk: try sub.int("unk"))
            try sub.finish()
        }
        try reader.finish()
        try config.validate()
        return config
    }
}

/// Reads typed values from a JSON object, remembering which keys were used so
/// that `finish()` can reject the rest.
private struct ConfigReader {
    let members: [(String, JSONValue)]
    let prefix: String
    var used = Set<String>()

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

    mutating func optionalObject(_ key: String) throws -> JSONValue? {
        guard let v = raw(key) else { return nil }
        return v
    }

    func finish() throws {
        for (k, _) in members where !used.contains(k) {
            throw Seq2SeqError.invalidModel("config.json: unknown key \(prefix)\(k)")
        }
    }
}
