/// Format 2's per-side tokenizers (MODEL.md "Tokenizers (format 2)"): `source_tokenizer` and
/// `target_tokenizer`, each `{"kind": ..., ...}`. Without them both sides use format 1's `tokenizer`.
///
/// The core library turns text into ids (and back) for the `whitespace` and `characters` kinds only; the
/// subword kinds (`sentencepiece`, `bpe`) need the model directory's subword files and are applied by the
/// `Seq2SeqText` library (`ModelText`).
extension ModelConfig {
    /// Which side of the model a tokenizer serves.
    public enum Side: String, Sendable, CaseIterable {
        /// The source side (`source_tokenizer`, `source.vocab`).
        case source
        /// The target side (`target_tokenizer`, `target.vocab`).
        case target
        /// The config key of this side's tokenizer.
        public var key: String { "\(rawValue)_tokenizer" }
    }

    /// One side's tokenizer: the kind, its file in the model directory and the options that reproduce a
    /// toolkit's handling of text around it. Every option has a default; `validate(key:)` checks that each
    /// set option belongs to the kind.
    public struct TokenizerConfig: Sendable, Equatable {
        /// How text becomes tokens.
        public enum Kind: String, Sendable, CaseIterable {
            /// Format 1's `whitespace`: runs of Unicode white space separate tokens.
            case whitespace
            /// Format 1's `characters`: one Unicode scalar a token.
            case characters
            /// A SentencePiece model (`model`), applied by libsentencepiece.
            case sentencepiece
            /// subword-nmt BPE codes (`codes`), applied as subword-nmt's `apply_bpe` does.
            case bpe
            /// Whether the kind reads a subword file from the model directory.
            public var isSubword: Bool { self == .sentencepiece || self == .bpe }
        }
        /// Which ends of an input line lose their white space before tokenizing (Python's `str.strip`,
        /// `str.rstrip`).
        public enum Strip: String, Sendable, CaseIterable {
            /// Input text is used as it is.
            case none
            /// White space is removed from both ends.
            case both
            /// White space is removed from the end only.
            case right
        }
        /// How SentencePiece output pieces become text.
        public enum PieceJoin: String, Sendable, CaseIterable {
            /// libsentencepiece's `Decode` over the piece strings (OpenNMT-py).
            case decode
            /// `Decode`, then every `▁` left in the text becomes a space (JoeyNMT).
            case decodeAndReplace = "decode_and_replace"
            /// The pieces concatenated, every U+0020 deleted, every `▁` made a space (fairseq).
            case concatenate
        }

        /// The tokenizer kind.
        public var kind: Kind
        /// `sentencepiece`: the model file's name in the model directory (for example `source.spm`).
        public var model: String?
        /// `bpe`: the codes file's name in the model directory (for example `source.bpe`).
        public var codes: String?
        /// `bpe`: the continuation marker appended to every piece but a word's last (default `@@`).
        public var separator: String
        /// `bpe`: words (literal strings) never split; subword-nmt's `--glossaries` (default none).
        public var glossaries: [String]
        /// `bpe`: use only the first `merges` merge operations (subword-nmt's `--merges`; nil: all).
        public var merges: Int?
        /// Subword kinds: segment into pieces of this side's vocabulary only (JoeyNMT: SentencePiece's
        /// `SetVocabulary`, subword-nmt's vocabulary filter). Default false.
        public var restrictToVocabulary: Bool
        /// `sentencepiece`: how output pieces are joined (default `decode`).
        public var pieceJoin: PieceJoin
        /// Subword kinds: white space removed from the input line's ends first (default `both`).
        public var stripInput: Strip
        /// Subword kinds: the pieces are joined by spaces and split again at runs of white space, so a piece
        /// holding white space other than U+0020 falls apart as in JoeyNMT's and fairseq's token split.
        /// Default false.
        public var splitPieces: Bool
        /// Subword kinds: white space removed from both ends of the output text (default false).
        public var stripOutput: Bool

