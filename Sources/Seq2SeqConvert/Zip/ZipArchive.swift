import Seq2Seq

/// One entry of a zip archive, validated: its bytes are `dataRange` of the file, stored (not compressed).
struct ZipEntry: Sendable, Equatable {
    let name: String
    /// Where the entry's bytes are in the file.
    let dataRange: Range<Int>
    /// The CRC-32 the central directory declares for the bytes.
    let crc32: UInt32
}

/// A zip archive as `torch.save` writes it (PyTorch 1.6 and later), over a read-only mapping of the file.
///
/// Every structure is checked before it is used: the end-of-central-directory record is searched for in
/// the last 64 KiB + 22 bytes only; ZIP64 records are followed when a field says so; the entry count must
/// fit in the central directory; each central directory entry must lie inside the directory, its local
/// header inside the file before the directory, the local header must agree with the directory (name,
/// method, flags, and sizes and CRC when the local header has them), entries may not overlap, and names
/// may not repeat. Only stored entries (method 0) are accepted: `torch.save` never compresses, so a
/// compressed entry is refused with its name. Encrypted and multi-disk archives are refused. All offset
/// arithmetic is done on 64-bit unsigned values checked against the file size, so no field can make the
/// reader touch a byte outside the mapping. Failures throw `Seq2SeqError.invalidModel` naming the file,
/// the entry and the field.
struct ZipArchive: @unchecked Sendable {
    let file: MappedFile
    /// Entries in central directory order.
    let entries: [ZipEntry]
    private let index: [String: Int]

    /// The largest comment an end-of-central-directory record can carry: the search for the record is bounded by it.
    static let maxCommentLength = 65_535

    init(file: MappedFile) throws {
        self.file = file
        let reader = ZipReader(file: file)
        let directory = try reader.centralDirectory()
        var entries: [ZipEntry] = []
        var index: [String: Int] = [:]
        entries.reserveCapacity(directory.count)
        var spans: [(start: UInt64, end: UInt64, name: String)] = []
        var at = directory.start
        for k in 0..<directory.count {
            let (entry, headerStart, next) = try reader.entry(at: at, number: k, directory: directory.start..<directory.end)
            guard index[entry.name] == nil else {
                throw reader.fail("entry \"\(entry.name)\" appears twice in the central directory")
            }
            index[entry.name] = entries.count
            entries.append(entry)
            spans.append((headerStart, UInt64(entry.dataRange.upperBound), entry.name))
            at = next
        }
        spans.sort { $0.start < $1.start }
        for (a, b) in zip(spans, spans.dropFirst()) where b.start < a.end {
            throw reader.fail("entries \"\(a.name)\" and \"\(b.name)\" overlap (bytes \(a.start)..<\(a.end) and \(b.start)..<\(b.end))")
        }
        self.entries = entries
        self.index = index
    }

    /// The entry named `name`, if there is one.
    func entry(_ name: String) -> ZipEntry? { index[name].map { entries[$0] } }

    /// The bytes of `entry` (no copy), valid while the archive's file is alive.
    func bytes(of entry: ZipEntry) -> UnsafeRawBufferPointer { file.bytes(entry.dataRange) }

    /// Throws when the CRC-32 of `entry`'s bytes is not the one the central directory declares.
    func verifyChecksum(of entry: ZipEntry) throws {
        let actual = CRC32.checksum(bytes(of: entry))
        guard actual == entry.crc32 else {
            throw Seq2SeqError.invalidModel(
                "\(file.path): entry \"\(entry.name)\" is corrupt: CRC-32 \(hex(actual)) differs from the declared \(hex(entry.crc32))")
        }
    }
}

/// Little-endian reads of a zip archive's structures, each checked against the file size.
private struct ZipReader {
    let file: MappedFile
    var size: UInt64 { UInt64(file.size) }

    func fail(_ message: String) -> Seq2SeqError { .invalidModel("\(file.path): \(message)") }

