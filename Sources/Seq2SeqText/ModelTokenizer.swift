import Seq2Seq

/// One side's text ⇄ tokens ⇄ ids, as MODEL.md "Tokenizers (format 2)" fixes them: a tokenizer of any kind
/// (`whitespace`, `characters`, `sentencepiece`, `bpe`) with that side's vocabulary.
///
/// Text → ids: strip the input (subword kinds, `strip_input`), cut it into tokens (pieces), optionally split
/// the pieces again at white space (`split_pieces`), then look every token up in the vocabulary by its exact
/// code points; a token not in it is `unk` (an error naming the token when the model has no `unk`).
///
/// Ids → text (target side): drop `detokenize_skip_ids`, look the ids up, join the tokens by the kind's rule
/// (spaces; nothing; SentencePiece's `piece_join`; BPE's separator removal), then strip the text if
/// `strip_output` says so.
///
/// Immutable and `Sendable`; share one between threads.
public struct ModelTokenizer: Sendable {
    /// Which side this is.
    public let side: ModelConfig.Side
    /// The side's tokenizer configuration.
    public let config: ModelConfig.TokenizerConfig
    /// The side's vocabulary (nil when the model directory has none: then only ids go in and out).
    public let vocabulary: Vocabulary?
    /// The SentencePiece model, for kind `sentencepiece`.
    public let sentencePiece: SentencePieceTokenizer?
    /// The BPE codes, for kind `bpe`.
    public let bpe: BPETokenizer?
    private let unk: Int?
    private let skipIDs: Set<Int>

    /// A side's tokenizer from its configuration, reading the subword file from `directory`.
    ///
    /// - Parameters:
    ///   - specialTokens: the model's special ids: `unk` for unknown tokens; the vocabulary filter of `bpe`
    ///     leaves out the tokens at these ids (JoeyNMT's `set(itos) - set(specials)`).
    ///   - skipIDs: ids left out of output text (the target side's `detokenize_skip_ids`).
    /// - Throws: `invalidModel` naming the file when the subword file is missing or broken, or when a
    ///   subword kind has no vocabulary to map its pieces.
    public init(config: ModelConfig.TokenizerConfig, side: ModelConfig.Side, directory: String,
                vocabulary: Vocabulary?, specialTokens: ModelConfig.SpecialTokens, skipIDs: [Int] = []) throws {
        try config.validate(key: side.key)
        self.side = side
        self.config = config
        self.vocabulary = vocabulary
        unk = specialTokens.unk
        self.skipIDs = Set(skipIDs)
        let dir = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        if config.kind.isSubword && vocabulary == nil {
            throw Seq2SeqError.invalidModel("\(side.key) is \(config.kind.rawValue), which maps pieces to ids with \(side.rawValue).vocab, but the model directory has no \(side.rawValue).vocab")
        }
        switch config.kind {
        case .whitespace, .characters:
            sentencePiece = nil
            bpe = nil
        case .sentencepiece:
            let path = dir + "/" + config.model!
            sentencePiece = try SentencePieceTokenizer(contentsOf: path,
                                                       restrictTo: config.restrictToVocabulary ? vocabulary!.tokens : nil)
            bpe = nil
        case .bpe:
            let path = dir + "/" + config.codes!
            var filter: [String]? = nil
            if config.restrictToVocabulary {
                let special = Set([specialTokens.pad, specialTokens.bos, specialTokens.eos, specialTokens.unk].compactMap { $0 })
                let specialTokens = Set(special.compactMap { vocabulary!.token(for: $0) }.map { Array($0.unicodeScalars) })
                filter = vocabulary!.tokens.filter { !specialTokens.contains(Array($0.unicodeScalars)) }
            }
            bpe = try BPETokenizer(contentsOf: path, separator: config.separator, glossaries: config.glossaries,
                                   merges: config.merges, vocabulary: filter)
            sentencePiece = nil
        }
    }

    /// A model's tokenizer for `side` (its own key or format 1's `tokenizer`), with its vocabulary.
    public init(model: Seq2SeqModel, side: ModelConfig.Side) throws {
        let c = model.config
        try self.init(config: c.tokenizer(for: side), side: side, directory: model.directory,
                      vocabulary: side == .source ? model.sourceVocabulary : model.targetVocabulary,
                      specialTokens: c.specialTokens, skipIDs: side == .target ? c.detokenizeSkipIDs : [])
    }

    // MARK: Text → tokens → ids

