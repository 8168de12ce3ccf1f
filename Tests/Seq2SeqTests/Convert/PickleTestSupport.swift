import Foundation
@testable import Seq2Seq
@testable import Seq2SeqConvert
import Testing

/// Builds pickle byte streams opcode by opcode, for hostile inputs no pickler would write.
enum P {
    static func op(_ o: Opcode) -> [UInt8] { [o.rawValue] }
    static func le(_ v: Int, _ width: Int) -> [UInt8] { (0..<width).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }

    static let proto2: [UInt8] = [0x80, 2]
    static let proto4: [UInt8] = [0x80, 4]
    static let stop = op(.stop), mark = op(.mark), none = op(.none), reduce = op(.reduce), build = op(.build)
    static let emptyList = op(.emptyList), emptyDict = op(.emptyDict), emptyTuple = op(.emptyTuple)
    static let append = op(.append), appends = op(.appends), setitem = op(.setitem), setitems = op(.setitems)
    static let tuple = op(.tuple), tuple1 = op(.tuple1), tuple2 = op(.tuple2), tuple3 = op(.tuple3)
    static let newobj = op(.newobj), binpersid = op(.binpersid), newfalse = op(.newfalse)

    static func global(_ module: String, _ name: String) -> [UInt8] { op(.global) + Array("\(module)\n\(name)\n".utf8) }
    /// STACK_GLOBAL (protocol 4): the module and name as strings first.
    static func stackGlobal(_ module: String, _ name: String) -> [UInt8] { str(module) + str(name) + op(.stackGlobal) }
    static func str(_ s: String) -> [UInt8] { let u = Array(s.utf8); return op(.binunicode) + le(u.count, 4) + u }
    /// BININT when `i` fits in 32 bits, else LONG1 of 8 bytes.
    static func int(_ i: Int) -> [UInt8] { Int32(exactly: i) != nil ? op(.binint) + le(i, 4) : op(.long1) + [8] + le(i, 8) }
    static func put(_ i: Int) -> [UInt8] { op(.binput) + [UInt8(i)] }
    static func get(_ i: Int) -> [UInt8] { op(.binget) + [UInt8(i)] }
    static func tupleOf(_ items: [[UInt8]]) -> [UInt8] { mark + items.flatMap { $0 } + tuple }

    /// `('storage', torch.<type>, key, 'cpu', count)` as a persistent id.
    static func storage(_ key: String, count: Int, type: String = "FloatStorage", location: String = "cpu") -> [UInt8] {
        tupleOf([str("storage"), global("torch", type), str(key), str(location), int(count)]) + binpersid
    }

    /// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())`.
    static func tensor(_ storage: [UInt8], offset: Int = 0, shape: [Int], strides: [Int]) -> [UInt8] {
        global("torch._utils", "_rebuild_tensor_v2")
            + tupleOf([storage, int(offset), tupleOf(shape.map(int)), tupleOf(strides.map(int)), newfalse,
                       global("collections", "OrderedDict") + emptyTuple + reduce]) + reduce
    }
}

/// Stored zip archives written by hand, valid or broken on purpose.
enum ZipWriter {
    struct Entry {
        var name: String
        var data: [UInt8]
        var method: UInt16 = 0
    }

    /// A zip of `entries`; `align` pads each entry's data to that many bytes (as torch.save does with 64), plus
    /// `skew` (to misalign it on purpose); `zip64` writes every size and offset through ZIP64 records.
    static func archive(_ entries: [Entry], align: Int = 64, skew: Int = 0, zip64: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        var central: [UInt8] = []
        let le = P.le
        for e in entries {
            let offset = out.count
            let name = Array(e.name.utf8)
            let crc = e.data.withUnsafeBytes { CRC32.checksum($0) }
            var extra: [UInt8] = []
            if zip64 { extra += le(1, 2) + le(16, 2) + le(e.data.count, 8) + le(e.data.count, 8) }
            let unpadded = offset + 30 + name.count + extra.count
            if align > 1 {
                let pad = (align - (unpadded + 4) % align) % align + skew
                extra += le(0x4246, 2) + le(pad, 2) + [UInt8](repeating: 0x5A, count: pad)
            }
            let size32 = zip64 ? 0xFFFF_FFFF : e.data.count
            out += le(0x0403_4B50, 4) + le(20, 2) + le(0, 2) + le(Int(e.method), 2) + le(0, 4) + le(Int(crc), 4)
                + le(size32, 4) + le(size32, 4) + le(name.count, 2) + le(extra.count, 2) + name + extra + e.data
            let cextra = zip64 ? le(1, 2) + le(24, 2) + le(e.data.count, 8) + le(e.data.count, 8) + le(offset, 8) : []
            central += le(0x0201_4B50, 4) + le(20, 2) + le(20, 2) + le(0, 2) + le(Int(e.method), 2) + le(0, 4) + le(Int(crc), 4)
                + le(size32, 4) + le(size32, 4) + le(name.count, 2) + le(cextra.count, 2) + le(0, 2) + le(0, 2) + le(0, 2)
                + le(0, 4) + le(zip64 ? 0xFFFF_FFFF : offset, 4) + name + cextra
        }
        let cdOffset = out.count
        out += central
        if zip64 {
            let record = out.count
            out += le(0x0606_4B50, 4) + le(44, 8) + le(45, 2) + le(45, 2) + le(0, 4) + le(0, 4)
                + le(entries.count, 8) + le(entries.count, 8) + le(central.count, 8) + le(cdOffset, 8)
            out += le(0x0706_4B50, 4) + le(0, 4) + le(record, 8) + le(1, 4)
            out += le(0x0605_4B50, 4) + le(0xFFFF, 2) + le(0xFFFF, 2) + le(0xFFFF, 2) + le(0xFFFF, 2)
                + le(0xFFFF_FFFF, 4) + le(0xFFFF_FFFF, 4) + le(0, 2)
        } else {
            out += le(0x0605_4B50, 4) + le(0, 2) + le(0, 2) + le(entries.count, 2) + le(entries.count, 2)
                + le(central.count, 4) + le(cdOffset, 4) + le(0, 2)
        }
        return out
    }