    /// Reads an unsigned little-endian integer of `T`'s width at `offset`; the caller has checked the range.
    func load<T: FixedWidthInteger & UnsignedInteger>(_ offset: UInt64, as: T.Type = T.self) -> T {
        precondition(offset + UInt64(MemoryLayout<T>.size) <= size)
        return T(littleEndian: file.base.loadUnaligned(fromByteOffset: Int(offset), as: T.self))
    }

    /// Throws unless `count` bytes at `offset` are inside the file (and the sum does not overflow).
    func require(_ offset: UInt64, _ count: UInt64, _ what: @autoclosure () -> String) throws {
        let (end, overflow) = offset.addingReportingOverflow(count)
        guard !overflow, end <= size else {
            throw fail("\(what()) at byte \(offset) (\(count) bytes) extends past the end of the file (\(size) bytes)")
        }
    }

    /// Where the central directory is, how many entries it declares, and where it must end.
    func centralDirectory() throws -> (start: UInt64, end: UInt64, count: Int) {
        guard size >= 22 else {
            throw fail("\(size) bytes is too short for a zip archive (no end-of-central-directory record)")
        }
        // The record is 22 bytes plus its comment, which ends the file; look for it backwards, bounded.
        var eocd: UInt64?
        let lowest = size >= 22 + UInt64(ZipArchive.maxCommentLength) ? size - 22 - UInt64(ZipArchive.maxCommentLength) : 0
        var p = size - 22
        while true {
            if load(p, as: UInt32.self) == 0x0605_4B50, p + 22 + UInt64(load(p + 20, as: UInt16.self)) == size {
                eocd = p
                break
            }
            if p == lowest { break }
            p -= 1
        }
        guard let e = eocd else {
            throw fail("no zip end-of-central-directory record in the last \(min(size, 22 + UInt64(ZipArchive.maxCommentLength))) bytes: not a zip archive, or truncated")
        }
        var disk = UInt64(load(e + 4, as: UInt16.self)), cdDisk = UInt64(load(e + 6, as: UInt16.self))
        var diskEntries = UInt64(load(e + 8, as: UInt16.self)), total = UInt64(load(e + 10, as: UInt16.self))
        var cdSize = UInt64(load(e + 12, as: UInt32.self)), cdOffset = UInt64(load(e + 16, as: UInt32.self))
        var limit = e  // the central directory must end before this
        if disk == 0xFFFF || cdDisk == 0xFFFF || diskEntries == 0xFFFF || total == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF {
            guard e >= 20, load(e - 20, as: UInt32.self) == 0x0706_4B50 else {
                throw fail("the end-of-central-directory record asks for ZIP64 values, but there is no ZIP64 locator before it")
            }
            let record = load(e - 20 + 8, as: UInt64.self)
            guard record <= e - 20, e - 20 - record >= 56 else {
                throw fail("the ZIP64 locator points to byte \(record), which leaves no room for a ZIP64 end-of-central-directory record before byte \(e - 20)")
            }
            guard load(record, as: UInt32.self) == 0x0606_4B50 else {
                throw fail("no ZIP64 end-of-central-directory record at byte \(record), where the locator points")
            }
            disk = UInt64(load(record + 16, as: UInt32.self))
            cdDisk = UInt64(load(record + 20, as: UInt32.self))
            diskEntries = load(record + 24, as: UInt64.self)
            total = load(record + 32, as: UInt64.self)
            cdSize = load(record + 40, as: UInt64.self)
            cdOffset = load(record + 48, as: UInt64.self)
            limit = record
        }
        guard disk == 0, cdDisk == 0, diskEntries == total else {
            throw fail("multi-disk zip archives are not supported (disk \(disk), directory on disk \(cdDisk), \(diskEntries) of \(total) entries here)")
        }
        let (cdEnd, overflow) = cdOffset.addingReportingOverflow(cdSize)
        guard !overflow, cdEnd <= limit else {
            throw fail("the central directory (byte \(cdOffset), \(cdSize) bytes) extends past its end record at byte \(limit)")
        }
        // Each entry takes at least 46 bytes, which bounds the count by the file size.
        guard total <= cdSize / 46 else {
            throw fail("\(total) entries cannot fit in a central directory of \(cdSize) bytes (46 bytes each at least)")
        }
        return (cdOffset, cdEnd, Int(total))
    }

