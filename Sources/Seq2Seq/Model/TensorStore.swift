/// A named float32 tensor of a loaded model, read in place from the mapped
/// file when it is stored as aligned F32, otherwise converted once at load.
public struct Tensor: @unchecked Sendable {
    /// The name, as in the safetensors file (PyTorch `state_dict` names).
    public let name: String
    /// The shape, outermost first (row-major).
    public let shape: [Int]
    /// The dtype the file stored it in (the values here are always F32).
    public let storedAs: TensorDType
    @usableFromInline let base: UnsafePointer<Float>
    /// The memory `base` points into, kept alive as long as the tensor is: a tensor may outlive its model.
    let memory: TensorMemory

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// A copy of the elements, row-major.
    public var scalars: [Float] { Array(UnsafeBufferPointer(start: base, count: count)) }

    /// Element at a flat row-major index.
    public subscript(flat i: Int) -> Float {
        precondition(i >= 0 && i < count, "index \(i) outside tensor \(name) of \(count) elements")
        return base[i]
    }

    /// The tensor as a `(shape[0], product of the rest)` matrix view.
    var matrix: ConstMatrixView {
        let rows = shape.first ?? 1
        return ConstMatrixView(base, rows: rows, cols: rows == 0 ? 0 : count / rows)
    }
}

/// The memory behind a model's tensors: the mapped file and any converted or derived buffers, released when
/// the store and every `Tensor` handed out are gone.
final class TensorMemory: @unchecked Sendable {
    let file: SafeTensorsFile?
    private var owned: [UnsafeMutableBufferPointer<Float>] = []
    private var ownedBytes: [UnsafeMutableRawPointer] = []

    init(file: SafeTensorsFile?) { self.file = file }

    deinit {
        for b in owned { b.deallocate() }
        for b in ownedBytes { b.deallocate() }
    }

    /// A new owned buffer of `count` bytes, 64-byte aligned, uninitialized.
    func allocateBytes(_ count: Int) -> UnsafeMutableRawPointer {
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 64)
        ownedBytes.append(p)
        return p
    }

    /// A new owned buffer of `count` floats, zero-filled.
    func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
        let b = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(count, 1))
        b.initialize(repeating: 0)
        owned.append(b)
        return b.baseAddress!
    }
}

/// A model's tensors by name, over their `TensorMemory`.
final class TensorStore: @unchecked Sendable {
    private(set) var tensors: [String: Tensor] = [:]
    /// A stored quantized model's weights in their stored type, by name: `(rows, cols)` pointing into the mapped
    /// file (a copy only when the file misaligns them for their element type); int8 scales from `<name>.scale`.
    private(set) var packed: [String: PackedMatrix] = [:]
    private var file: SafeTensorsFile? { memory.file }
    private let memory: TensorMemory

    /// Every tensor of `file`; those named in `quantized` (checked by `Seq2SeqModel.checkQuantized`) are kept in
    /// `packed` in their stored type, the others converted to float32 where not stored as aligned F32.
    init(file: SafeTensorsFile, quantized: [String: ComputeType] = [:]) {
        memory = TensorMemory(file: file)
        for entry in file.entries.values where quantized[entry.name] == nil {
            let raw = file.bytes(of: entry)
            let n = entry.count
            let base: UnsafePointer<Float>
            if entry.dtype == .f32, n > 0, Int(bitPattern: raw.baseAddress) % MemoryLayout<Float>.alignment == 0 {
                #if _endian(little)
                base = raw.baseAddress!.assumingMemoryBound(to: Float.self)
                #else
                base = UnsafePointer(convert(raw, entry.dtype, n))
                #endif
            } else {
                base = UnsafePointer(convert(raw, entry.dtype, n))
            }
            tensors[entry.name] = Tensor(name: entry.name, shape: entry.shape, storedAs: entry.dtype, base: base, memory: memory)
        }
        for (name, type) in quantized {
            let entry = file.entries[name]!
            let raw = file.bytes(of: entry)
            var base = raw.baseAddress ?? UnsafeRawPointer(memory.allocateBytes(1))
            if Int(bitPattern: base) % type.elementSize != 0 {
                let copy = memory.allocateBytes(raw.count)
                copy.copyMemory(from: base, byteCount: raw.count)
                base = UnsafeRawPointer(copy)
            }
            let scales = type == .int8 ? tensors[name + ".scale"]!.base : nil
            packed[name] = PackedMatrix(type: type, base: base, scales: scales, rows: entry.shape[0], cols: entry.shape[1])
        }
    }

    /// Whether `t` points into the mapped file (rather than a converted copy).
    func isMapped(_ t: Tensor) -> Bool { isMapped(UnsafeRawPointer(t.base)) }

    /// Whether `p` points into the mapped file.
    func isMapped(_ p: UnsafeRawPointer) -> Bool {
        guard let f = file else { return false }
        return p >= f.file.base && p < f.file.base + f.file.size
    }

    /// A new owned buffer of `count` floats, zero-filled, freed with the store (and its tensors).
    func allocate(_ count: Int) -> UnsafeMutablePointer<Float> { memory.allocate(count) }

    /// A new owned buffer of `count` bytes (packed weights), freed with the store.
    func allocateBytes(_ count: Int) -> UnsafeMutableRawPointer { memory.allocateBytes(count) }

    private func convert(_ raw: UnsafeRawBufferPointer, _ dtype: TensorDType, _ n: Int) -> UnsafeMutablePointer<Float> {
        let out = allocate(n)
        for i in 0..<n {
            switch dtype {
            case .f32:
                out[i] = Float(bitPattern: loadLE(raw, i * 4, as: UInt32.self))
            case .f64:
                out[i] = Float(Double(bitPattern: loadLE(raw, i * 8, as: UInt64.self)))
            case .bf16:
                out[i] = Float(bitPattern: UInt32(loadLE(raw, i * 2, as: UInt16.self)) << 16)
            case .f16:
                out[i] = halfToFloat(loadLE(raw, i * 2, as: UInt16.self))
            case .i8:
                preconditionFailure("I8 tensors are read only as a stored quantized model's weights (refused at load otherwise)")
            }
        }
        return out
    }
}

@inline(__always)
private func loadLE<T: FixedWidthInteger>(_ raw: UnsafeRawBufferPointer, _ offset: Int, as: T.Type) -> T {
    T(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: T.self))
}

/// IEEE 754 binary16 to binary32, exact (subnormals, infinities and NaN included).
package func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exp = Int((h >> 10) & 0x1F)
    let mant = UInt32(h & 0x3FF)
    if exp == 0 {
        // zero or subnormal: mant · 2^-24
        let v = Float(mant) * Float(sign: .plus, exponent: -24, significand: 1)
        return sign != 0 ? -v : v
    }
    if exp == 31 {
        return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13))
    }
    return Float(bitPattern: sign | UInt32(exp - 15 + 127) << 23 | (mant << 13))
}
