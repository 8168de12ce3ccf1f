/// A loaded encoder-decoder model: configuration, weights and vocabularies.
///
/// Immutable after loading and `Sendable`: one model can serve any number of
/// threads at once, each through its own `Translator` (which owns the
/// working memory). The weights are read in place from the memory-mapped
/// `model.safetensors` when stored as aligned F32.
public final class Seq2SeqModel: Sendable {
    /// The parsed, validated `config.json`.
    public let config: ModelConfig
    /// `source.vocab`, when the directory has one.
    public let sourceVocabulary: Vocabulary?
    /// `target.vocab`, when the directory has one.
    public let targetVocabulary: Vocabulary?
    /// The safetensors `__metadata__` map (empty when absent).
    public let metadata: [String: String]
    /// The directory the model was loaded from.
    public let directory: String

    let store: TensorStore
    let weights: EngineWeights

    /// Loads and validates a model directory (MODEL.md): `config.json`,
    /// `model.safetensors`, and optionally `source.vocab` and `target.vocab`.
    ///
    /// With `checkFinite` (the default) every weight is read once at load and a NaN or an
    /// infinity is refused, naming the tensor and the flat (row-major) index of its first
    /// non-finite value: such a model would otherwise decode to garbage or NaN scores without
    /// any error. The check touches every page of the file, so a large model that is known to
    /// be good can skip it with `checkFinite: false` (loading then reads only the header and
    /// maps the rest).
    ///
    /// - Throws: `Seq2SeqError.invalidModel` naming the file, key or tensor at
    ///   fault, what was expected and what was found.
    ///
    /// `computeType` runs the weights of `families` in a reduced precision (activations and accumulation stay
    /// float32). A float model is converted at load; a stored quantized model (`config.json`'s `quantization`,
    /// written by `seq2seq quantize`) runs as stored by default (`computeType` nil), read in place from the
    /// mapped file, or dequantized with `.float32`; another reduced type is refused. `families` nil means the
    /// stored families, or the type's defaults (`WeightFamily.quantizedByDefault(for:)`). `otherFamilies` is the
    /// type of every family `computeType` leaves out: float32, or float16 or bfloat16 (CTranslate2's
    /// `int8_float16`; `ComputePrecision`); nil means as stored, else float32. See docs/MODEL.md, "Compute types"
    /// and "Stored quantized models".
    public init(directory: String, checkFinite: Bool = true, computeType: ComputeType? = nil,
                families: Set<WeightFamily>? = nil, otherFamilies: ComputeType? = nil) throws {
        let dir = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        self.directory = dir
        guard isDirectory(dir) else {
            throw Seq2SeqError.invalidModel("model directory \(dir) does not exist or is not a directory")
        }
        let configBytes = try readFile(dir + "/config.json")
        guard let configText = String(validating: configBytes, as: UTF8.self) else {
            throw Seq2SeqError.invalidModel("config.json is not valid UTF-8")
        }
        let config = try ModelConfig.parse(json: configText)
        self.config = config
        let file = try SafeTensorsFile(path: dir + "/model.safetensors")
        metadata = file.metadata
        let quantized = try Self.checkQuantized(file.entries, file: file, config: config)
        try Self.checkTensors(file.entries, against: config, stored: quantized)
        let types = try Self.resolveTypes(config, computeType: computeType, families: families, otherFamilies: otherFamilies)
        store = TensorStore(file: file, quantized: quantized)
        if checkFinite {
            try Self.checkFinite(store.tensors)
            try Self.checkStoredValues(store.packed)
        }
        weights = EngineWeights(config: config, store: store, types: types)
        sourceVocabulary = try Self.vocabulary(dir + "/source.vocab", size: config.sourceVocabSize, key: "source_vocab_size")
        targetVocabulary = try Self.vocabulary(dir + "/target.vocab", size: config.targetVocabSize, key: "target_vocab_size")
    }

    /// The compute type each weight family runs in.
    public var computeTypes: [WeightFamily: ComputeType] { weights.computeTypes }

