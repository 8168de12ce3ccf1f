#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Seq2Seq

/// Reads a file (or standard input) line by line without holding it whole.
final class LineReader {
    private let file: UnsafeMutablePointer<FILE>
    private let owned: Bool
    private var buffer: UnsafeMutablePointer<CChar>? = nil
    private var capacity = 0
    /// Lines read so far (the number of the last line returned, from 1).
    private(set) var lineNumber = 0

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
        free(buffer)
        if owned { fclose(file) }
    }

    /// The next line without its line end, as bytes, or nil at the end.
    func next() -> [UInt8]? {
        let n = getline(&buffer, &capacity, file)
        guard n >= 0, let buffer else { return nil }
        lineNumber += 1
        var count = n
        while count > 0 && (buffer[count - 1] == 0x0A || buffer[count - 1] == 0x0D) { count -= 1 }
        return UnsafeRawBufferPointer(start: buffer, count: count).map { $0 }
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
        let ok = s.withUTF8 { fwrite($0.baseAddress, 1, $0.count, standardOutput) == $0.count }
        if !ok || fflush(standardOutput) != 0 {
            if errno == EPIPE { exit(0) }
            error("cannot write output: \(String(cString: strerror(errno)))")
            exit(1)
        }
    }

    static func error(_ s: String) {
        fputs("seq2seq: \(s)\n", standardError)
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

/// A tiny JSON writer for the output lines (numbers as Swift prints them: the shortest exact decimal).
struct JSONWriter {
    private(set) var text = ""

    static func string(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }

    static func number(_ x: Double) -> String { x.isFinite ? "\(x)" : "null" }
    static func number(_ x: Float) -> String { x.isFinite ? "\(x)" : "null" }
    static func ints(_ a: [Int]) -> String { "[" + a.map(String.init).joined(separator: ",") + "]" }
    static func floats(_ a: [Float]) -> String { "[" + a.map { number($0) }.joined(separator: ",") + "]" }
    static func doubles(_ a: [Double]) -> String { "[" + a.map { number($0) }.joined(separator: ",") + "]" }
    static func strings(_ a: [String]) -> String { "[" + a.map(string).joined(separator: ",") + "]" }

    /// `{"k": v, ...}` from already-encoded values, in order.
    static func object(_ members: [(String, String)]) -> String {
        "{" + members.map { "\(string($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
    }

    static func error(line: Int, _ message: String) -> String {
        object([("error", string("line \(line): \(message)"))])
    }
}
