#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Seq2Seq
import Seq2SeqText

/// Reads a file (or standard input) line by line without holding it whole.
///
/// A line longer than `maxLineBytes` is not kept: its first bytes are returned with `lastLineTooLong` set,
/// and the rest of it is skipped, so one endless line cannot exhaust memory.
final class LineReader {
    /// The longest line kept, bytes.
    static let maxLineBytes = 16 << 20

    private let file: UnsafeMutablePointer<FILE>
    private let owned: Bool
    private var buffer = [UInt8](repeating: 0, count: 1 << 16)
    private var start = 0
    private var end = 0
    private var eof = false
    /// Lines read so far (the number of the last line returned, from 1).
    private(set) var lineNumber = 0
    /// Whether the last line returned was cut at `maxLineBytes`.
    private(set) var lastLineTooLong = false

    /// Standard input when `path` is nil or "-".
    init(path: String?) throws {
        if let path, path != "-" {
            if isDirectory(path) { throw CLIError("cannot read input \(path): it is a directory") }
            guard let f = fopen(path, "rb") else {
                throw CLIError("cannot open input \(path): \(String(cString: strerror(errno)))")
            }
            file = f
            owned = true
        } else {
            file = fdopen(0, "rb")
            owned = false
        }
    }

    deinit {
        if owned { fclose(file) }
    }

    private func fill() -> Bool {
        if eof { return false }
        start = 0
        end = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
        if end == 0 { eof = true }
        return end > 0
    }

    /// The next line without its line end (`\n` or `\r\n`), as bytes, or nil at the end.
    func next() -> [UInt8]? {
        var line: [UInt8] = []
        var sawAny = false
        lastLineTooLong = false
        while true {
            if start == end && !fill() { break }
            sawAny = true
            let newline = buffer[start..<end].firstIndex(of: 0x0A)
            let stop = newline ?? end
            let room = Self.maxLineBytes - line.count
            if room > 0 { line.append(contentsOf: buffer[start..<min(stop, start + room)]) }
            if stop - start > room { lastLineTooLong = true }
            if let n = newline { start = n + 1; break }
            start = end
        }
        guard sawAny else { return nil }
        lineNumber += 1
        while let last = line.last, last == 0x0D || last == 0x0A { line.removeLast() }
        return line
    }
}

func isDirectory(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
}

/// Line-oriented output to standard output, flushed after every line so that an interrupted run
/// keeps what it already wrote. A closed pipe ends the program quietly.
enum Output {
    static func line(_ s: String) {
        var s = s
        s.append("\n")
        var ok = true
        let write = { ok = s.withUTF8 { fwrite($0.baseAddress, 1, $0.count, standardOutput) == $0.count } && fflush(standardOutput) == 0 }
        if let progress = Progress.current { progress.writing(toStandardError: false, write) } else { write() }
        if !ok {
            if errno == EPIPE { exit(0) }
            error("cannot write output: \(String(cString: strerror(errno)))")
            exit(1)
        }
    }

    static func error(_ s: String) {
        if let progress = Progress.current {
            progress.writing(toStandardError: true) { _ = fputs("seq2seq: \(s)\n", standardError) }
        } else {
            fputs("seq2seq: \(s)\n", standardError)
        }
    }

    /// Writes to a closed pipe return EPIPE instead of killing the process.
    static func ignoreSIGPIPE() { signal(SIGPIPE, SIG_IGN) }
}

nonisolated(unsafe) let standardOutput = fdopen(1, "wb")!
nonisolated(unsafe) let standardError: UnsafeMutablePointer<FILE> = {
    let f = fdopen(2, "wb")!
    setvbuf(f, nil, _IONBF, 0)
    return f
}()

struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// The output lines' JSON (`JSONOutput`, shared with the server), and the error line of a bad input line.
typealias JSONWriter = JSONOutput

extension JSONOutput {
    static func error(line: Int, _ message: String) -> String {
        object([("error", string("line \(line): \(message)"))])
    }
}