    /// The tokens (pieces) of `text`, before the vocabulary.
    public func tokens(for text: String) throws -> [String] {
        switch config.kind {
        case .whitespace: return Tokenization.split(text, with: .whitespace)
        case .characters: return Tokenization.split(text, with: .characters)
        case .sentencepiece, .bpe:
            let input = PythonText.strip(text, config.stripInput == .both ? .both : config.stripInput == .right ? .right : .none)
            var pieces: [String]
            if let sentencePiece {
                pieces = try sentencePiece.pieces(input)
            } else {
                pieces = bpe!.segmentTokens(BPETokenizer.words(input))
            }
            if config.splitPieces { pieces = PythonText.split(pieces.joined(separator: " ")) }
            return pieces
        }
    }

    /// The tokens of UTF-8 bytes; bytes that are not valid UTF-8 are an error naming the first bad offset.
    public func tokens(forUTF8 bytes: some Collection<UInt8>) throws -> [String] {
        try tokens(for: try Self.decodeUTF8(bytes))
    }

    /// The ids of `text`: its tokens looked up in the vocabulary (unknown tokens are `unk`).
    ///
    /// - Throws: `invalidInput` when the side has no vocabulary, or a token is unknown and the model has
    ///   no `unk`.
    public func ids(for text: String) throws -> [Int] {
        try ids(forTokens: tokens(for: text))
    }

    /// The ids of UTF-8 bytes (invalid UTF-8 is an error naming the first bad byte offset).
    public func ids(forUTF8 bytes: some Collection<UInt8>) throws -> [Int] {
        try ids(for: try Self.decodeUTF8(bytes))
    }

    /// Tokens looked up in the vocabulary.
    public func ids(forTokens tokens: [String]) throws -> [Int] {
        guard let vocabulary else {
            throw Seq2SeqError.invalidInput("the model has no \(side.rawValue).vocab, so \(side.rawValue) text cannot be tokenized")
        }
        return try tokens.map { token in
            if let id = vocabulary.id(of: token) { return id }
            guard let unk else {
                throw Seq2SeqError.invalidInput("\(side.rawValue) token \"\(token)\" is not in the \(side.rawValue) vocabulary, and the model has no unk token")
            }
            return unk
        }
    }

    // MARK: Ids → tokens → text

    /// The tokens of `ids` (every id, `detokenize_skip_ids` included), or nil without a vocabulary. An id
    /// outside the vocabulary is written `<id>`.
    public func tokens(forIDs ids: [Int]) -> [String]? {
        guard let vocabulary else { return nil }
        return ids.map { vocabulary.token(for: $0) ?? "<\($0)>" }
    }

    /// The text of output ids: `detokenize_skip_ids` dropped, the rest joined by the kind's rule. Without a
    /// vocabulary, the ids themselves separated by spaces.
    public func text(forIDs ids: [Int]) throws -> String {
        let kept = skipIDs.isEmpty ? ids : ids.filter { !skipIDs.contains($0) }
        guard let tokens = tokens(forIDs: kept) else { return kept.map(String.init).joined(separator: " ") }
        return try text(forTokens: tokens)
    }

    /// Tokens (pieces) joined into text by the kind's rule, then `strip_output`.
    public func text(forTokens tokens: [String]) throws -> String {
        let text: String
        switch config.kind {
        case .whitespace: text = Tokenization.join(tokens, with: .whitespace)
        case .characters: text = Tokenization.join(tokens, with: .characters)
        case .sentencepiece:
            switch config.pieceJoin {
            case .decode:
                text = try sentencePiece!.decode(pieces: tokens)
            case .decodeAndReplace:
                text = Self.replaceMarker(try sentencePiece!.decode(pieces: tokens))
            case .concatenate:
                let joined = tokens.joined().unicodeScalars.filter { $0 != " " }
                text = Self.replaceMarker(PythonText.string(joined))
            }
        case .bpe:
            text = BPETokenizer.join(tokens, separator: config.separator)
        }
        return config.stripOutput ? PythonText.strip(text, .both) : text
    }

    /// Every `▁` (U+2581) made a space.
    static func replaceMarker(_ s: String) -> String {
        PythonText.string(s.unicodeScalars.map { $0 == "\u{2581}" ? " " : $0 })
    }

    /// Strict UTF-8 decoding; the error names the offset of the first byte that is not valid UTF-8.
    static func decodeUTF8(_ bytes: some Collection<UInt8>) throws -> String {
        if let s = String(validating: bytes, as: UTF8.self) { return s }
        var decoder = UTF8()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let u):
                offset += UTF8.width(u)
            case .emptyInput:
                throw Seq2SeqError.invalidInput("the text is not valid UTF-8")
            case .error:
                throw Seq2SeqError.invalidInput("the text is not valid UTF-8 (bad byte at offset \(offset))")
            }
        }
    }
}
