// A structure-aware mutator for the converter target (compiled with Fuzz/ConverterFuzzer.swift only).
//
// Half of the mutations parse the pickle stream's opcodes, find every tensor rebuild (the storage offset, size
// tuple and stride tuple that follow a BINPERSID, as `torch._utils._rebuild_tensor_v2` takes them; memo opcodes
// between them are kept) and rewrite those integers: to 0, 1, -1, their neighbours, another tensor's dimension,
// huge values (2³¹-1, 2³¹, 2³², 2⁶², Int64.max); by swapping two dimensions, adding or dropping one, a stride
// of 0 (broadcast) or swapped strides (a transpose); by a reshape that keeps the element count; and by changing
// one dimension value in every tensor at once (a model made narrower or wider consistently). Size rewrites
// often recompute contiguous strides, so that the view stays consistent and the converter's own checks run.
// Integers are re-encoded with the opcode the value needs (BININT1, BININT2, BININT, LONG1), tuples with
// EMPTY_TUPLE, TUPLE1–TUPLE3 or MARK … TUPLE, and an enclosing FRAME's length is corrected, so the stream
// stays well-formed. The other half, and any stream with no tensor rebuild, go to libFuzzer's own mutator.
// Deterministic given the seed libFuzzer passes.

@_silgen_name("LLVMFuzzerMutate")
func LLVMFuzzerMutate(_ data: UnsafeMutablePointer<UInt8>, _ size: Int, _ maxSize: Int) -> Int

@_cdecl("LLVMFuzzerCustomMutator")
public func converterCustomMutator(_ data: UnsafeMutablePointer<UInt8>, _ size: Int, _ maxSize: Int, _ seed: UInt32) -> Int {
    var rng = ShapeRandom(seed: UInt64(seed))
    if rng.below(2) == 0 {
        let stream = Array(UnsafeBufferPointer(start: data, count: size))
        if let out = ShapeMutator.mutate(stream, using: &rng), out.count <= maxSize {
            out.withUnsafeBufferPointer { if let p = $0.baseAddress { data.update(from: p, count: out.count) } }
            return out.count
        }
    }
    return LLVMFuzzerMutate(data, size, maxSize)
}

/// SplitMix64: a small deterministic generator, seeded by libFuzzer.
struct ShapeRandom {
    private var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 ^ 0xD1B5_4A32_D192_ED03 }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<n (n > 0).
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }

    mutating func element<T>(_ xs: [T]) -> T? { xs.isEmpty ? nil : xs[below(xs.count)] }
}

/// One tensor rebuild's integer arguments and where they are in the stream.
struct ShapeSite {
    /// Byte ranges of the storage offset, the size tuple and the stride tuple (opcodes included).
    var offsetRange: Range<Int>, sizeRange: Range<Int>, strideRange: Range<Int>
    var offset: Int, size: [Int], stride: [Int]
    let original: (Int, [Int], [Int])

    init(offsetRange: Range<Int>, sizeRange: Range<Int>, strideRange: Range<Int>, offset: Int, size: [Int], stride: [Int]) {
        self.offsetRange = offsetRange
        self.sizeRange = sizeRange
        self.strideRange = strideRange
        self.offset = offset
        self.size = size
        self.stride = stride
        original = (offset, size, stride)
    }

    var changed: Bool { offset != original.0 || size != original.1 || stride != original.2 }

    /// Row-major strides for `size` (wrapping on overflow: the values are hostile anyway).
    mutating func makeContiguous() {
        var t = [Int](repeating: 1, count: size.count), step = 1
        for k in size.indices.reversed() { t[k] = step; step = step &* Swift.max(size[k], 1) }
        stride = t
    }
}

enum ShapeMutator {
    static let huge: [Int] = [Int(Int32.max), 1 << 31, 1 << 32, 1 << 62, Int.max, Int.min, 1 << 16, 1 << 30, 65535, 255, 256]

