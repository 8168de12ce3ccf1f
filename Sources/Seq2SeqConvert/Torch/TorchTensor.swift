import Seq2Seq

/// The element types of PyTorch storages this reader understands, named as in PyTorch (`torch.float32`, ...).
public enum TorchDType: String, Sendable, CaseIterable {
    case float32, float16, bfloat16, float64
    case int64, int32, int16, int8, uint8, bool

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .float64, .int64: return 8
        case .float32, .int32: return 4
        case .float16, .bfloat16, .int16: return 2
        case .int8, .uint8, .bool: return 1
        }
    }

    /// Whether the elements are floating-point numbers (read with `TorchTensor.floats()`), else integers or
    /// booleans (read with `TorchTensor.ints()`).
    public var isFloatingPoint: Bool { [.float32, .float16, .bfloat16, .float64].contains(self) }

    /// The dtype of a legacy storage class (`torch.FloatStorage`, ...) or of a dtype global (`torch.float32`,
    /// `torch.float`, ...); nil for any other name. `torch.UntypedStorage` is bytes (`uint8`).
    static func named(_ qualifiedName: String) -> TorchDType? {
        switch qualifiedName {
        case "torch.FloatStorage", "torch.float32", "torch.float": return .float32
        case "torch.HalfStorage", "torch.float16", "torch.half": return .float16
        case "torch.BFloat16Storage", "torch.bfloat16": return .bfloat16
        case "torch.DoubleStorage", "torch.float64", "torch.double": return .float64
        case "torch.LongStorage", "torch.int64", "torch.long": return .int64
        case "torch.IntStorage", "torch.int32", "torch.int": return .int32
        case "torch.ShortStorage", "torch.int16", "torch.short": return .int16
        case "torch.CharStorage", "torch.int8": return .int8
        case "torch.ByteStorage", "torch.uint8", "torch.UntypedStorage", "torch.storage.UntypedStorage": return .uint8
        case "torch.BoolStorage", "torch.bool": return .bool
        default: return nil
        }
    }
}

/// One storage of a checkpoint: the record `data/<key>` of the archive, read in place from the mapped file.
///
/// Several tensors may share a storage (views, tied weights): they then hold the same `TorchStorage` object,
/// so `a.storage === b.storage` tells a converter that two weights are tied.
public final class TorchStorage: @unchecked Sendable {
    /// The record's key in the archive (`data/<key>`).
    public let key: String
    /// The element type the persistent id declares (`torch.FloatStorage` is float32, ...).
    public let dtype: TorchDType
    /// Number of elements (the record holds `count × dtype.size` bytes: checked when the storage is read).
    public let count: Int
    /// The device the storage was saved from (`"cpu"`, `"cuda:0"`, ...); the bytes are read the same way.
    public let location: String
    /// The record's bytes, little-endian.
    let bytes: UnsafeRawBufferPointer
    /// What keeps `bytes` alive (the mapped file).
    let owner: AnyObject

    init(key: String, dtype: TorchDType, count: Int, location: String, bytes: UnsafeRawBufferPointer, owner: AnyObject) {
        precondition(count >= 0 && bytes.count == count * dtype.size)
        self.key = key
        self.dtype = dtype
        self.count = count
        self.location = location
        self.bytes = bytes
        self.owner = owner
    }
}

/// A tensor of a checkpoint: a strided view of a `TorchStorage`, as PyTorch describes it
/// (`_rebuild_tensor_v2(storage, storage_offset, size, stride, ...)`).
///
/// Element `(i0, i1, ...)` is storage element `storageOffset + Σ ik·strides[k]`. Every view was checked
/// against its storage when the checkpoint was read: it lies inside the storage whatever its strides.
public struct TorchTensor: @unchecked Sendable, Equatable {
    /// The storage the view reads; shared by every tensor that views it.
    public let storage: TorchStorage
    /// The shape, outermost first; `[]` is a scalar.
    public let shape: [Int]
    /// Element steps per dimension, in elements (not bytes).
    public let strides: [Int]
    /// The first element's index in the storage.
    public let storageOffset: Int

    /// The element type (the storage's).
    public var dtype: TorchDType { storage.dtype }

    /// Number of elements (the product of `shape`).
    public var count: Int { shape.reduce(1, *) }

    /// Whether the elements are consecutive in the storage in row-major order (sizes 1 may have any stride; a
    /// view with no elements is contiguous).
    public var isContiguous: Bool {
        // An empty view's other sizes may be anything its checks allow: (0, 2, 2⁶²) with strides (0, 2⁶², 1)
        // fits any storage, and the product of its inner sizes overflowed (an arithmetic trap in floats()).
        if shape.contains(0) { return true }
        var expected = 1
        for (n, s) in zip(shape, strides).reversed() {
            if n != 1 && s != expected { return false }
            expected *= n  // a product of trailing sizes: at most `count`, which the view's checks bound
        }
        return true
    }

