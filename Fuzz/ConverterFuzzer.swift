#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Fuzz target: the toolkit converters' mapping stage on well-formed but hostile checkpoints. The bytes are the
// data.pkl pickle stream of a real toolkit checkpoint: for each committed fixture in Tests/Fixtures/toolkits
// (three OpenNMT-py, three JoeyNMT, one fairseq, one tutorial), the stream is first unpickled in memory against
// that fixture's storage records; where it resolves, the fixture's checkpoint is rewritten with the bytes as its
// data.pkl (every storage record kept, byte for byte and 64-byte aligned as torch.save writes them) and goes
// through `Converter.convert` with that toolkit's source: JoeyNMT with the fixture's config.yaml and vocabularies
// (Yams is compiled in), fairseq with the fixture's dictionaries. A converted model is consumed the way
// `seq2seq convert` consumes it: its summary, then `write(to:)`, which validates the config and loads the written
// directory (every tensor's shape checked against the config).
//
// Streams that resolve against no fixture stop at the unpickler (which the pickle target covers); skipping
// them keeps a run's executions on the mapping code. Seeds: the fixtures' own data.pkl streams (Fuzz/corpus/converter).
//
// Measured (2 cores, 2026-12-03): 300–460 executions a second; three runs of 15 minutes (950k executions,
// coverage 5,302) found no crash by byte mutation alone. The three crashes fixed (Tests/Fixtures/fuzz/converter)
// need a tensor's size and stride tuples rewritten, several consistently, which byte mutation rarely does:
// they were found reading the mapping and replaying reshaped fixtures through this target.
//
// So the target has a structure-aware mutator, Fuzz/ConverterShapeMutator.swift (LLVMFuzzerCustomMutator,
// compiled with this target only): half the mutations parse the stream's opcodes and rewrite the storage
// offset, size and stride tuples of its tensor rebuilds (0, 1, -1, neighbours, other tensors' dimensions,
// 2³¹-1 … Int64.max, swapped, added or dropped dimensions, stride 0, swapped strides, reshapes that keep the
// element count, one dimension changed in every tensor, strides often made contiguous again), re-encoded so the
// stream stays well-formed; the other half are libFuzzer's own. Measured with it (2026-12-03, 2 cores shared
// with benchmarks): three runs of 15 minutes, 234k + 235k + 234k executions (259–261/s), coverage 5,301 ->
// 5,332 -> 5,345 -> 5,353 edges, corpus 1,421 -> 1,593 units, no crash: every reshaped view met a refusal.
// Reading the code meanwhile found one trap off the converters' path (TorchTensor.isContiguous on an empty
// view with huge inner sizes, fixed; PickleHostileTests).

/// A fixture checkpoint: its toolkit, its records, and the scratch copy whose data.pkl the fuzzer replaces.
private struct Base {
    enum Kind { case openNMT, joeyNMT, fairseq, tutorial }
    let kind: Kind
    let directory: String
    let archive: ZipArchive
    let prefix: String
    /// The scratch checkpoint: every record but data.pkl, then data.pkl and the central directory at `tailOffset`.
    let path: String
    let tailOffset: Int
    /// Central directory entries of the kept records (their offsets are fixed).
    let directoryEntries: [UInt8]
    let keptCount: Int

    var source: Converter.Source {
        switch kind {
        case .openNMT: return .openNMT(checkpoint: path)
        case .joeyNMT: return .joeyNMT(modelDirectory: directory, checkpoint: path)
        case .fairseq: return .fairseq(checkpoint: path, dataDirectory: directory + "/data")
        case .tutorial: return .pytorchTutorial(checkpoint: path)
        }
    }
}

private func le<T: FixedWidthInteger>(_ v: T, _ out: inout [UInt8]) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }

/// A stored zip local header; `padding` bytes of an extra field ("FB", as torch.save) align the data that follows.
private func localHeader(_ name: String, crc: UInt32, size: Int, padding: Int) -> [UInt8] {
    var h: [UInt8] = []
    le(UInt32(0x0403_4B50), &h); le(UInt16(20), &h); le(UInt16(0), &h); le(UInt16(0), &h); le(UInt32(0), &h)
    le(crc, &h); le(UInt32(size), &h); le(UInt32(size), &h)
    le(UInt16(name.utf8.count), &h); le(UInt16(padding == 0 ? 0 : padding), &h)
    h += Array(name.utf8)
    if padding > 0 { le(UInt16(0x4246), &h); le(UInt16(padding - 4), &h); h += [UInt8](repeating: 0x5A, count: padding - 4) }
    return h
}

private func directoryEntry(_ name: String, crc: UInt32, size: Int, offset: Int) -> [UInt8] {
    var d: [UInt8] = []
    le(UInt32(0x0201_4B50), &d); le(UInt16(20), &d); le(UInt16(20), &d); le(UInt16(0), &d); le(UInt16(0), &d)
    le(UInt32(0), &d); le(crc, &d); le(UInt32(size), &d); le(UInt32(size), &d)
    le(UInt16(name.utf8.count), &d); le(UInt16(0), &d); le(UInt16(0), &d); le(UInt16(0), &d); le(UInt16(0), &d)
    le(UInt32(0), &d); le(UInt32(offset), &d)
    return d + Array(name.utf8)
}