    /// A mutated copy of `stream`, or nil when it holds no tensor rebuild (or the mutation changed nothing).
    static func mutate(_ stream: [UInt8], using rng: inout ShapeRandom) -> [UInt8]? {
        let parsed = PickleScan(stream)
        var sites = parsed.sites
        guard !sites.isEmpty else { return nil }
        for _ in 0..<(1 + rng.below(3)) { mutateOnce(&sites, using: &rng) }
        var edits: [(range: Range<Int>, bytes: [UInt8])] = []
        for s in sites where s.changed {
            edits.append((s.offsetRange, PickleScan.encode(s.offset)))
            edits.append((s.sizeRange, PickleScan.encode(tuple: s.size)))
            edits.append((s.strideRange, PickleScan.encode(tuple: s.stride)))
        }
        guard !edits.isEmpty else { return nil }
        var out = stream
        for f in parsed.frames {  // a FRAME's length counts the bytes of its opcodes: keep it true
            let delta = edits.filter { f.content.contains($0.range.lowerBound) }.reduce(0) { $0 + $1.bytes.count - $1.range.count }
            let n = UInt64(truncatingIfNeeded: f.content.count + delta)
            for k in 0..<8 { out[f.lengthAt + k] = UInt8(truncatingIfNeeded: n >> (8 * UInt64(k))) }
        }
        for e in edits.sorted(by: { $0.range.lowerBound > $1.range.lowerBound }) { out.replaceSubrange(e.range, with: e.bytes) }
        return out == stream ? nil : out
    }

    /// A value for a dimension, stride or offset that was `v`.
    static func interesting(_ v: Int, _ sites: [ShapeSite], using rng: inout ShapeRandom) -> Int {
        switch rng.below(6) {
        case 0: return [0, 1, -1][rng.below(3)]
        case 1: return rng.below(2) == 0 ? v &+ 1 : v &- 1
        case 2: return rng.element(huge) ?? 0
        case 3:  // another tensor's dimension
            let dims = sites[rng.below(sites.count)].size
            return dims.isEmpty ? 1 : dims[rng.below(dims.count)]
        case 4: return v / 2
        default: return v &* 2
        }
    }

    static func mutateOnce(_ sites: inout [ShapeSite], using rng: inout ShapeRandom) {
        let i = rng.below(sites.count)
        var s = sites[i]
        let rank = s.size.count
        let k = rng.below(max(rank, 1))
        let recompute = rng.below(2) == 0  // for size rewrites: make the strides follow
        switch rng.below(13) {
        case 0, 1:  // one dimension
            guard rank > 0 else { s.size = [interesting(1, sites, using: &rng)]; s.stride = [1]; break }
            s.size[k] = interesting(s.size[k], sites, using: &rng)
            if recompute { s.makeContiguous() }
        case 2:  // one stride
            guard k < s.stride.count else { s.stride.append(interesting(1, sites, using: &rng)); break }
            s.stride[k] = interesting(s.stride[k], sites, using: &rng)
        case 3:  // broadcast
            guard k < s.stride.count else { break }
            s.stride[k] = 0
            if rng.below(2) == 0, k < rank { s.size[k] = interesting(s.size[k], sites, using: &rng) }
        case 4:  // the storage offset
            s.offset = interesting(s.offset, sites, using: &rng)
        case 5:  // swap two dimensions (sizes only, or with their strides: a transpose)
            guard rank >= 2 else { break }
            let j = (k + 1 + rng.below(rank - 1)) % rank
            s.size.swapAt(k, j)
            switch rng.below(3) {
            case 0: if j < s.stride.count, k < s.stride.count { s.stride.swapAt(k, j) }
            case 1: s.makeContiguous()
            default: break
            }
        case 6:  // transpose the strides alone
            guard s.stride.count >= 2 else { break }
            s.stride.swapAt(k % s.stride.count, (k + 1) % s.stride.count)
        case 7:  // add a dimension
            let at = rng.below(rank + 1)
            s.size.insert(rng.below(2) == 0 ? 1 : interesting(1, sites, using: &rng), at: min(at, s.size.count))
            if recompute { s.makeContiguous() } else if rng.below(2) == 0 { s.stride.insert(rng.below(3), at: min(at, s.stride.count)) }
        case 8:  // drop a dimension
            guard rank > 0 else { break }
            s.size.remove(at: k)
            if recompute { s.makeContiguous() } else if rng.below(2) == 0, k < s.stride.count { s.stride.remove(at: k) }
        case 9:  // another tensor's whole view
            guard let o = rng.element(sites) else { break }
            s.size = o.size
            s.stride = rng.below(2) == 0 ? o.stride : s.stride
            if recompute { s.makeContiguous() }
        case 10:  // a reshape that keeps the element count, contiguous
            s.size = reshaped(s.size, using: &rng)
            s.makeContiguous()
        default:  // one dimension value changed in every tensor (a narrower or wider model), contiguous
            let values = sites.flatMap(\.size).filter { $0 > 1 }
            guard let v = rng.element(values) else { break }
            let w = [v / 2, v &- 1, v &+ 1, v &* 2, 1, rng.element(values) ?? 1, interesting(v, sites, using: &rng)][rng.below(7)]
            for j in sites.indices where sites[j].size.contains(v) {
                sites[j].size = sites[j].size.map { $0 == v ? w : $0 }
                sites[j].makeContiguous()
            }
            return
        }
        sites[i] = s
    }

