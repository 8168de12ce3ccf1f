#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// `seq2seq quantize`: a float model written back as a stored quantized model (docs/MODEL.md, "Stored quantized
// models"). The quantized bits are the ones `Seq2SeqModel(directory:computeType:families:otherFamilies:)` makes at load
// (`Kernels.pack`), so a stored model decodes bit for bit like the float model quantized at load.

extension Seq2SeqModel {
    /// Writes this float model as a stored quantized model into `directory`: `config.json` with a `quantization`
    /// key, `model.safetensors` with the weights of `families` in `type` (int8 codes with an F32 `<name>.scale`
    /// per row, F16 or BF16; an untied int8 or bfloat16 output weight also as F32 `decoder.output.weight.rescore`, for
    /// re-scoring) and every other tensor in F32, every tensor's data 64-byte aligned; the directory's other
    /// files (vocabularies, subword models) are copied. Then loads the result to check it.
    ///
    /// - Parameters:
    ///   - directory: the model directory to write (created when missing).
    ///   - type: `int8`, `float16` or `bfloat16`.
    ///   - families: the families to quantize; nil means `WeightFamily.quantizedByDefault(for: type)`.
    ///   - otherFamilies: the stored type of the other families' weights: float32 (default), or float16 or
    ///     bfloat16 (`int8_float16`, config.json's `other_families`).
    ///   - overwrite: replace files in a non-empty `directory` (else that is an error).
    /// - Throws: `invalidModel` when this model is itself stored quantized, the type is float32, the family set is
    ///   empty, `otherFamilies` is int8 or `type`, `directory` is this model's own or holds files (without `overwrite`), or a file cannot be written.
    @discardableResult
    public func writeQuantized(to directory: String, type: ComputeType, families: Set<WeightFamily>? = nil,
                               otherFamilies: ComputeType = .float32, overwrite: Bool = false) throws -> Seq2SeqModel {
        if let q = config.quantization {
            throw Seq2SeqError.invalidModel("\(self.directory) is already a stored \(q.type.rawValue) model; quantize the float32 model it was made from")
        }
        guard type != .float32 else {
            throw Seq2SeqError.invalidModel("quantize --to float32 makes nothing new: the model is float32 already (choose int8, float16 or bfloat16)")
        }
        let families = families ?? WeightFamily.quantizedByDefault(for: type)
        guard !families.isEmpty else {
            throw Seq2SeqError.invalidModel("no weight family to quantize (families is empty)")
        }
        guard otherFamilies == .float32 || (otherFamilies != .int8 && otherFamilies != type) else {
            throw Seq2SeqError.invalidModel("the other families are stored as float32, float16 or bfloat16, other than \(type.rawValue) (found \(otherFamilies.rawValue))")
        }
        let out = directory.hasSuffix("/") && directory.count > 1 ? String(directory.dropLast()) : directory
        try prepareDirectory(out, overwrite: overwrite)

        var config = self.config
        let quantization = StoredQuantization(type: type, families: families, otherFamilies: otherFamilies)
        config.quantization = quantization
        var parts: [SafeTensorsPart] = []
        let weights = config.quantizableWeights.filter { quantization.storedType(of: $0.family) != .float32 }
        let quantizedNames = Set(weights.map(\.name))
        for name in store.tensors.keys.sorted() where !quantizedNames.contains(name) {
            let t = store.tensors[name]!
            parts.append(SafeTensorsPart(name: name, dtype: .f32, shape: t.shape, bytes: UnsafeRawBufferPointer(start: t.base, count: 4 * t.count)))
        }
        let scratch = TensorMemory(file: nil)  // the packed copies, freed when written
        for w in weights {
            let type = quantization.storedType(of: w.family)
            let source = store.tensors[w.name] ?? store.tensors["decoder.embedding.weight"]!  // tied output
            let packed = Kernels.pack(source.matrix, as: type, allocate: scratch.allocateBytes)
            let dtype: TensorDType = type == .int8 ? .i8 : type == .float16 ? .f16 : .bf16
            parts.append(SafeTensorsPart(name: w.name, dtype: dtype, shape: w.shape,
                                         bytes: UnsafeRawBufferPointer(start: packed.base, count: packed.rows * packed.cols * type.elementSize)))
            if let scales = packed.scales {
                parts.append(SafeTensorsPart(name: w.name + ".scale", dtype: .f32, shape: [w.shape[0]],
                                             bytes: UnsafeRawBufferPointer(start: scales, count: 4 * packed.rows)))
            }
            if config.rescoredOutput == w.name + ".rescore" {
                // The float32 rows an int8 or bfloat16 output product re-scores its best candidates with.
                parts.append(SafeTensorsPart(name: w.name + ".rescore", dtype: .f32, shape: w.shape,
                                             bytes: UnsafeRawBufferPointer(start: source.base, count: 4 * source.count)))
            }
        }
        try writeAll(out + "/model.safetensors", SafeTensorsPart.fileBytes(parts, metadata: metadata))
        try writeAll(out + "/config.json", Array(config.jsonText.utf8))
        for name in try directoryEntries(self.directory) where name != "config.json" && name != "model.safetensors" {
            let path = self.directory + "/" + name
            guard !isDirectory(path) else { continue }
            try writeAll(out + "/" + name, try readFile(path))
        }
        return try Seq2SeqModel(directory: out)
    }