        /// A tokenizer configuration; options not given take their defaults (see the properties).
        public init(kind: Kind, model: String? = nil, codes: String? = nil, separator: String = "@@",
                    glossaries: [String] = [], merges: Int? = nil, restrictToVocabulary: Bool = false,
                    pieceJoin: PieceJoin = .decode, stripInput: Strip = .both, splitPieces: Bool = false,
                    stripOutput: Bool = false) {
            self.kind = kind
            self.model = model
            self.codes = codes
            self.separator = separator
            self.glossaries = glossaries
            self.merges = merges
            self.restrictToVocabulary = restrictToVocabulary
            self.pieceJoin = pieceJoin
            self.stripInput = stripInput
            self.splitPieces = splitPieces
            self.stripOutput = stripOutput
        }

        /// Format 1's tokenizer as a side's.
        public init(_ tokenizer: Tokenizer) {
            self.init(kind: tokenizer == .whitespace ? .whitespace : .characters)
        }

        /// A SentencePiece model file as OpenNMT-py's `sentencepiece` transform applies it at translation:
        /// the line stripped, `encode`, output pieces through `Decode`.
        public static func openNMTSentencePiece(model: String) -> TokenizerConfig {
            TokenizerConfig(kind: .sentencepiece, model: model, pieceJoin: .decode, stripInput: .both)
        }

        /// BPE codes as OpenNMT-py's `bpe` transform applies them: the stripped line split at spaces,
        /// `segment_tokens`, output joined by spaces with `@@ ` and a final `@@` removed.
        public static func openNMTBPE(codes: String) -> TokenizerConfig {
            TokenizerConfig(kind: .bpe, codes: codes, separator: "@@", stripInput: .both)
        }

        /// A SentencePiece model as JoeyNMT 2.3's `SentencePieceTokenizer` applies it: the line right-stripped,
        /// `encode` restricted to the vocabulary, output `decode`d with `▁` made spaces, stripped.
        public static func joeyNMTSentencePiece(model: String) -> TokenizerConfig {
            TokenizerConfig(kind: .sentencepiece, model: model, restrictToVocabulary: true,
                            pieceJoin: .decodeAndReplace, stripInput: .right, splitPieces: false, stripOutput: true)
        }

        /// BPE codes as JoeyNMT 2.3's `SubwordNMTTokenizer` applies them: the line right-stripped,
        /// `process_line` with the vocabulary filter, split at white space.
        public static func joeyNMTBPE(codes: String, separator: String = "@@") -> TokenizerConfig {
            TokenizerConfig(kind: .bpe, codes: codes, separator: separator, restrictToVocabulary: true,
                            stripInput: .right, splitPieces: true)
        }

        /// A SentencePiece model as fairseq's `--bpe sentencepiece` applies it in `fairseq-interactive`:
        /// the line stripped, `encode`, tokens split at white space; output pieces concatenated with `▁`
        /// made spaces, stripped.
        public static func fairseqSentencePiece(model: String) -> TokenizerConfig {
            TokenizerConfig(kind: .sentencepiece, model: model, pieceJoin: .concatenate, stripInput: .both,
                            splitPieces: true, stripOutput: true)
        }

        /// BPE codes as fairseq's `--bpe subword_nmt` applies them: the line stripped, `process_line`, tokens
        /// split at white space; output with `@@ ` removed, right-stripped.
        public static func fairseqBPE(codes: String, separator: String = "@@") -> TokenizerConfig {
            TokenizerConfig(kind: .bpe, codes: codes, separator: separator, stripInput: .both, splitPieces: true,
                            stripOutput: true)
        }

        /// The file this tokenizer reads from the model directory (nil for the format-1 kinds).
        public var file: String? {
            switch kind {
            case .sentencepiece: return model
            case .bpe: return codes
            case .whitespace, .characters: return nil
            }
        }