    /// Parses central directory entry `number` at `at`, checks its local header, and returns the entry, where
    /// its local header starts, and where the next directory entry starts.
    func entry(at: UInt64, number: Int, directory: Range<UInt64>) throws -> (ZipEntry, UInt64, UInt64) {
        let directoryEnd = directory.upperBound
        guard at <= directoryEnd, directoryEnd - at >= 46 else {
            throw fail("central directory entry \(number) at byte \(at) extends past the directory's end at byte \(directoryEnd)")
        }
        guard load(at, as: UInt32.self) == 0x0201_4B50 else {
            throw fail("central directory entry \(number) at byte \(at) has no entry signature")
        }
        let flags = load(at + 8, as: UInt16.self), method = load(at + 10, as: UInt16.self)
        let crc = load(at + 16, as: UInt32.self)
        var compressed = UInt64(load(at + 20, as: UInt32.self)), uncompressed = UInt64(load(at + 24, as: UInt32.self))
        let nameLength = UInt64(load(at + 28, as: UInt16.self)), extraLength = UInt64(load(at + 30, as: UInt16.self))
        let commentLength = UInt64(load(at + 32, as: UInt16.self))
        var diskStart = UInt64(load(at + 34, as: UInt16.self))
        var headerOffset = UInt64(load(at + 42, as: UInt32.self))
        let next = at + 46 + nameLength + extraLength + commentLength
        guard next <= directoryEnd else {
            throw fail("central directory entry \(number) at byte \(at) (name, extra field and comment) extends past the directory's end at byte \(directoryEnd)")
        }
        let name = try string(at + 46, nameLength, "the name of central directory entry \(number)")
        // ZIP64 extended information: present for each field that is saturated, in this order.
        if let z = try extra(id: 0x0001, at: at + 46 + nameLength, length: extraLength, entry: name) {
            var q = z.lowerBound
            func next64(_ field: String) throws -> UInt64 {
                guard q + 8 <= z.upperBound else { throw fail("entry \"\(name)\": ZIP64 extra field too short for the \(field)") }
                defer { q += 8 }
                return load(q, as: UInt64.self)
            }
            if uncompressed == 0xFFFF_FFFF { uncompressed = try next64("uncompressed size") }
            if compressed == 0xFFFF_FFFF { compressed = try next64("compressed size") }
            if headerOffset == 0xFFFF_FFFF { headerOffset = try next64("local header offset") }
            if diskStart == 0xFFFF, q + 4 <= z.upperBound { diskStart = UInt64(load(q, as: UInt32.self)) }
        }
        guard diskStart == 0 else { throw fail("entry \"\(name)\" starts on disk \(diskStart): multi-disk archives are not supported") }
        guard flags & 0x41 == 0 else { throw fail("entry \"\(name)\" is encrypted (flags \(hex(flags))): not supported") }
        guard method == 0 else {
            throw fail("entry \"\(name)\" is compressed (method \(method)\(method == 8 ? ", deflate" : "")); torch.save stores entries uncompressed: re-save the checkpoint with torch.save")
        }
        guard compressed == uncompressed else {
            throw fail("entry \"\(name)\" is stored, but its compressed size \(compressed) differs from its size \(uncompressed)")
        }
        // The local header, which must agree with the directory.
        guard headerOffset < directory.lowerBound else {
            throw fail("entry \"\(name)\": its local header offset \(headerOffset) is not before the central directory")
        }
        try require(headerOffset, 30, "the local header of entry \"\(name)\"")
        guard load(headerOffset, as: UInt32.self) == 0x0403_4B50 else {
            throw fail("entry \"\(name)\": no local header signature at byte \(headerOffset)")
        }
        let localFlags = load(headerOffset + 6, as: UInt16.self), localMethod = load(headerOffset + 8, as: UInt16.self)
        let localCRC = load(headerOffset + 14, as: UInt32.self)
        var localCompressed = UInt64(load(headerOffset + 18, as: UInt32.self)), localSize = UInt64(load(headerOffset + 22, as: UInt32.self))
        let localNameLength = UInt64(load(headerOffset + 26, as: UInt16.self)), localExtraLength = UInt64(load(headerOffset + 28, as: UInt16.self))
        try require(headerOffset + 30, localNameLength + localExtraLength, "the local header of entry \"\(name)\"")
        let localName = try string(headerOffset + 30, localNameLength, "the local name of entry \"\(name)\"")
        guard localName == name else { throw fail("entry \"\(name)\": its local header names it \"\(localName)\"") }
        guard localMethod == method, localFlags & 0x08 == flags & 0x08 else {
            throw fail("entry \"\(name)\": local header (method \(localMethod), flags \(hex(localFlags))) disagrees with the central directory (method \(method), flags \(hex(flags)))")
        }
        if localCompressed == 0xFFFF_FFFF || localSize == 0xFFFF_FFFF,
           let z = try extra(id: 0x0001, at: headerOffset + 30 + localNameLength, length: localExtraLength, entry: name) {
            var q = z.lowerBound
            if localSize == 0xFFFF_FFFF, q + 8 <= z.upperBound { localSize = load(q, as: UInt64.self); q += 8 }
            if localCompressed == 0xFFFF_FFFF, q + 8 <= z.upperBound { localCompressed = load(q, as: UInt64.self) }
        }
        // With a data descriptor (flag bit 3) the local header may leave CRC and sizes zero.
        let deferred = flags & 0x08 != 0 && localCRC == 0 && localCompressed == 0 && localSize == 0
        guard deferred || (localCRC == crc && localCompressed == compressed && localSize == uncompressed) else {
            throw fail("entry \"\(name)\": local header (CRC \(hex(localCRC)), \(localSize) bytes) disagrees with the central directory (CRC \(hex(crc)), \(uncompressed) bytes)")
        }
        let dataStart = headerOffset + 30 + localNameLength + localExtraLength
        let (dataEnd, overflow) = dataStart.addingReportingOverflow(compressed)
        guard !overflow, dataEnd <= directory.lowerBound else {
            throw fail("entry \"\(name)\": its \(compressed) bytes at byte \(dataStart) run into the central directory or past the end of the file")
        }
        return (ZipEntry(name: name, dataRange: Int(dataStart)..<Int(dataEnd), crc32: crc), headerOffset, next)
    }

