/// The element types a safetensors file may hold for this engine (MODEL.md: F32, or F16/BF16/F64 converted at load;
/// a stored quantized model's weights also I8, F16 or BF16 read in place).
public enum TensorDType: String, Sendable, CaseIterable {
    /// IEEE single precision, read in place when aligned.
    case f32 = "F32"
    /// IEEE half precision, converted to float32 at load.
    case f16 = "F16"
    /// bfloat16, converted to float32 at load.
    case bf16 = "BF16"
    /// IEEE double precision, converted to float32 at load.
    case f64 = "F64"
    /// Signed 8-bit integers: only the int8 weights of a stored quantized model (docs/MODEL.md).
    case i8 = "I8"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .f64: return 8
        case .i8: return 1
        }
    }
}

/// One tensor's entry in a safetensors header, validated.
public struct TensorEntry: Sendable, Equatable {
    /// The tensor's name in the file's header.
    public let name: String
    /// The stored element type.
    public let dtype: TensorDType
    /// The shape, outermost first; `[]` is a scalar.
    public let shape: [Int]
    /// Byte range inside the data section (after the 8-byte length and the header).
    public let dataRange: Range<Int>
    /// Number of elements (the product of `shape`).
    public var count: Int { shape.reduce(1, *) }
}

/// A safetensors file, memory-mapped and validated before any tensor is read.
///
/// Layout: an 8-byte little-endian header length `N`, `N` bytes of JSON
/// `{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}`,
/// then the data section, to which the offsets are relative. Every check
/// failure throws `Seq2SeqError.invalidModel` naming the tensor or key, what
/// was expected and what was found. Sizes use checked arithmetic, so a hostile
/// header cannot make the reader allocate or read beyond the file.
struct SafeTensorsFile: @unchecked Sendable {
    let file: MappedFile
    /// Tensors by name.
    let entries: [String: TensorEntry]
    /// The optional `__metadata__` string map.
    let metadata: [String: String]
    /// Offset of the data section in the file.
    let dataStart: Int

    /// The largest header accepted, as in the reference safetensors implementation. Real headers are a few
    /// kilobytes; the parsed JSON tree takes several times the header's size, so this bounds the memory a
    /// hostile header can make the reader use, whatever the file size.
    static let maxHeaderLength: UInt64 = 100_000_000

    init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    init(file: MappedFile) throws {
        self.file = file
        let name = file.path
        guard file.size >= 8 else {
            throw Seq2SeqError.invalidModel("\(name): file of \(file.size) bytes is too short for a safetensors header (8-byte length expected)")
        }
        var n: UInt64 = 0
        for k in 0..<8 { n |= UInt64(file.base.load(fromByteOffset: k, as: UInt8.self)) << (8 * UInt64(k)) }
        let available = UInt64(file.size - 8)
        guard n <= available else {
            throw Seq2SeqError.invalidModel("\(name): header length \(n) exceeds the \(available) bytes after it")
        }
        guard n <= Self.maxHeaderLength else {
            throw Seq2SeqError.invalidModel("\(name): header length \(n) exceeds the limit of \(Self.maxHeaderLength) bytes")
        }
        guard n >= 2 else {
            throw Seq2SeqError.invalidModel("\(name): header length \(n) is too short for a JSON object")
        }
        let headerLength = Int(n)
        dataStart = 8 + headerLength
        let dataSize = file.size - dataStart
        let json: JSONValue
        do {
            json = try JSONValue.parse(file.bytes(8..<dataStart))
        } catch {
            throw Seq2SeqError.invalidModel("\(name): header is not valid JSON: \(error)")
        }
        guard case .object(let members) = json else {
            throw Seq2SeqError.invalidModel("\(name): header must be a JSON object, found \(json.kindName)")
        }
        var entries: [String: TensorEntry] = [:]
        var metadata: [String: String] = [:]
        for (key, value) in members {
            if key == "__metadata__" {
                guard case .object(let meta) = value else {
                    throw Seq2SeqError.invalidModel("\(name): __metadata__ must be an object of strings, found \(value.kindName)")
                }
                for (mk, mv) in meta {
                    guard case .string(let s) = mv else {
                        throw Seq2SeqError.invalidModel("\(name): __metadata__.\(mk) must be a string, found \(mv.kindName)")
                    }
                    metadata[mk] = s
                }
                continue
            }
            entries[key] = try Self.entry(key, value, dataSize: dataSize)
        }
        // Tensors may not share bytes.
        let sorted = entries.values.filter { !$0.dataRange.isEmpty }.sorted { $0.dataRange.lowerBound < $1.dataRange.lowerBound }
        for (a, b) in zip(sorted, sorted.dropFirst()) where b.dataRange.lowerBound < a.dataRange.upperBound {
            throw Seq2SeqError.invalidModel(
                "tensor \(b.name): data_offsets [\(b.dataRange.lowerBound), \(b.dataRange.upperBound)] overlap tensor \(a.name) [\(a.dataRange.lowerBound), \(a.dataRange.upperBound)]")
        }
        self.entries = entries
        self.metadata = metadata
    }

    private static func entry(_ name: String, _ value: JSONValue, dataSize: Int) throws -> TensorEntry {
        func fail(_ m: String) -> Seq2SeqError { .invalidModel("tensor \(name): \(m)") }
        guard case .object(let fields) = value else { throw fail("header entry must be an object, found \(value.kindName)") }
        for (k, _) in fields where !["dtype", "shape", "data_offsets"].contains(k) {
            throw fail("unknown header field \"\(k)\"")
        }
        guard case .string(let dt)? = value["dtype"] else { throw fail("missing or non-string \"dtype\"") }
        guard let dtype = TensorDType(rawValue: dt) else {
            throw fail("dtype \(dt) is not supported (expected one of F32, F16, BF16, F64, I8)")
        }
        guard case .array(let dims)? = value["shape"] else { throw fail("missing or non-array \"shape\"") }
        var shape: [Int] = []
        var count = 1
        for d in dims {
            guard case .int(let v) = d, v >= 0 else { throw fail("shape \(dims.map(Self.show)) has an entry that is not a non-negative integer") }
            shape.append(v)
            let (p, overflow) = count.multipliedReportingOverflow(by: v)
            guard !overflow else { throw fail("shape \(shape) overflows the element count") }
            count = p
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.size)
        guard !overflow else { throw fail("shape \(shape) overflows the byte size") }
        guard case .array(let offs)? = value["data_offsets"], offs.count == 2,
              case .int(let begin) = offs[0], case .int(let end) = offs[1] else {
            throw fail("\"data_offsets\" must be two integers")
        }
        guard begin >= 0, begin <= end, end <= dataSize else {
            throw fail("data_offsets [\(begin), \(end)] outside the data section of \(dataSize) bytes")
        }
        guard end - begin == bytes else {
            throw fail("data_offsets [\(begin), \(end)] hold \(end - begin) bytes, but shape \(shape) of \(dtype.rawValue) needs \(bytes)")
        }
        return TensorEntry(name: name, dtype: dtype, shape: shape, dataRange: begin..<end)
    }

    private static func show(_ v: JSONValue) -> String {
        switch v {
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .string(let s): return "\"\(s)\""
        default: return v.kindName
        }
    }

    /// The raw bytes of a tensor (no copy).
    func bytes(of entry: TensorEntry) -> UnsafeRawBufferPointer {
        file.bytes((dataStart + entry.dataRange.lowerBound)..<(dataStart + entry.dataRange.upperBound))
    }
}