    /// `computeTypes` in the command line's terms: `float32`, the one reduced type (`int8`, whichever families it
    /// covers), or `int8_float16` when no family is left in float32.
    public var computePrecision: ComputePrecision {
        let reduced = Set(computeTypes.values).subtracting([.float32])
        guard let first = reduced.sorted(by: { ($0.elementSize, $0.rawValue) < ($1.elementSize, $1.rawValue) }).first else { return ComputePrecision(.float32) }
        return ComputePrecision(first, otherFamilies: reduced.count > 1 ? reduced.first { $0 != first }! : .float32)
    }

    /// Every tensor of the model by name, as float32 (converted from F16/BF16/F64 where stored so).
    public var tensors: [String: Tensor] { store.tensors }

    /// The tensor `name`, or nil when the file does not hold it (an absent bias means zeros).
    public func tensor(_ name: String) -> Tensor? { store.tensors[name] }

    private static func vocabulary(_ path: String, size: Int, key: String) throws -> Vocabulary? {
        guard fileExists(path) else { return nil }
        let v = try Vocabulary(contentsOf: path)
        guard v.count == size else {
            let file = path.split(separator: "/").last.map(String.init) ?? path
            throw Seq2SeqError.invalidModel("\(file) has \(v.count) lines, but config.json \(key) is \(size)")
        }
        return v
    }

    /// Throws `invalidModel` naming the first tensor (by name) holding a NaN or an infinity, and the index.
    static func checkFinite(_ tensors: [String: Tensor]) throws {
        for name in tensors.keys.sorted() {
            let t = tensors[name]!
            let values = UnsafeBufferPointer(start: t.base, count: t.count)
            guard let i = values.firstIndex(where: { !$0.isFinite }) else { continue }
            throw Seq2SeqError.invalidModel("tensor \(name) holds a non-finite value (\(values[i])) at index \(i) (of shape \(t.shape))")
        }
    }

    /// `stored`: the weights a stored quantized file holds in its reduced type (`checkQuantized`); their scale
    /// tensors and a tied model's quantized `decoder.output.weight` are expected too.
    static func checkTensors(_ entries: [String: TensorEntry], against config: ModelConfig, stored: [String: ComputeType] = [:]) throws {
        let specs = config.tensorSpecs
        var expected = Set(specs.map(\.name)).union(stored.keys)
        expected.formUnion(stored.filter { $0.value == .int8 }.map { $0.key + ".scale" })
        if let rescore = config.rescoredOutput { expected.insert(rescore) }
        for name in entries.keys.sorted() where !expected.contains(name) {
            var why = "is not used by this configuration"
            if name == "decoder.output.weight" && config.tieTargetEmbeddings {
                why += " (tie_target_embeddings is true: decoder.embedding.weight is the output weight)"
            }
            throw Seq2SeqError.invalidModel("tensor \(name) \(why) (cell \(config.cell.rawValue), attention \(config.attention.rawValue), bridge \(config.bridge.rawValue))")
        }
        for spec in specs {
            guard let e = entries[spec.name] else {
                if spec.optional { continue }
                throw Seq2SeqError.invalidModel("tensor \(spec.name) is missing (expected shape \(spec.shape))")
            }
            guard e.shape == spec.shape else {
                throw Seq2SeqError.invalidModel("tensor \(spec.name) has shape \(e.shape), expected \(spec.shape)")
            }
        }
    }

    // MARK: Text

    /// Source token ids for `text`: the model's tokenizer, then `source.vocab`; unknown tokens map to `unk`.
    ///
    /// - Throws: `invalidInput` when the model has no source vocabulary, or when its source tokenizer is a
    ///   subword kind (`sentencepiece`, `bpe`), which the `Seq2SeqText` library applies (`ModelText`).
    public func sourceIDs(for text: String) throws -> [Int] {
        try coreTokens(text, side: .source)
    }