    /// Checks the view against its storage; the message names what is wrong.
    init(storage: TorchStorage, shape: [Int], strides: [Int], storageOffset: Int) throws(TensorViewError) {
        guard shape.count == strides.count else {
            throw TensorViewError("size \(shape) and stride \(strides) have different ranks")
        }
        guard shape.count <= 64 else { throw TensorViewError("\(shape.count) dimensions exceed the limit of 64") }
        guard shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }), storageOffset >= 0 else {
            throw TensorViewError("size \(shape), stride \(strides) or storage offset \(storageOffset) is negative")
        }
        var count = 1, last = storageOffset
        for (n, s) in zip(shape, strides) {
            let (c, o1) = count.multipliedReportingOverflow(by: n)
            guard !o1 else { throw TensorViewError("size \(shape) overflows the element count") }
            count = c
            if n > 0 {
                let (step, o2) = (n - 1).multipliedReportingOverflow(by: s)
                let (l, o3) = last.addingReportingOverflow(step)
                guard !o2, !o3 else { throw TensorViewError("size \(shape) with stride \(strides) overflows the storage index") }
                last = l
            }
        }
        if count > 0 {
            guard last < storage.count else {
                throw TensorViewError("size \(shape), stride \(strides) and offset \(storageOffset) reach element \(last) of storage \"\(storage.key)\", which holds \(storage.count)")
            }
        } else {
            guard storageOffset <= storage.count else {
                throw TensorViewError("storage offset \(storageOffset) is past the end of storage \"\(storage.key)\" of \(storage.count) elements")
            }
        }
        self.storage = storage
        self.shape = shape
        self.strides = strides
        self.storageOffset = storageOffset
    }

    /// The same view of the same storage object.
    public static func == (a: TorchTensor, b: TorchTensor) -> Bool {
        a.storage === b.storage && a.shape == b.shape && a.strides == b.strides && a.storageOffset == b.storageOffset
    }

    /// The elements in row-major order as `Float` (float16, bfloat16 and float64 converted; float64 values beyond
    /// Float's range become infinities). A non-contiguous view (a transpose) is copied element by element,
    /// honouring its strides. Throws for integer and boolean tensors.
    public func floats() throws -> [Float] {
        guard dtype.isFloatingPoint else {
            throw Seq2SeqError.invalidModel("a tensor of dtype \(dtype.rawValue) (storage \"\(storage.key)\") holds no floating-point values: read it with ints()")
        }
        if let direct = float32Buffer { return Array(direct) }
        let raw = storage.bytes
        return try gather { i -> Float in
            switch dtype {
            case .float32: return Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
            case .float16: return halfToFloat(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            case .bfloat16: return Float(bitPattern: UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16)
            default: return Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
            }
        }
    }

    /// The elements in row-major order as `Int` (booleans are 0 and 1), honouring strides. Throws for
    /// floating-point tensors.
    public func ints() throws -> [Int] {
        guard !dtype.isFloatingPoint else {
            throw Seq2SeqError.invalidModel("a tensor of dtype \(dtype.rawValue) (storage \"\(storage.key)\") holds floating-point values: read it with floats()")
        }
        let raw = storage.bytes
        return try gather { i -> Int in
            switch dtype {
            case .int64: return Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)))
            case .int32: return Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
            case .int16: return Int(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)))
            case .int8: return Int(raw.load(fromByteOffset: i, as: Int8.self))
            case .bool: return raw[i] != 0 ? 1 : 0
            default: return Int(raw[i])
            }
        }
    }

    /// The float32 elements in place, without a copy, when the tensor is float32, contiguous and aligned in the
    /// file (as `torch.save` aligns its records) on a little-endian machine; nil otherwise (use `floats()`).
    /// The buffer points into the checkpoint's mapping, which stays valid while this tensor or its storage lives.
    public var float32Buffer: UnsafeBufferPointer<Float>? {
        #if _endian(little)
        guard dtype == .float32, isContiguous else { return nil }
        let n = count
        guard n > 0 else { return UnsafeBufferPointer(start: nil, count: 0) }
        let p = storage.bytes.baseAddress! + 4 * storageOffset
        guard Int(bitPattern: p) % MemoryLayout<Float>.alignment == 0 else { return nil }
        return UnsafeBufferPointer(start: p.assumingMemoryBound(to: Float.self), count: n)
        #else
        return nil
        #endif
    }

    /// `element(i)` for each storage index of the view, in row-major order.
    /// Elements a view may hold beyond its storage's (a broadcast view, stride 0) and still be read into an
    /// array: a hostile checkpoint's (42, 2^30) view of a 42-element storage would otherwise ask for 168 GiB.
    static let broadcastReadLimit = 1 << 24

    private func gather<T>(_ element: (Int) -> T) throws -> [T] {
        let n = count
        guard n > 0 else { return [] }
        guard n <= storage.count || n <= Self.broadcastReadLimit else {
            throw Seq2SeqError.invalidModel("a view of size \(shape) and stride \(strides) holds \(n) elements over storage \"\(storage.key)\" of \(storage.count): more than \(Self.broadcastReadLimit) repeated elements are not read")
        }
        var out: [T] = []
        out.reserveCapacity(n)
        if isContiguous {
            for i in storageOffset..<(storageOffset + n) { out.append(element(i)) }
            return out
        }
        let rank = shape.count
        var index = [Int](repeating: 0, count: rank)
        var at = storageOffset
        for _ in 0..<n {
            out.append(element(at))
            var d = rank - 1
            while d >= 0 {  // steps only inside the checked extent, so no sum can overflow
                if index[d] + 1 < shape[d] {
                    index[d] += 1
                    at += strides[d]
                    break
                }
                at -= strides[d] * (shape[d] - 1)
                index[d] = 0
                d -= 1
            }
        }
        return out
    }
}

/// Why a tensor view does not fit its storage (the unpickler adds the file, offset and opcode).
struct TensorViewError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