        /// Checks that the options belong to the kind and hold allowed values; errors name `key` (the side's
        /// config key) and the option.
        public func validate(key: String) throws {
            func bad(_ m: String) -> Seq2SeqError { .invalidModel("config.json: \(key).\(m)") }
            let defaults = TokenizerConfig(kind: kind)
            var set: [(String, Bool)] = [
                ("model", model != nil), ("codes", codes != nil), ("separator", separator != defaults.separator),
                ("glossaries", !glossaries.isEmpty), ("merges", merges != nil),
                ("restrict_to_vocabulary", restrictToVocabulary), ("piece_join", pieceJoin != defaults.pieceJoin),
                ("strip_input", stripInput != defaults.stripInput), ("split_pieces", splitPieces),
                ("strip_output", stripOutput),
            ]
            set = set.filter { $0.1 }
            let allowed = Self.options(for: kind)
            if let (name, _) = set.first(where: { !allowed.contains($0.0) }) {
                throw bad("\(name) does not apply to kind \(kind.rawValue)")
            }
            if kind == .sentencepiece && model == nil { throw bad("model is required for kind sentencepiece") }
            if kind == .bpe && codes == nil { throw bad("codes is required for kind bpe") }
            if let name = file, !Self.isPlainFileName(name) {
                throw bad("\(kind == .bpe ? "codes" : "model") must name a file inside the model directory (no \"/\", not \".\" or \"..\"), found \"\(name)\"")
            }
            if kind == .bpe {
                if separator.isEmpty || separator.unicodeScalars.contains(where: { $0.properties.isWhitespace }) {
                    throw bad("separator must be a non-empty string without white space, found \"\(separator)\"")
                }
                if let m = merges, m < 0 { throw bad("merges must be at least 0, found \(m)") }
                for (i, g) in glossaries.enumerated() {
                    if g.isEmpty || g.unicodeScalars.contains(where: { $0 == " " || $0 == "\n" || $0 == "\r" }) {
                        throw bad("glossaries[\(i)] must be a non-empty string without spaces or line breaks")
                    }
                    if let c = g.unicodeScalars.first(where: { "\\.^$*+?{}[]|()".unicodeScalars.contains($0) }) {
                        throw bad("glossaries[\(i)] holds \"\(c)\": glossaries are literal strings here (subword-nmt reads them as regular expressions), so regular-expression characters are refused")
                    }
                }
            }
        }

        /// The option keys that belong to `kind` (besides `kind`).
        public static func options(for kind: Kind) -> Set<String> {
            let subword: Set<String> = ["restrict_to_vocabulary", "strip_input", "split_pieces", "strip_output"]
            switch kind {
            case .whitespace, .characters: return []
            case .sentencepiece: return subword.union(["model", "piece_join"])
            case .bpe: return subword.union(["codes", "separator", "glossaries", "merges"])
            }
        }

        /// A file name without directories: not empty, no `/` or NUL, not `.` or `..`.
        static func isPlainFileName(_ name: String) -> Bool {
            !name.isEmpty && name != "." && name != ".." && !name.utf8.contains(0x2F) && !name.utf8.contains(0)
        }

        /// The JSON object text (every option that applies to the kind, written out).
        public var jsonText: String {
            var m: [String] = ["\"kind\": \(jsonString(kind.rawValue))"]
            switch kind {
            case .whitespace, .characters:
                break
            case .sentencepiece:
                m.append("\"model\": \(jsonString(model ?? ""))")
                m.append("\"restrict_to_vocabulary\": \(restrictToVocabulary)")
                m.append("\"piece_join\": \(jsonString(pieceJoin.rawValue))")
            case .bpe:
                m.append("\"codes\": \(jsonString(codes ?? ""))")
                m.append("\"separator\": \(jsonString(separator))")
                if !glossaries.isEmpty { m.append("\"glossaries\": [\(glossaries.map(jsonString).joined(separator: ", "))]") }
                if let merges { m.append("\"merges\": \(merges)") }
                m.append("\"restrict_to_vocabulary\": \(restrictToVocabulary)")
            }
            if kind.isSubword {
                m.append("\"strip_input\": \(jsonString(stripInput.rawValue))")
                m.append("\"split_pieces\": \(splitPieces)")
                m.append("\"strip_output\": \(stripOutput)")
            }
            return "{" + m.joined(separator: ", ") + "}"
        }
    }

