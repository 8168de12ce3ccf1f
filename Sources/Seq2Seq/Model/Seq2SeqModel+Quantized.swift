// Loading a stored quantized model (docs/MODEL.md, "Stored quantized models"): the header checks, the values
// checks, and which compute type each weight family runs in.

extension Seq2SeqModel {
    /// The tensors a stored quantized file holds in a reduced type (the weights of its quantized families, and
    /// of the others with `other_families`), each with its type, after checking their dtype and shape and their
    /// int8 scale tensors. For a float model (no `quantization` key): refuses any I8 tensor and returns nothing.
    ///
    /// - Throws: `invalidModel` naming the tensor: a quantized weight missing or in the wrong dtype or shape, an
    ///   int8 weight without its F32 `<name>.scale` of one value per row, a scale that is not finite and positive,
    ///   an untied int8 or bfloat16 output weight without its F32 `decoder.output.weight.rescore` of the same shape, a
    ///   `.rescore` tensor with no such weight, or an I8 tensor outside a quantized family.
    static func checkQuantized(_ entries: [String: TensorEntry], file: SafeTensorsFile, config: ModelConfig) throws -> [String: ComputeType] {
        guard let q = config.quantization else {
            if let name = entries.keys.sorted().first(where: { entries[$0]!.dtype == .i8 }) {
                throw Seq2SeqError.invalidModel("tensor \(name) has dtype I8, which only a stored quantized model may hold (config.json has no quantization key)")
            }
            return [:]
        }
        var names: [String: ComputeType] = [:]
        for w in config.quantizableWeights where q.storedType(of: w.family) != .float32 {
            let type = q.storedType(of: w.family)
            let dtype: TensorDType = type == .int8 ? .i8 : type == .float16 ? .f16 : .bf16
            guard let e = entries[w.name] else {
                throw Seq2SeqError.invalidModel("tensor \(w.name) is missing (the \(w.family.rawValue) family is stored as \(type.rawValue): \(dtype.rawValue), shape \(w.shape))")
            }
            guard e.dtype == dtype else {
                throw Seq2SeqError.invalidModel("tensor \(w.name) has dtype \(e.dtype.rawValue), but config.json's quantization stores the \(w.family.rawValue) family as \(type.rawValue) (\(dtype.rawValue))")
            }
            guard e.shape == w.shape else {
                throw Seq2SeqError.invalidModel("tensor \(w.name) has shape \(e.shape), expected \(w.shape)")
            }
            names[w.name] = type
            guard type == .int8 else { continue }
            let scaleName = w.name + ".scale"
            guard let s = entries[scaleName] else {
                throw Seq2SeqError.invalidModel("tensor \(scaleName) is missing: an int8 weight needs one F32 scale per row (shape [\(w.shape[0])])")
            }
            guard s.dtype == .f32, s.shape == [w.shape[0]] else {
                throw Seq2SeqError.invalidModel("tensor \(scaleName) is \(s.dtype.rawValue) of shape \(s.shape), expected F32 of shape [\(w.shape[0])] (one scale per row of \(w.name))")
            }
            let raw = file.bytes(of: s)
            for i in 0..<s.count {
                let v = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                guard v.isFinite && v > 0 else {
                    throw Seq2SeqError.invalidModel("tensor \(scaleName) holds \(v) at row \(i): int8 row scales must be finite and positive")
                }
            }
        }
        if let name = config.rescoredOutput {
            let shape = config.quantizableWeights.first { $0.name == "decoder.output.weight" }!.shape
            guard let e = entries[name] else {
                throw Seq2SeqError.invalidModel("tensor \(name) is missing: \(q.storedType(of: .output) == .int8 ? "an int8" : "a bfloat16") decoder.output.weight is stored with its float32 rows (F32, shape \(shape)) for re-scoring; quantize the float32 model again with this version")
            }
            guard e.dtype == .f32, e.shape == shape else {
                throw Seq2SeqError.invalidModel("tensor \(name) is \(e.dtype.rawValue) of shape \(e.shape), expected F32 of shape \(shape) (the float32 rows of decoder.output.weight)")
            }
        }
        for name in entries.keys.sorted() where name.hasSuffix(".rescore") && name != config.rescoredOutput {
            throw Seq2SeqError.invalidModel("tensor \(name) is not used: only an untied int8 or bfloat16 decoder.output.weight is stored with float32 rows for re-scoring")
        }
        let scales = Set(names.filter { $0.value == .int8 }.map { $0.key + ".scale" })
        for (name, e) in entries where e.dtype == .i8 && names[name] != .int8 {
            throw Seq2SeqError.invalidModel("tensor \(name) has dtype I8 but is not a weight of the quantized families (\(q.families.map(\.rawValue).sorted().joined(separator: ", ")))")
        }
        for name in entries.keys where name.hasSuffix(".scale") && !scales.contains(name) {
            throw Seq2SeqError.invalidModel("tensor \(name) is not used: no int8 weight \(name.dropLast(6)) in this model")
        }
        return names
    }

