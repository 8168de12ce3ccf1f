import Foundation
@testable import Seq2Seq
@testable import Seq2SeqConvert
import Testing

/// Archives around the pickle: valid variants (ZIP64, unaligned records) read right; broken or hostile ones are
/// refused naming the file, the entry and the field.
@Suite("Checkpoint archives")
struct ZipArchiveTests {
    typealias T = PickleTests

    /// `{"w": tensor [[1, 2, 3], [4, 5, 6]] (float32), "t": its transpose}` and its storage record.
    static let pickle = P.proto2 + P.emptyDict + P.mark
        + P.str("w") + P.tensor(P.storage("0", count: 6), shape: [2, 3], strides: [3, 1])
        + P.str("t") + P.tensor(P.storage("0", count: 6), shape: [3, 2], strides: [1, 3]) + P.setitems + P.stop
    static let record = ("0", float32Bytes([1, 2, 3, 4, 5, 6]))

    /// `mapped`: whether float32 must be read in place (nil: either).
    static func check(_ c: TorchCheckpoint, mapped: Bool?) throws {
        let sd = try c.stateDict()
        #expect(sd.map(\.name) == ["w", "t"])
        #expect(try sd[0].tensor.floats() == [1, 2, 3, 4, 5, 6] && sd[1].tensor.floats() == [1, 4, 2, 5, 3, 6])
        #expect(sd[0].tensor.storage === sd[1].tensor.storage)
        if let mapped { #expect((sd[0].tensor.float32Buffer != nil) == mapped) }
    }

    @Test("A hand-written archive reads like torch.save's: aligned (zero copy), unaligned (converted) and ZIP64")
    func validVariants() throws {
        try Self.check(T.checkpoint(ZipWriter.torch(Self.pickle, records: [Self.record])), mapped: true)
        try Self.check(T.checkpoint(ZipWriter.torch(Self.pickle, records: [Self.record], align: 0)), mapped: nil)
        try Self.check(T.checkpoint(ZipWriter.torch(Self.pickle, records: [Self.record], skew: 2)), mapped: false)
        try Self.check(T.checkpoint(ZipWriter.torch(Self.pickle, records: [Self.record], zip64: true)), mapped: true)
        let c = try T.checkpoint(ZipWriter.torch(Self.pickle, records: [Self.record], zip64: true, skew: 1), verifyChecksums: false)
        try Self.check(c, mapped: false)
    }

    @Test("A storage saved from a GPU is read the same way; a tensor may view part of its storage")
    func locations() throws {
        let pickle = P.proto2 + P.tensor(P.storage("7", count: 6, location: "cuda:0"), offset: 2, shape: [2, 2], strides: [1, 2]) + P.stop
        let c = try T.checkpoint(ZipWriter.torch(pickle, records: [("7", float32Bytes([1, 2, 3, 4, 5, 6]))]))
        let t = try #require(c.root.tensor)
        #expect(t.storage.location == "cuda:0" && t.storage.key == "7" && t.storage.count == 6)
        #expect(try t.floats() == [3, 5, 4, 6])
    }

    @Test("A storage whose declared count disagrees with its record, or whose record is missing, is refused")
    func storageRecords() {
        T.expectError(["archive/data.pkl", "BINPERSID", "storage \"0\" is declared as 6 elements of float32 (24 bytes)", "archive/data/0 holds 20 bytes"]) {
            _ = try T.checkpoint(ZipWriter.torch(Self.pickle, records: [("0", float32Bytes([1, 2, 3, 4, 5]))]))
        }
        T.expectError(["storage \"0\" has no record archive/data/0"]) { _ = try T.checkpoint(ZipWriter.torch(Self.pickle)) }
        T.expectError(["storage \"0\"", "overflowing"]) {
            _ = try T.checkpoint(ZipWriter.torch(P.proto2 + P.storage("0", count: Int.max / 2, type: "DoubleStorage") + P.stop, records: [Self.record]))
        }
    }

    @Test("Compressed, truncated, empty, legacy, TorchScript, big-endian and non-zip files are refused with a clear message")
    func refusedFiles() throws {
        var entries = [ZipWriter.Entry(name: "archive/data.pkl", data: Self.pickle), ZipWriter.Entry(name: "archive/data/0", data: Self.record.1)]
        entries[1].method = 8
        T.expectError([".pt", "entry \"archive/data/0\" is compressed (method 8, deflate)"]) { _ = try T.checkpoint(ZipWriter.archive(entries)) }
        let valid = ZipWriter.torch(Self.pickle, records: [Self.record])
        T.expectError(["no zip end-of-central-directory record", "truncated"]) { _ = try T.checkpoint(Array(valid.prefix(valid.count / 2))) }
        T.expectError(["too short for a zip archive"]) { _ = try T.checkpoint(Array(valid.prefix(10))) }
        T.expectError(["is empty (0 bytes)"]) { _ = try T.checkpoint([]) }
        T.expectError(["legacy PyTorch checkpoint", "torch.save"]) { _ = try T.checkpoint(P.proto2 + P.none + P.stop) }
        T.expectError(["no zip end-of-central-directory record"]) { _ = try T.checkpoint(Array("hello, this is not a checkpoint at all".utf8)) }
        let script = ZipWriter.archive([ZipWriter.Entry(name: "m/constants.pkl", data: P.proto2 + P.none + P.stop),
                                        ZipWriter.Entry(name: "m/code/m.py", data: Array("def f(): pass".utf8))])
        T.expectError(["no m/data.pkl record", "TorchScript"]) { _ = try T.checkpoint(script) }
        T.expectError(["no top-level directory"]) { _ = try T.checkpoint(ZipWriter.archive([ZipWriter.Entry(name: "data.pkl", data: P.proto2 + P.none + P.stop)])) }
        T.expectError(["archive/byteorder says \"big\"", "little-endian"]) { _ = try T.checkpoint(ZipWriter.torch(Self.pickle, records: [Self.record], byteorder: "big")) }
    }

    /// `valid` with `bytes` written at `offset`.
    static func patched(_ valid: [UInt8], at offset: Int, _ bytes: [UInt8]) -> [UInt8] {
        var b = valid
        b.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
        return b
    }

    @Test("Central directory and local headers that point outside the file or disagree are refused")
    func hostileDirectories() throws {
        let valid = ZipWriter.torch(Self.pickle, records: [Self.record])
        let eocd = valid.count - 22
        let cdOffset = Int(valid[eocd + 16]) | Int(valid[eocd + 17]) << 8 | Int(valid[eocd + 18]) << 16 | Int(valid[eocd + 19]) << 24
        T.expectError(["the central directory (byte 4294967040", "extends past"]) { _ = try T.checkpoint(Self.patched(valid, at: eocd + 16, P.le(0xFFFF_FF00, 4))) }
        T.expectError(["entries cannot fit in a central directory"]) { _ = try T.checkpoint(Self.patched(valid, at: eocd + 8, P.le(60000, 2) + P.le(60000, 2))) }
        T.expectError(["multi-disk"]) { _ = try T.checkpoint(Self.patched(valid, at: eocd + 4, P.le(1, 2))) }
        T.expectError(["ZIP64 locator"]) { _ = try T.checkpoint(Self.patched(valid, at: eocd + 16, P.le(0xFFFF_FFFF, 4))) }
        // The first entry's local header offset (central directory field at +42) beyond the directory, then misplaced.
        T.expectError(["entry \"archive/data.pkl\"", "local header offset 4294967295"]) {
            _ = try T.checkpoint(Self.patched(valid, at: cdOffset + 42, P.le(0xFFFF_FFFF, 4)))
        }
        T.expectError(["entry \"archive/data.pkl\"", "no local header signature at byte 1"]) { _ = try T.checkpoint(Self.patched(valid, at: cdOffset + 42, P.le(1, 4))) }
        // Its size (fields +20, +24) beyond the directory.
        T.expectError(["entry \"archive/data.pkl\"", "run into the central directory"]) {
            let big = P.le(0x7FFF_FFFF, 4) + P.le(0x7FFF_FFFF, 4)
            _ = try T.checkpoint(Self.patched(Self.patched(valid, at: cdOffset + 20, big), at: 18, big))
        }
        // The local header disagrees: another name, another size, another method.
        T.expectError(["its local header names it \"brchive/data.pkl\""]) { _ = try T.checkpoint(Self.patched(valid, at: 30, Array("b".utf8))) }
        T.expectError(["local header", "disagrees with the central directory"]) { _ = try T.checkpoint(Self.patched(valid, at: 22, P.le(3, 4))) }
        T.expectError(["local header (method 8", "disagrees"]) { _ = try T.checkpoint(Self.patched(valid, at: 8, P.le(8, 2))) }
        // A name length that runs past the directory; an encrypted entry; a corrupt record.
        T.expectError(["central directory entry 0", "extends past the directory's end"]) { _ = try T.checkpoint(Self.patched(valid, at: cdOffset + 28, P.le(0xFFFF, 2))) }
        T.expectError(["encrypted"]) { _ = try T.checkpoint(Self.patched(valid, at: cdOffset + 8, P.le(1, 2))) }
        let pklStart = valid.indices.first { valid[$0] == 0x80 && valid[$0 + 1] == 2 }!
        let corrupt = Self.patched(valid, at: pklStart + 3, [0x5D])
        T.expectError(["entry \"archive/data.pkl\" is corrupt", "CRC-32"]) { _ = try T.checkpoint(corrupt, verifyChecksums: false) }
        var badRecord = ZipWriter.torch(Self.pickle, records: [Self.record])
        let at = badRecord.indices.first { i in i + 24 <= badRecord.count && Array(badRecord[i..<(i + 24)]) == Self.record.1 }!
        badRecord[at] ^= 1
        T.expectError(["entry \"archive/data/0\" is corrupt"]) { _ = try T.checkpoint(badRecord) }
        #expect((try? T.checkpoint(badRecord, verifyChecksums: false)) != nil)  // only data.pkl is checked then
    }

    @Test("Duplicate and overlapping entries are refused")
    func duplicates() {
        let e = ZipWriter.Entry(name: "archive/data.pkl", data: P.proto2 + P.none + P.stop)
        T.expectError(["\"archive/data.pkl\" appears twice"]) { _ = try T.checkpoint(ZipWriter.archive([e, e])) }
        // Two directory entries for the same local header.
        var z = ZipWriter.archive([e, ZipWriter.Entry(name: "archive/data.pkx", data: P.proto2 + P.none + P.stop)], align: 0)
        let eocd = z.count - 22
        let cd = Int(z[eocd + 16]) | Int(z[eocd + 17]) << 8
        let second = cd + 46 + 16  // the second central entry (name of 16 bytes, no extra or comment)
        z.replaceSubrange((second + 42)..<(second + 46), with: P.le(0, 4))
        T.expectError(["local header names it \"archive/data.pkl\""]) { _ = try T.checkpoint(z) }
        // The first entry's size grown (in both headers) into the second entry's local header.
        var o = ZipWriter.archive([e, ZipWriter.Entry(name: "archive/data.pkx", data: P.proto2 + P.none + P.stop)], align: 0)
        for at in [18, 22, cd + 20, cd + 24] { o.replaceSubrange(at..<(at + 4), with: P.le(4 + 10, 4)) }
        T.expectError(["entries \"archive/data.pkl\" and \"archive/data.pkx\" overlap"]) { _ = try T.checkpoint(o) }
    }

    @Test("CRC-32 matches the zip test vector")
    func crc() {
        #expect(Array("123456789".utf8).withUnsafeBytes { CRC32.checksum($0) } == 0xCBF4_3926)
        #expect([UInt8]().withUnsafeBytes { CRC32.checksum($0) } == 0)
        let long = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        var c: UInt32 = 0xFFFF_FFFF
        for b in long { c ^= UInt32(b); for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 } }
        #expect(long.withUnsafeBytes { CRC32.checksum($0) } == c ^ 0xFFFF_FFFF)
    }
}