    /// The tokenizer of `side`: its own key when set, otherwise format 1's `tokenizer`.
    public func tokenizer(for side: Side) -> TokenizerConfig {
        switch side {
        case .source: return sourceTokenizer ?? TokenizerConfig(tokenizer)
        case .target: return targetTokenizer ?? TokenizerConfig(tokenizer)
        }
    }
}


extension ModelConfig {
    /// Parses a `source_tokenizer` / `target_tokenizer` object; unknown keys and wrong types name the key.
    static func parseTokenizer(_ value: JSONValue, key: String) throws -> TokenizerConfig {
        func bad(_ m: String) -> Seq2SeqError { .invalidModel("config.json: \(key)\(m)") }
        guard case .object(let members) = value else {
            throw bad(" must be an object such as {\"kind\": \"sentencepiece\", \"model\": \"source.spm\"}, found \(value.kindName)")
        }
        var seen = Set<String>()
        func take(_ name: String) -> JSONValue? {
            seen.insert(name)
            guard let v = members.first(where: { $0.0 == name })?.1, v != .null else { return nil }
            return v
        }
        func string(_ name: String) throws -> String? {
            guard let v = take(name) else { return nil }
            guard case .string(let s) = v else { throw bad(".\(name) must be a string, found \(v.kindName)") }
            return s
        }
        func bool(_ name: String) throws -> Bool? {
            guard let v = take(name) else { return nil }
            guard case .bool(let b) = v else { throw bad(".\(name) must be true or false, found \(v.kindName)") }
            return b
        }
        func enumeration<E: RawRepresentable & CaseIterable>(_ name: String) throws -> E? where E.RawValue == String {
            guard let s = try string(name) else { return nil }
            guard let e = E(rawValue: s) else {
                throw bad(".\(name) has unknown value \"\(s)\" (expected one of \(E.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return e
        }
        guard let kind: TokenizerConfig.Kind = try enumeration("kind") else { throw bad(".kind is missing") }
        var t = TokenizerConfig(kind: kind)
        t.model = try string("model")
        t.codes = try string("codes")
        if let s = try string("separator") { t.separator = s }
        if let v = take("glossaries") {
            guard case .array(let items) = v, items.count <= 1 << 16 else {
                throw bad(".glossaries must be an array of strings, found \(v.kindName)")
            }
            t.glossaries = try items.enumerated().map { i, item in
                guard case .string(let s) = item else { throw bad(".glossaries[\(i)] must be a string, found \(item.kindName)") }
                return s
            }
        }
        if let v = take("merges") {
            guard case .int(let m) = v else { throw bad(".merges must be an integer, found \(v.kindName)") }
            t.merges = m
        }
        if let b = try bool("restrict_to_vocabulary") { t.restrictToVocabulary = b }
        if let j: TokenizerConfig.PieceJoin = try enumeration("piece_join") { t.pieceJoin = j }
        if let s: TokenizerConfig.Strip = try enumeration("strip_input") { t.stripInput = s }
        if let b = try bool("split_pieces") { t.splitPieces = b }
        if let b = try bool("strip_output") { t.stripOutput = b }
        for (k, _) in members where !seen.contains(k) { throw bad(".\(k) is not a tokenizer option") }
        let allowed = TokenizerConfig.options(for: kind)
        for (k, v) in members where k != "kind" && v != .null && !allowed.contains(k) {
            throw bad(".\(k) does not apply to kind \(kind.rawValue)")
        }
        try t.validate(key: key)
        return t
    }
}