    /// Same element count, another shape: flattened, one dimension split into two factors, two merged, or reversed.
    static func reshaped(_ size: [Int], using rng: inout ShapeRandom) -> [Int] {
        guard !size.isEmpty else { return [1] }
        switch rng.below(4) {
        case 0: return [size.reduce(1, &*)]
        case 1:
            let k = rng.below(size.count), d = size[k]
            let divisors = d > 1 ? (2...min(d, 4096)).filter { d % $0 == 0 } : [1]
            let a = rng.element(divisors) ?? 1
            var out = size
            out.replaceSubrange(k...k, with: [a, d / max(a, 1)])
            return out
        case 2:
            guard size.count >= 2 else { return size + [1] }
            let k = rng.below(size.count - 1)
            var out = size
            out.replaceSubrange(k...(k + 1), with: [size[k] &* size[k + 1]])
            return out
        default: return size.reversed()
        }
    }
}

/// The opcodes of a pickle stream, as far as they parse, with the tensor rebuilds and frames in them.
struct PickleScan {
    private struct Token {
        let op: Opcode
        let range: Range<Int>
        let int: Int?
    }

    /// The tensor rebuilds: after a BINPERSID (the storage), an integer then two tuples of integers.
    private(set) var sites: [ShapeSite] = []
    /// Each FRAME's 8-byte length (its position) and the bytes it announces.
    private(set) var frames: [(lengthAt: Int, content: Range<Int>)] = []
    private var tokens: [Token] = []

    init(_ b: [UInt8]) {
        var pos = 0
        scan: while pos < b.count, let op = Opcode(rawValue: b[pos]) {
            let start = pos, arg = pos + 1
            var length = 0, value: Int?
            switch op {
            case .proto, .binint1, .binput, .binget, .ext1: length = 1
            case .binint2, .ext2: length = 2
            case .binint, .longBinput, .longBinget, .ext4: length = 4
            case .binfloat, .frame: length = 8
            case .long1:
                guard let n = Self.uint(b, arg, 1) else { break scan }
                length = 1 + Int(n)
            case .long4:
                guard let n = Self.uint(b, arg, 4).map({ Int(Int32(truncatingIfNeeded: $0)) }), n >= 0 else { break scan }
                length = 4 + n
            case .shortBinunicode, .shortBinbytes, .shortBinstring:
                guard let n = Self.uint(b, arg, 1) else { break scan }
                length = 1 + Int(n)
            case .binunicode, .binbytes, .binstring:
                guard let n = Self.uint(b, arg, 4), n < 1 << 31 else { break scan }
                length = 4 + Int(n)
            case .binunicode8, .binbytes8, .bytearray8:
                guard let n = Self.uint(b, arg, 8), n < UInt64(b.count) else { break scan }
                length = 8 + Int(n)
            case .global, .inst, .int, .long, .float, .string, .unicode, .get, .put, .persid:
                var end = arg
                for _ in 0..<((op == .global || op == .inst) ? 2 : 1) {
                    guard let nl = b[end...].firstIndex(of: 0x0A) else { break scan }
                    end = nl + 1
                }
                length = end - arg
            default: length = 0
            }
            guard arg + length <= b.count else { break scan }
            switch op {
            case .binint1: value = Self.uint(b, arg, 1).map { Int($0) }
            case .binint2: value = Self.uint(b, arg, 2).map { Int($0) }
            case .binint: value = Self.uint(b, arg, 4).map { Int(Int32(truncatingIfNeeded: $0)) }
            case .long1 where length <= 9: value = Self.long(b, arg + 1, length - 1)
            case .long4 where length <= 12: value = Self.long(b, arg + 4, length - 4)
            case .frame:
                if let n = Self.uint(b, arg, 8), n <= UInt64(b.count - arg - 8) { frames.append((arg, (arg + 8)..<(arg + 8 + Int(n)))) }
            default: break
            }
            pos = arg + length
            tokens.append(Token(op: op, range: start..<pos, int: value))
            if op == .stop { break }
        }
        for (t, token) in tokens.enumerated() where token.op == .binpersid {
            var j = skipMemo(t + 1)
            guard j < tokens.count, let offset = tokens[j].int else { continue }
            let offsetRange = tokens[j].range
            j = skipMemo(j + 1)
            guard let size = tuple(at: j) else { continue }
            j = skipMemo(size.next)
            guard let stride = tuple(at: j) else { continue }
            sites.append(ShapeSite(offsetRange: offsetRange, sizeRange: size.range, strideRange: stride.range,
                                   offset: offset, size: size.values, stride: stride.values))
        }
    }

