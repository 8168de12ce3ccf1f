// Shared by every fuzz target (compiled into the same module as the library's sources by scripts/fuzz.sh).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum FuzzSupport {
    /// The repository root: the working directory (scripts/fuzz.sh runs from there).
    static let root: String = {
        guard let p = getcwd(nil, 0) else { fatalError("getcwd failed") }
        defer { free(p) }
        return String(cString: p)
    }()

    /// A private scratch directory for this process, made once.
    static let scratch: String = {
        var template = Array("/tmp/seq2seq-fuzz-XXXXXX".utf8CString)
        return template.withUnsafeMutableBufferPointer { buf in
            guard let p = mkdtemp(buf.baseAddress!) else { fatalError("mkdtemp failed") }
            return String(cString: p)
        }
    }()

    /// A golden model directory of the repository.
    static func golden(_ name: String) -> String { root + "/Tests/Fixtures/golden/\(name)/model" }

    /// Writes `bytes` to `path`, replacing it.
    static func write(_ path: String, _ bytes: UnsafeRawBufferPointer) {
        guard let f = fopen(path, "wb") else { fatalError("cannot write \(path)") }
        if bytes.count > 0 { precondition(fwrite(bytes.baseAddress, 1, bytes.count, f) == bytes.count) }
        fclose(f)
    }

    /// Copies a (small) file.
    static func copy(_ from: String, _ to: String) {
        guard let f = fopen(from, "rb") else { fatalError("cannot read \(from)") }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&chunk, 1, chunk.count, f)
            out.append(contentsOf: chunk[0..<n])
            if n < chunk.count { break }
        }
        fclose(f)
        out.withUnsafeBytes { write(to, $0) }
    }

    /// Keeps a value alive and observed, so that the optimizer cannot drop the work that made it.
    @inline(never) static func consume<T>(_ x: T) { withExtendedLifetime(x) {} }
}
