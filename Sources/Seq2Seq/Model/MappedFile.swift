#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#else
#error("Seq2Seq needs POSIX mmap")
#endif

/// A whole file mapped read-only into memory; unmapped when released.
///
/// Pages are read from disk only when touched, so loading a large model costs
/// little resident memory until its weights are used. Package-visible: `Seq2SeqConvert` maps checkpoints with it.
package final class MappedFile: @unchecked Sendable {
    /// The first byte of the mapping.
    package let base: UnsafeRawPointer
    /// The file size in bytes.
    package let size: Int
    package let path: String

    /// Maps `path`. Throws `invalidModel` naming the file when it is missing, a directory, empty or unreadable.
    package init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_NONBLOCK)  // a FIFO must not block; it is refused below
        if fd < 0 {
            throw Seq2SeqError.invalidModel("cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw Seq2SeqError.invalidModel("cannot stat \(path): \(String(cString: strerror(errno)))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw Seq2SeqError.invalidModel("\(path) is not a regular file")
        }
        let size = Int(st.st_size)
        guard size > 0 else {
            throw Seq2SeqError.invalidModel("\(path) is empty (0 bytes)")
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw Seq2SeqError.invalidModel("cannot map \(path): \(String(cString: strerror(errno)))")
        }
        self.base = UnsafeRawPointer(p)
        self.size = size
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: base), size)
    }

    /// The bytes `range` as a buffer (no copy). The caller has checked the range.
    package func bytes(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        precondition(range.lowerBound >= 0 && range.upperBound <= size)
        return UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count)
    }
}