    private func skipMemo(_ from: Int) -> Int {
        var j = from
        while j < tokens.count, [.binput, .longBinput, .memoize].contains(tokens[j].op) { j += 1 }
        return j
    }

    /// A tuple of integers from token `j`: EMPTY_TUPLE, one to three then TUPLE1–TUPLE3, or MARK … TUPLE.
    private func tuple(at j: Int) -> (values: [Int], range: Range<Int>, next: Int)? {
        guard j < tokens.count else { return nil }
        if tokens[j].op == .emptyTuple { return ([], tokens[j].range, j + 1) }
        let marked = tokens[j].op == .mark
        var e = marked ? j + 1 : j, values: [Int] = []
        while e < tokens.count, let v = tokens[e].int, marked || values.count < 3 {
            values.append(v)
            e += 1
        }
        guard e < tokens.count else { return nil }
        let closes = marked ? tokens[e].op == .tuple
            : (!values.isEmpty && tokens[e].op.rawValue == Opcode.tuple1.rawValue + UInt8(values.count - 1))
        return closes ? (values, tokens[j].range.lowerBound..<tokens[e].range.upperBound, e + 1) : nil
    }

    private static func uint(_ b: [UInt8], _ at: Int, _ width: Int) -> UInt64? {
        guard at >= 0, at + width <= b.count else { return nil }
        var v: UInt64 = 0
        for k in 0..<width { v |= UInt64(b[at + k]) << (8 * UInt64(k)) }
        return v
    }

    /// A little-endian two's complement integer of `n` ≤ 8 bytes.
    private static func long(_ b: [UInt8], _ at: Int, _ n: Int) -> Int? {
        guard n > 0 else { return 0 }
        guard n <= 8, var v = uint(b, at, n) else { return nil }
        if n < 8, b[at + n - 1] & 0x80 != 0 { v |= ~0 << (8 * UInt64(n)) }
        return Int(Int64(bitPattern: v))
    }

    /// `v` as pickle writes it: BININT1, BININT2, BININT, or LONG1 with the fewest bytes.
    static func encode(_ v: Int) -> [UInt8] {
        if (0...0xFF).contains(v) { return [Opcode.binint1.rawValue, UInt8(v)] }
        if (0...0xFFFF).contains(v) { return [Opcode.binint2.rawValue, UInt8(v & 0xFF), UInt8(v >> 8)] }
        if let w = Int32(exactly: v) {
            let u = UInt32(bitPattern: w)
            return [Opcode.binint.rawValue] + (0..<4).map { UInt8(truncatingIfNeeded: u >> (8 * UInt32($0))) }
        }
        var bytes: [UInt8] = [], x = v, last: UInt8 = 0
        repeat {
            last = UInt8(truncatingIfNeeded: x)
            bytes.append(last)
            x >>= 8
        } while !((x == 0 && last & 0x80 == 0) || (x == -1 && last & 0x80 != 0))
        return [Opcode.long1.rawValue, UInt8(bytes.count)] + bytes
    }

    /// A tuple of integers: EMPTY_TUPLE, TUPLE1–TUPLE3, or MARK … TUPLE.
    static func encode(tuple values: [Int]) -> [UInt8] {
        let items = values.flatMap(encode)
        switch values.count {
        case 0: return [Opcode.emptyTuple.rawValue]
        case 1...3: return items + [Opcode.tuple1.rawValue + UInt8(values.count - 1)]
        default: return [Opcode.mark.rawValue] + items + [Opcode.tuple.rawValue]
        }
    }
}