    /// The bytes of the extra block `id` in the extra field at `at`, if present.
    func extra(id: UInt16, at: UInt64, length: UInt64, entry: String) throws -> Range<UInt64>? {
        var q = at
        let end = at + length
        while q + 4 <= end {
            let blockID = load(q, as: UInt16.self), blockLength = UInt64(load(q + 2, as: UInt16.self))
            guard q + 4 + blockLength <= end else {
                throw fail("entry \"\(entry)\": extra block \(hex(blockID)) of \(blockLength) bytes overruns its extra field")
            }
            if blockID == id { return (q + 4)..<(q + 4 + blockLength) }
            q += 4 + blockLength
        }
        return nil
    }

    /// `count` bytes at `offset` as UTF-8 (the range is inside the file).
    func string(_ offset: UInt64, _ count: UInt64, _ what: String) throws -> String {
        guard let s = utf8String(file.bytes(Int(offset)..<Int(offset + count))) else { throw fail("\(what) is not valid UTF-8") }
        return s
    }
}

/// `0x…` with the value's natural width.
func hex<T: FixedWidthInteger>(_ v: T) -> String {
    let digits = String(v, radix: 16, uppercase: true)
    return "0x" + String(repeating: "0", count: max(0, MemoryLayout<T>.size * 2 - digits.count)) + digits
}

/// `raw` as a string when it is valid UTF-8, else nil.
func utf8String(_ raw: UnsafeRawBufferPointer) -> String? {
    let s = String(decoding: raw, as: UTF8.self)  // invalid sequences become U+FFFD, so the bytes differ
    return s.utf8.elementsEqual(raw) ? s : nil
}