    /// Throws `invalidModel` naming the first stored quantized weight holding a non-finite float16/bfloat16 value
    /// or the int8 code −128 (quantization writes −127…127), with its row and column.
    static func checkStoredValues(_ packed: [String: PackedMatrix]) throws {
        for name in packed.keys.sorted() {
            let w = packed[name]!
            for i in 0..<w.rows {
                let row = w.base + i * w.ld * w.type.elementSize
                for j in 0..<w.cols {
                    if w.type == .int8 {
                        guard row.load(fromByteOffset: j, as: Int8.self) != -128 else {
                            throw Seq2SeqError.invalidModel("tensor \(name) holds the int8 code -128 at row \(i), column \(j) (codes are -127...127)")
                        }
                    } else {
                        let v = w.element(i, j)
                        guard v.isFinite else {
                            throw Seq2SeqError.invalidModel("tensor \(name) holds a non-finite value (\(v)) at row \(i), column \(j)")
                        }
                    }
                }
            }
        }
    }

    /// The compute type of each weight family for a load with `computeType`, `families` (nil: as stored, or the
    /// type's default families) and `otherFamilies` (nil: as stored when `computeType` is the stored type or nil,
    /// else float32), the type of the families left out: float32, or float16 or bfloat16 beside a different
    /// reduced type.
    ///
    /// A float model quantizes the families at load. A stored quantized model runs each stored family in its
    /// stored type (read in place) or in float32 (dequantized); families it stores in float32 are quantized at
    /// load when asked for. Running a stored family in another reduced type is refused: its weights would be
    /// rounded twice.
    static func resolveTypes(_ config: ModelConfig, computeType: ComputeType?, families: Set<WeightFamily>?,
                             otherFamilies: ComputeType? = nil) throws -> [WeightFamily: ComputeType] {
        let stored = config.quantization
        let type = computeType ?? stored?.type ?? .float32
        let other = otherFamilies ?? (stored.map { $0.type == type ? $0.otherFamilies : .float32 } ?? .float32)
        if other != .float32 {
            guard other != .int8, type != .float32, other != type else {
                throw Seq2SeqError.invalidOptions("otherFamilies \(other.rawValue) with compute type \(type.rawValue): the other families run in float16, bfloat16 or float32, beside a different reduced compute type (int8_float16, not \(type.rawValue)_\(other.rawValue))")
            }
        }
        let chosen: Set<WeightFamily>
        if let families { chosen = families } else if let s = stored, s.type == type { chosen = s.families } else { chosen = WeightFamily.quantizedByDefault(for: type) }
        var types: [WeightFamily: ComputeType] = [:]
        for f in WeightFamily.allCases { types[f] = chosen.contains(f) ? type : other }
        guard let s = stored else { return types }
        // A stored family runs in its stored type or in float32; any other reduced type would round it twice.
        let clash = WeightFamily.allCases.filter {
            let held = s.storedType(of: $0), want = types[$0]!
            return held != .float32 && want != .float32 && want != held
        }
        if let first = clash.first {
            let held = s.storedType(of: first), want = types[first]!
            let names = clash.filter { s.storedType(of: $0) == held && types[$0] == want }.map(\.rawValue).sorted().joined(separator: ", ")
            let asked = want == type ? "compute type \(want.rawValue)" : "running them as \(want.rawValue)"
            throw Seq2SeqError.invalidModel("the model stores its \(names) weights as \(held.rawValue); \(asked) would round them a second time: load it as stored or as float32, or quantize the float32 model to \(want.rawValue)")
        }
        return types
    }
}

extension PackedMatrix {
    /// The matrix in float32, `(rows, cols)` contiguous, in memory from `allocate(count)`: element `(i, j)` is
    /// `element(i, j)` (int8: `scale_i · q_ij`; float16/bfloat16 widened exactly).
    func dequantized(allocate: (Int) -> UnsafeMutablePointer<Float>) -> ConstMatrixView {
        let out = allocate(rows * cols)
        for i in 0..<rows {
            for j in 0..<cols { out[i * cols + j] = element(i, j) }
        }
        return ConstMatrixView(UnsafePointer(out), rows: rows, cols: cols)
    }
}