    /// Target token ids for `text` (for scoring), like `sourceIDs(for:)` with `target.vocab`.
    public func targetIDs(for text: String) throws -> [Int] {
        try coreTokens(text, side: .target)
    }

    private func coreTokens(_ text: String, side: ModelConfig.Side) throws -> [Int] {
        let tokenizer = config.tokenizer(for: side)
        let kind: ModelConfig.Tokenizer
        switch tokenizer.kind {
        case .whitespace: kind = .whitespace
        case .characters: kind = .characters
        case .sentencepiece, .bpe:
            throw Seq2SeqError.invalidInput("the model's \(side.key) is \(tokenizer.kind.rawValue); text for it is tokenized by the Seq2SeqText library (ModelText), or give token ids")
        }
        guard let vocab = side == .source ? sourceVocabulary : targetVocabulary else {
            throw Seq2SeqError.invalidInput(side == .source
                ? "the model has no source.vocab, so text input cannot be tokenized"
                : "the model has no target.vocab, so target text cannot be tokenized")
        }
        return try ids(Tokenization.split(text, with: kind), vocab, side: side.rawValue)
    }

    /// Token ids; unknown tokens map to `unk`, or are an error naming the token when the model has none.
    private func ids(_ tokens: [String], _ vocab: Vocabulary, side: String) throws -> [Int] {
        try tokens.map { token in
            if let id = vocab.id(of: token) { return id }
            guard let unk = config.specialTokens.unk else {
                throw Seq2SeqError.invalidInput("\(side) token \"\(token)\" is not in the \(side) vocabulary, and the model has no unk token")
            }
            return unk
        }
    }

    /// Target tokens for `ids`, or nil when the model has no target vocabulary.
    public func targetTokens(for ids: [Int]) -> [String]? {
        guard let vocab = targetVocabulary else { return nil }
        return ids.map { vocab.token(for: $0) ?? "<\($0)>" }
    }

    /// `ids` detokenized: tokens joined by the target tokenizer's rule, or the ids themselves without a
    /// vocabulary. Ids in the configuration's `detokenize_skip_ids` are left out. A subword target tokenizer
    /// (`sentencepiece`, `bpe`) is applied by the `Seq2SeqText` library (`ModelText.detokenize`); here its
    /// pieces are joined by spaces as they are.
    public func detokenize(_ ids: [Int]) -> String {
        let ids = config.detokenizeSkipIDs.isEmpty ? ids : ids.filter { !config.detokenizeSkipIDs.contains($0) }
        guard let tokens = targetTokens(for: ids) else { return ids.map(String.init).joined(separator: " ") }
        return Tokenization.join(tokens, with: config.tokenizer(for: .target).kind == .characters ? .characters : .whitespace)
    }

    /// The model's parameters: the elements of every tensor its config defines (MODEL.md), less the optional
    /// biases its file leaves out; the same whatever the compute type.
    public var parameterCount: Int {
        config.tensorSpecs.reduce(0) { $0 + ($1.optional && tensor($1.name) == nil ? 0 : $1.shape.reduce(1, *)) }
    }

    /// Bytes of the model's tensors as loaded: float32 tensors (after conversion) at 4 bytes an element, a stored
    /// quantized model's weights at their stored size.
    public var weightBytes: Int {
        store.tensors.values.reduce(0) { $0 + $1.count * 4 } + store.packed.values.reduce(0) { $0 + $1.rows * $1.cols * $1.type.elementSize }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func isDirectory(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
}

func fileExists(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0
}

extension Seq2SeqModel {
    /// Bytes of weights read in place from the mapped file (aligned F32, and a stored quantized model's weights),
    /// the rest having been converted.
    public var mappedInPlaceBytes: Int {
        store.tensors.values.filter { $0.storedAs == .f32 && store.isMapped($0) }.reduce(0) { $0 + $1.count * 4 }
            + store.packed.values.filter { store.isMapped($0.base) }.reduce(0) { $0 + $1.rows * $1.cols * $1.type.elementSize }
    }
}
