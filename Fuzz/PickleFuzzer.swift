#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Fuzz target: the bytes are read three times: (1) as a raw pickle stream by the restricted unpickler, whose
// persistent ids resolve to filled storages of the declared size (at most 64 KiB); (2) as the data.pkl of the
// fixture Tests/Fixtures/pickle/state_dict.pt, whose records "0".."14" (float32, float16, int64, ... of known
// sizes) the pickle may name; (3) as a checkpoint file by TorchCheckpoint (zip archive, then data.pkl and its
// storage records), with and without checksums. Every value that comes back is walked: tensors are read with
// floats()/ints() and in place, dicts and objects looked up.

/// The fixture archive whose records (2) resolves against.
private let fixture: ZipArchive = {
    guard let file = try? MappedFile(path: FuzzSupport.root + "/Tests/Fixtures/pickle/state_dict.pt"),
          let archive = try? ZipArchive(file: file) else { fatalError("cannot read Tests/Fixtures/pickle/state_dict.pt") }
    return archive
}()

private final class Buffers {
    var list: [UnsafeMutableRawBufferPointer] = []
    deinit { for b in list { b.deallocate() } }
}

private func walk(_ v: PickleValue, _ sum: inout Double) {
    switch v {
    case .tensor(let t):
        if t.dtype.isFloatingPoint {
            if let f = try? t.floats() { sum += Double(f.reduce(0, +)) }
            if let b = t.float32Buffer { sum += Double(b.reduce(0, +)) }
        } else if let i = try? t.ints() {
            sum += Double(i.reduce(0, &+))
        }
        sum += Double(t.isContiguous ? 1 : 0)
    case .list(let xs), .tuple(let xs), .set(let xs):
        for x in xs { walk(x, &sum) }
    case .dict(let items):
        for item in items { walk(item.key, &sum); walk(item.value, &sum) }
        FuzzSupport.consume(v["model"])
    case .object(_, let args, let state):
        for a in args { walk(a, &sum) }
        if let s = state { walk(s, &sum) }
        FuzzSupport.consume(v.attributes?.count)
    case .float(let d): sum += d.isFinite ? d : 0
    case .string(let s): sum += Double(s.utf8.count)
    default: FuzzSupport.consume(v.kindName)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func pickleFuzzer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let raw = UnsafeRawBufferPointer(start: data, count: size)
    var sum = 0.0
    let buffers = Buffers()
    let value = try? Unpickler.load(raw, context: "fuzz.pkl") { key, dtype, count, location in
        let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.size)
        guard !overflow, bytes <= 1 << 16 else { throw PickleFailure("storage \(key) too large for the fuzzer") }
        let b = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes, 1), alignment: 16)
        b.initializeMemory(as: UInt8.self, repeating: 0x3F)
        buffers.list.append(b)
        return TorchStorage(key: key, dtype: dtype, count: count, location: location,
                            bytes: UnsafeRawBufferPointer(rebasing: b[0..<bytes]), owner: buffers)
    }
    if let value { walk(value, &sum) }
    if let v = try? Unpickler.load(raw, context: "fuzz.pkl", resolve: TorchCheckpoint.storages(in: fixture, prefix: "state_dict")) {
        walk(v, &sum)
    }

    let path = FuzzSupport.scratch + "/checkpoint.pt"
    FuzzSupport.write(path, raw)
    for verify in [true, false] {
        guard let c = try? TorchCheckpoint(path: path, verifyChecksums: verify) else { continue }
        walk(c.root, &sum)
        FuzzSupport.consume(try? c.stateDict())
        FuzzSupport.consume(try? c.value(at: ["model", "weight"]))
    }
    FuzzSupport.consume(sum)
    return 0
}