    /// A torch.save-like archive named `archive`: `data.pkl`, the records `data/<key>`, `version`, `byteorder`.
    static func torch(_ pickle: [UInt8], records: [(String, [UInt8])] = [], align: Int = 64, zip64: Bool = false, skew: Int = 0,
                      byteorder: String = "little") -> [UInt8] {
        var entries = [Entry(name: "archive/data.pkl", data: pickle)]
        entries += [Entry(name: "archive/byteorder", data: Array(byteorder.utf8))]
        entries += records.map { Entry(name: "archive/data/\($0.0)", data: $0.1) }
        entries += [Entry(name: "archive/version", data: Array("3\n".utf8))]
        return archive(entries, align: align, skew: skew, zip64: zip64)
    }
}

/// Little-endian bytes of float32 values.
func float32Bytes(_ values: [Float]) -> [UInt8] { values.flatMap { P.le(Int($0.bitPattern), 4) } }

enum PickleTests {
    static let fixtures = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/pickle")

    /// Writes `bytes` to a new temporary file and returns its path (removed by the caller's `defer`).
    static func temporaryFile(_ bytes: [UInt8], suffix: String = ".pt") throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("seq2seq-pickle-\(UUID().uuidString)\(suffix)")
        try Data(bytes).write(to: url)
        return url.path
    }

    /// Reads `bytes` as a checkpoint file.
    static func checkpoint(_ bytes: [UInt8], verifyChecksums: Bool = true) throws -> TorchCheckpoint {
        let path = try temporaryFile(bytes)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try TorchCheckpoint(path: path, verifyChecksums: verifyChecksums)
    }

    /// Unpickles a raw stream; persistent ids resolve to zero-filled storages of the declared size (at most 1 MiB).
    static func unpickle(_ bytes: [UInt8]) throws -> PickleValue {
        let owner = Owner()
        return try bytes.withUnsafeBytes { raw in
            try Unpickler.load(raw, context: "test.pkl") { key, dtype, count, location in
                let (n, overflow) = count.multipliedReportingOverflow(by: dtype.size)
                guard !overflow, n <= 1 << 20 else { throw PickleFailure("storage \(key) is larger than the tests' 1 MiB") }
                return zeroStorage(key, dtype: dtype, count: count, location: location, owner: owner)
            }
        }
    }

    /// A storage of `count` zero elements, its memory held by `owner` (which the storage keeps alive).
    static func zeroStorage(_ key: String = "0", dtype: TorchDType = .float32, count: Int, location: String = "cpu",
                            owner: Owner = Owner()) -> TorchStorage {
        let b = UnsafeMutableRawBufferPointer.allocate(byteCount: count * dtype.size, alignment: 16)
        b.initializeMemory(as: UInt8.self, repeating: 0)
        owner.buffers.append(b)
        return TorchStorage(key: key, dtype: dtype, count: count, location: location, bytes: UnsafeRawBufferPointer(b), owner: owner)
    }

    final class Owner {
        var buffers: [UnsafeMutableRawBufferPointer] = []
        deinit { for b in buffers { b.deallocate() } }
    }

    /// Expects `body` to throw a `Seq2SeqError` whose description contains every one of `words`.
    static func expectError(_ words: [String], sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("no error; expected one mentioning \(words)", sourceLocation: sourceLocation)
        } catch let e as Seq2SeqError {
            for w in words {
                #expect(e.description.contains(w), "\"\(e.description)\" does not mention \"\(w)\"", sourceLocation: sourceLocation)
            }
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }
}

extension PickleValue {
    /// Reads every tensor of the tree (floats or ints, and in place) and looks up every dict and object, as a
    /// converter would; returns the number of values visited.
    @discardableResult
    func walk() -> Int {
        switch self {
        case .tensor(let t):
            if t.dtype.isFloatingPoint {
                let f = try! t.floats()
                precondition(f.count == t.count)
                if let b = t.float32Buffer { precondition(Array(b) == f || f.contains { $0.isNaN }) }
            } else {
                precondition(try! t.ints().count == t.count)
            }
            return 1
        case .list(let xs), .tuple(let xs), .set(let xs): return xs.reduce(1) { $0 + $1.walk() }
        case .dict(let items):
            _ = self["model"]
            return items.reduce(1) { $0 + $1.key.walk() + $1.value.walk() }
        case .object(_, let args, let state):
            _ = attributes
            return args.reduce(1) { $0 + $1.walk() } + (state?.walk() ?? 0)
        default: return 1
        }
    }
}
