import Seq2Seq

/// A model's text ends: the source and target tokenizers of a model directory (every kind of MODEL.md,
/// subword kinds included), so that raw text goes in and raw text comes out.
///
/// ```swift
/// let model = try Seq2SeqModel(directory: "model")
/// let text = try ModelText(model: model)                 // reads source.spm / target.spm, codes, ...
/// let translator = Translator(model: model)
/// let out = try translator.translate([text.sourceIDs(for: "Hello world!")], options: .greedy)
/// print(try text.detokenize(out[0].best.ids))
/// ```
///
/// Immutable and `Sendable`: load it once next to the model and share it between threads.
public struct ModelText: Sendable {
    /// The model whose tokenizers these are.
    public let model: Seq2SeqModel
    /// The source side's tokenizer.
    public let source: ModelTokenizer
    /// The target side's tokenizer.
    public let target: ModelTokenizer

    /// Loads both sides' tokenizers from the model's directory.
    ///
    /// - Throws: `invalidModel` naming the file when a SentencePiece model or BPE codes file is missing,
    ///   truncated or broken, or a subword side has no vocabulary file.
    public init(model: Seq2SeqModel) throws {
        self.model = model
        source = try ModelTokenizer(model: model, side: .source)
        target = try ModelTokenizer(model: model, side: .target)
    }

    /// The tokenizer of `side`.
    public func tokenizer(_ side: ModelConfig.Side) -> ModelTokenizer { side == .source ? source : target }

    /// Source ids for `text` (ready for `Translator.translate`).
    public func sourceIDs(for text: String) throws -> [Int] { try source.ids(for: text) }

    /// Source ids for a line of UTF-8 bytes; bytes that are not valid UTF-8 are an error for this line.
    public func sourceIDs(forUTF8 bytes: some Collection<UInt8>) throws -> [Int] { try source.ids(forUTF8: bytes) }

    /// Target ids for `text` (for scoring).
    public func targetIDs(for text: String) throws -> [Int] { try target.ids(for: text) }

    /// The output text of target ids (a hypothesis's `ids`).
    public func detokenize(_ ids: [Int]) throws -> String { try target.text(forIDs: ids) }

    /// Translates texts: tokenized, translated with `translator`, and each best hypothesis detokenized.
    public func translate(_ texts: [String], with translator: Translator,
                          options: DecodingOptions = .greedy) throws -> [String] {
        let sources = try texts.map { try sourceIDs(for: $0) }
        return try translator.translate(sources, options: options).map { try detokenize($0.best.ids) }
    }
}

// MARK: Writing a model directory's tokenizers (for converters)

extension ModelText {
    /// The conventional file name of a side's subword file: `source.spm`, `target.spm` (SentencePiece) or
    /// `source.bpe`, `target.bpe` (BPE codes).
    public static func conventionalFileName(kind: ModelConfig.TokenizerConfig.Kind, side: ModelConfig.Side) -> String? {
        switch kind {
        case .sentencepiece: return "\(side.rawValue).spm"
        case .bpe: return "\(side.rawValue).bpe"
        case .whitespace, .characters: return nil
        }
    }

    /// Puts a side's subword file into a model directory and returns the tokenizer configuration to set on
    /// the side (`config.sourceTokenizer = ...`; the config is then format 2).
    ///
    /// The file at `path` is loaded first (a SentencePiece model through libsentencepiece, BPE codes through
    /// `BPETokenizer`), so a broken file is refused before anything is written, with an error naming it; then
    /// it is copied byte for byte to `directory` under `tokenizer.model` / `tokenizer.codes`, or under
    /// `conventionalFileName(kind:side:)` when that is nil.
    ///
    /// - Parameter tokenizer: the kind and options, for example
    ///   `.openNMTSentencePiece(model: "source.spm")` or `TokenizerConfig(kind: .bpe, codes: "")` (a file
    ///   name is filled in when empty).
    public static func installSubwordFile(from path: String, side: ModelConfig.Side,
                                          tokenizer: ModelConfig.TokenizerConfig,
                                          into directory: String) throws -> ModelConfig.TokenizerConfig {
        var t = tokenizer
        guard t.kind.isSubword else {
            throw Seq2SeqError.invalidModel("installSubwordFile: kind \(t.kind.rawValue) has no subword file")
        }
        let name = (t.file?.isEmpty == false ? t.file : nil) ?? conventionalFileName(kind: t.kind, side: side)!
        if t.kind == .sentencepiece { t.model = name } else { t.codes = name }
        try t.validate(key: side.key)
        let bytes = try readFile(path)
        switch t.kind {
        case .sentencepiece: _ = try SentencePieceTokenizer(bytes: bytes, name: path)
        case .bpe: _ = try BPETokenizer(codes: bytes, name: path, separator: t.separator, glossaries: t.glossaries, merges: t.merges)
        case .whitespace, .characters: break
        }
        try writeFile(bytes, to: (directory.hasSuffix("/") ? String(directory.dropLast()) : directory) + "/" + name)
        return t
    }

    /// Where a subword file named in a toolkit's checkpoint is now. A checkpoint records the path the file
    /// had at training time; the rule is: `override` when given (the converters' `--src-subword-model` /
    /// `--tgt-subword-model`), else `recorded` when it exists, else the file of the same name (its last path
    /// component) in the first of `searchDirectories` that has it (the checkpoint's directory, the model
    /// directory).
    ///
    /// - Throws: `invalidModel` naming every place looked at when none has the file.
    public static func locateSubwordFile(recorded: String, override: String? = nil,
                                         searchDirectories: [String]) throws -> String {
        if let override {
            guard isRegularFile(override) else {
                throw Seq2SeqError.invalidModel("subword model \(override) (given explicitly) does not exist or is not a file")
            }
            return override
        }
        if isRegularFile(recorded) { return recorded }
        let base = recorded.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? recorded
        var tried = [recorded]
        for dir in searchDirectories {
            let candidate = (dir.hasSuffix("/") ? String(dir.dropLast()) : dir) + "/" + base
            if isRegularFile(candidate) { return candidate }
            tried.append(candidate)
        }
        throw Seq2SeqError.invalidModel("the subword model recorded as \(recorded) was not found (looked at \(tried.joined(separator: ", "))); give it with --src-subword-model / --tgt-subword-model")
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

private func isRegularFile(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
}

/// Writes `bytes` to `path` (replacing it); errors name the path.
private func writeFile(_ bytes: [UInt8], to path: String) throws {
    guard let f = fopen(path, "wb") else {
        throw Seq2SeqError.invalidModel("cannot write \(path): \(String(cString: strerror(errno)))")
    }
    let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
    let closed = fclose(f)
    guard written == bytes.count, closed == 0 else {
        throw Seq2SeqError.invalidModel("cannot write \(path): \(String(cString: strerror(errno)))")
    }
}
