/// How a stored quantized model's weights are kept in `model.safetensors`: config.json's `quantization` key
/// (docs/MODEL.md, "Stored quantized models").
///
/// ```json
/// "quantization": {"type": "int8", "families": ["attention", "bridge", "encoder", "output"]}
/// "quantization": {"type": "int8", "families": ["bridge", "output"], "other_families": "float16"}
/// ```
///
/// Every weight of the listed families is stored in `type` (int8: `I8` codes plus an F32 `<name>.scale` tensor
/// of one scale per output row; float16: `F16`; bfloat16: `BF16`); the weights of every other family are stored
/// in `other_families` when present (`float16` or `bfloat16`: `int8_float16`), and every other tensor stays as a
/// float model stores it (F32 when written by `seq2seq quantize`).
public struct StoredQuantization: Sendable, Equatable {
    /// The stored element type of the quantized weights: `int8`, `float16` or `bfloat16`.
    public var type: ComputeType
    /// The weight families stored in `type`.
    public var families: Set<WeightFamily>
    /// The stored type of the other families' weights: float32 (as a float model stores them), float16 or
    /// bfloat16.
    public var otherFamilies: ComputeType

    /// A description of a stored quantized model.
    public init(type: ComputeType, families: Set<WeightFamily>, otherFamilies: ComputeType = .float32) {
        self.type = type
        self.families = families
        self.otherFamilies = otherFamilies
    }

    /// The type `family`'s weights are stored in (float32: as a float model stores them).
    public func storedType(of family: WeightFamily) -> ComputeType {
        families.contains(family) ? type : otherFamilies
    }

    /// config.json's `quantization` object, keys in a stable order.
    var jsonText: String {
        let names = families.map(\.rawValue).sorted().map { "\"\($0)\"" }.joined(separator: ", ")
        let other = otherFamilies == .float32 ? "" : ", \"other_families\": \"\(otherFamilies.rawValue)\""
        return "{\"type\": \"\(type.rawValue)\", \"families\": [\(names)]\(other)}"
    }

    /// Parses config.json's `quantization` value; every fault names the key.
    static func parse(_ value: JSONValue) throws -> StoredQuantization {
        func bad(_ m: String) -> Seq2SeqError { .invalidModel("config.json: quantization\(m)") }
        guard case .object(let members) = value else { throw bad(" must be an object, found \(value.kindName)") }
        for (k, _) in members where !["type", "families", "other_families"].contains(k) {
            throw bad(".\(k) is an unknown key (expected type, families, other_families)")
        }
        guard case .string(let t)? = value["type"] else { throw bad(".type is missing or not a string") }
        guard let type = ComputeType(rawValue: t), type != .float32 else {
            throw bad(".type has unknown value \"\(t)\" (expected one of int8, float16, bfloat16)")
        }
        guard case .array(let items)? = value["families"] else { throw bad(".families is missing or not an array") }
        var families = Set<WeightFamily>()
        for (i, item) in items.enumerated() {
            guard case .string(let s) = item, let f = WeightFamily(rawValue: s) else {
                throw bad(".families[\(i)] is not one of \(WeightFamily.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard families.insert(f).inserted else { throw bad(".families names \(s) twice") }
        }
        guard !families.isEmpty else { throw bad(".families is empty (a model with no quantized family has no quantization key)") }
        var other = ComputeType.float32
        if let o = value["other_families"] {
            guard case .string(let name) = o, let t = ComputeType(rawValue: name), t == .float16 || t == .bfloat16, t != type else {
                var found = o.kindName
                if case .string(let name) = o { found = "\"\(name)\"" }
                throw bad(".other_families must be \"float16\" or \"bfloat16\" and differ from type (found \(found))")
            }
            other = t
        }
        return StoredQuantization(type: type, families: families, otherFamilies: other)
    }
}

/// One weight matrix a compute type may quantize: its tensor name and family.
struct QuantizableWeight {
    /// MODEL.md's name; for a tied output weight, `decoder.output.weight` (a stored quantized file holds it
    /// under that name, beside the float `decoder.embedding.weight`).
    let name: String
    let family: WeightFamily
    /// `(rows, cols)`.
    let shape: [Int]
}

extension ModelConfig {
    /// Every weight matrix of this configuration that belongs to a `WeightFamily`, in `tensorSpecs` order
    /// (embeddings, biases and the attention energy vector are in none).
    var quantizableWeights: [QuantizableWeight] {
        var out: [QuantizableWeight] = []
        for spec in tensorSpecs where !spec.optional {
            let n = spec.name
            let family: WeightFamily?
            if n.hasPrefix("encoder.rnn.") { family = .encoder }
            else if n.hasPrefix("decoder.rnn.") { family = .recurrent }
            else if n.hasPrefix("bridge") { family = .bridge }
            else if n.hasPrefix("decoder.attention.") && !n.hasPrefix("decoder.attention.energy") { family = .attention }
            else if n == "decoder.output.weight" || n == "decoder.output_projection.weight" { family = .output }
            else { family = nil }
            if let family { out.append(QuantizableWeight(name: n, family: family, shape: spec.shape)) }
        }
        if tieTargetEmbeddings {
            out.append(QuantizableWeight(name: "decoder.output.weight", family: .output, shape: [targetVocabSize, embeddingSize]))
        }
        return out
    }

    /// The F32 tensor a stored int8 or bfloat16 output weight is re-scored with (`decoder.output.weight.rescore`,
    /// the output weight's float32 rows), or nil when this configuration stores none: the output family not
    /// stored in a re-scored type, or a tied output weight (whose float32 rows are `decoder.embedding.weight`).
    var rescoredOutput: String? {
        guard let q = quantization, q.storedType(of: .output).rescoresOutput, !tieTargetEmbeddings else { return nil }
        return "decoder.output.weight.rescore"
    }
}

/// A weight of a stored quantized model exactly as the file holds it (for checks and the reference
/// implementation, which dequantizes it with plain loops).
public struct StoredWeight: Sendable {
    /// `int8`, `float16` or `bfloat16`.
    public let type: ComputeType
    /// Rows (output size).
    public let rows: Int
    /// Columns (input size).
    public let cols: Int
    /// `(rows · cols)` row-major stored values: int8 codes (−127…127), or the 16-bit patterns of float16/bfloat16.
    public let codes: [Int32]
    /// `(rows)` int8 row scales (`w_ij = scales[i] · codes[i·cols + j]`); nil for float16/bfloat16.
    public let scales: [Float]?
}

extension Seq2SeqModel {
    /// The reduced type a stored quantized file holds the weight `name` in, or nil when it is stored as float.
    public func storedType(of name: String) -> ComputeType? { store.packed[name]?.type }

    /// The weight `name` as a stored quantized file holds it, or nil when it is not stored in a reduced type
    /// (a float model's weights, and a stored model's float families, are in `tensor(_:)`).
    public func storedWeight(_ name: String) -> StoredWeight? {
        guard let w = store.packed[name] else { return nil }
        var codes: [Int32] = []
        codes.reserveCapacity(w.rows * w.cols)
        for i in 0..<w.rows {
            let row = w.base + i * w.ld * w.type.elementSize
            for j in 0..<w.cols {
                codes.append(w.type == .int8 ? Int32(row.load(fromByteOffset: j, as: Int8.self))
                                             : Int32(row.loadUnaligned(fromByteOffset: 2 * j, as: UInt16.self)))
            }
        }
        let scales = w.scales.map { Array(UnsafeBufferPointer(start: $0, count: w.rows)) }
        return StoredWeight(type: w.type, rows: w.rows, cols: w.cols, codes: codes, scales: scales)
    }
}