    private func prepareDirectory(_ out: String, overwrite: Bool) throws {
        if isDirectory(out) {
            var a = stat(), b = stat()
            if stat(out, &a) == 0 && stat(directory, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino {
                throw Seq2SeqError.invalidModel("the output directory \(out) is the model's own directory; choose another")
            }
            if !overwrite, !(try directoryEntries(out)).isEmpty {
                throw Seq2SeqError.invalidModel("the output directory \(out) is not empty (--force replaces its files)")
            }
        } else if fileExists(out) {
            throw Seq2SeqError.invalidModel("the output path \(out) exists and is not a directory")
        } else if mkdir(out, 0o755) != 0 {
            throw Seq2SeqError.invalidModel("cannot create \(out): \(String(cString: strerror(errno)))")
        }
    }
}

/// One tensor to write: its safetensors name, dtype, shape and little-endian bytes.
struct SafeTensorsPart {
    let name: String
    let dtype: TensorDType
    let shape: [Int]
    let bytes: UnsafeRawBufferPointer

    /// Alignment of the data section and of every tensor's data in the file (a cache line; the kernels' loads need
    /// only the element size).
    static let alignment = 64

    /// A safetensors file: the 8-byte header length, the JSON header padded with spaces so that the data section
    /// starts at a multiple of `alignment`, then each tensor at an offset that is a multiple of `alignment`
    /// (zero bytes between them).
    static func fileBytes(_ parts: [SafeTensorsPart], metadata: [String: String]) -> [UInt8] {
        var entries: [String] = []
        if !metadata.isEmpty {
            let items = metadata.keys.sorted().map { "\(JSONValue.literal($0)):\(JSONValue.literal(metadata[$0]!))" }
            entries.append("\"__metadata__\":{\(items.joined(separator: ","))}")
        }
        var offsets: [Int] = []
        var offset = 0
        for p in parts {
            offset = (offset + alignment - 1) / alignment * alignment
            offsets.append(offset)
            let shape = p.shape.map(String.init).joined(separator: ",")
            entries.append("\(JSONValue.literal(p.name)):{\"dtype\":\"\(p.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + p.bytes.count)]}")
            offset += p.bytes.count
        }
        var header = Array(("{" + entries.joined(separator: ",") + "}").utf8)
        while (8 + header.count) % alignment != 0 { header.append(UInt8(ascii: " ")) }
        var out = [UInt8]()
        out.reserveCapacity(8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: header)
        let dataStart = out.count
        for (p, o) in zip(parts, offsets) {
            out.append(contentsOf: repeatElement(0, count: dataStart + o - out.count))
            out.append(contentsOf: p.bytes)
        }
        return out
    }
}

/// The names in `path` (no `.`/`..`), sorted.
private func directoryEntries(_ path: String) throws -> [String] {
    guard let d = opendir(path) else {
        throw Seq2SeqError.invalidModel("cannot list \(path): \(String(cString: strerror(errno)))")
    }
    defer { closedir(d) }
    var names: [String] = []
    while let e = readdir(d) {
        let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted()
}

/// Writes `bytes` to `path` (replacing it) through a temporary file renamed into place.
private func writeAll(_ path: String, _ bytes: [UInt8]) throws {
    let tmp = path + ".tmp"
    let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { throw Seq2SeqError.invalidModel("cannot write \(path): \(String(cString: strerror(errno)))") }
    var done = 0
    while done < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, bytes.count - done) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else {
            let why = String(cString: strerror(errno))
            close(fd)
            unlink(tmp)
            throw Seq2SeqError.invalidModel("cannot write \(path): \(why)")
        }
        done += n
    }
    guard close(fd) == 0, rename(tmp, path) == 0 else {
        throw Seq2SeqError.invalidModel("cannot write \(path): \(String(cString: strerror(errno)))")
    }
}