/// Extra-field bytes that put data starting after a header of `headerLength` at `offset` on a 64-byte boundary.
private func alignment(_ offset: Int, _ headerLength: Int) -> Int {
    let r = (offset + headerLength) % 64
    return r == 0 ? 0 : (64 - r < 4 ? 128 - r : 64 - r)
}

private func makeBase(_ fixture: String, _ checkpoint: String, _ kind: Base.Kind) -> Base {
    let directory = FuzzSupport.root + "/Tests/Fixtures/toolkits/" + fixture
    guard let file = try? MappedFile(path: directory + "/" + checkpoint), let archive = try? ZipArchive(file: file),
          let first = archive.entries.first?.name, let slash = first.firstIndex(of: "/") else {
        fatalError("cannot read Tests/Fixtures/toolkits/\(fixture)/\(checkpoint)")
    }
    let prefix = String(first[..<slash])
    var body: [UInt8] = [], cd: [UInt8] = [], kept = 0
    for e in archive.entries where e.name != prefix + "/data.pkl" {
        let padding = alignment(body.count, 30 + e.name.utf8.count)
        cd += directoryEntry(e.name, crc: e.crc32, size: e.dataRange.count, offset: body.count)
        body += localHeader(e.name, crc: e.crc32, size: e.dataRange.count, padding: padding)
        body += archive.bytes(of: e)
        kept += 1
    }
    mkdir(FuzzSupport.scratch + "/" + fixture, 0o700)
    let path = FuzzSupport.scratch + "/" + fixture + "/" + checkpoint
    body.withUnsafeBytes { FuzzSupport.write(path, $0) }
    return Base(kind: kind, directory: directory, archive: archive, prefix: prefix, path: path,
                tailOffset: body.count, directoryEntries: cd, keptCount: kept)
}

private let bases: [Base] = [
    makeBase("onmt_brnn_lstm_general", "model_step_1500.pt", .openNMT),
    makeBase("onmt_gru_mlp_bridge", "model_step_1000.pt", .openNMT),
    makeBase("onmt_lstm_dot_nofeed_shared", "model_step_3000.pt", .openNMT),
    makeBase("joey_gru_bahdanau_nofeed", "best.ckpt", .joeyNMT),
    makeBase("joey_lstm_luong", "best.ckpt", .joeyNMT),
    makeBase("joey_spm", "best.ckpt", .joeyNMT),
    makeBase("fairseq_bilstm_proj", "checkpoint_best.pt", .fairseq),
    makeBase("tutorial_attn", "model.pt", .tutorial),
]

/// Replaces the scratch checkpoint's data.pkl with `pickle`: the record after the kept ones, listed first in
/// the central directory (TorchCheckpoint takes the archive's name from the first entry).
private func rewrite(_ base: Base, _ pickle: UnsafeRawBufferPointer) {
    let name = base.prefix + "/data.pkl", crc = CRC32.checksum(pickle)
    var tail = localHeader(name, crc: crc, size: pickle.count, padding: alignment(base.tailOffset, 30 + name.utf8.count))
    tail += pickle
    let cdOffset = base.tailOffset + tail.count
    let cd = directoryEntry(name, crc: crc, size: pickle.count, offset: base.tailOffset) + base.directoryEntries
    tail += cd
    le(UInt32(0x0605_4B50), &tail); le(UInt16(0), &tail); le(UInt16(0), &tail)
    le(UInt16(base.keptCount + 1), &tail); le(UInt16(base.keptCount + 1), &tail)
    le(UInt32(cd.count), &tail); le(UInt32(cdOffset), &tail); le(UInt16(0), &tail)
    guard let f = fopen(base.path, "r+b") else { fatalError("cannot open \(base.path)") }
    precondition(fseek(f, base.tailOffset, SEEK_SET) == 0)
    tail.withUnsafeBytes { precondition(fwrite($0.baseAddress, 1, $0.count, f) == $0.count) }
    precondition(ftruncate(fileno(f), off_t(base.tailOffset + tail.count)) == 0)
    fclose(f)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func converterFuzzer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let raw = UnsafeRawBufferPointer(start: data, count: size)
    for base in bases {
        guard (try? Unpickler.load(raw, context: "fuzz.pkl", resolve: TorchCheckpoint.storages(in: base.archive, prefix: base.prefix))) != nil else { continue }
        rewrite(base, raw)
        guard let converted = refusedOrValue({ try Converter.convert(base.source) }) else { continue }
        FuzzSupport.consume(converted.summary)
        FuzzSupport.consume(refusedOrValue { try converted.write(to: FuzzSupport.scratch + "/model") })
    }
    return 0
}

/// The value, or nil when refused with a `Seq2SeqError` (what `seq2seq convert` reports); any other error is a
/// finding too: the CLI would report it without naming the problem.
private func refusedOrValue<T>(_ body: () throws -> T) -> T? {
    do { return try body() } catch is Seq2SeqError { return nil } catch {
        fatalError("not a Seq2SeqError: \(type(of: error)): \(error)")
    }
}
