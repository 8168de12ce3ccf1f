#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A vocabulary file: one token a line, line `i` (from 0) is id `i`.
public struct Vocabulary: Sendable {
    /// Tokens by id.
    public let tokens: [String]
    private let ids: [String: Int]

    /// A vocabulary from its tokens; a repeated token maps to its first id.
    public init(tokens: [String]) {
        self.tokens = tokens
        var ids: [String: Int] = [:]
        ids.reserveCapacity(tokens.count)
        for (i, t) in tokens.enumerated() where ids[t] == nil { ids[t] = i }
        self.ids = ids
    }

    /// Reads a vocabulary file (UTF-8; `\n` or `\r\n` line ends; a final newline is optional).
    /// A line holding a single space is the space token.
    public init(contentsOf path: String) throws {
        let data = try readFile(path)
        guard let text = String(validating: data, as: UTF8.self) else {
            throw Seq2SeqError.invalidModel("\(path) is not valid UTF-8")
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
        }
        if lines.last == "" { lines.removeLast() }
        self.init(tokens: lines)
    }

    /// Number of tokens.
    public var count: Int { tokens.count }

    /// The id of `token`, or nil when it is not in the vocabulary.
    public func id(of token: String) -> Int? { ids[token] }

    /// The token for `id`, or nil when out of range.
    public func token(for id: Int) -> String? { id >= 0 && id < tokens.count ? tokens[id] : nil }
}

/// Splits text into tokens the way MODEL.md's tokenizers do.
public enum Tokenization {
    /// `whitespace`: runs of Unicode white space separate tokens; `characters`: one Unicode scalar a token.
    public static func split(_ text: String, with tokenizer: ModelConfig.Tokenizer) -> [String] {
        switch tokenizer {
        case .whitespace:
            var out: [String] = []
            var current = String.UnicodeScalarView()
            for s in text.unicodeScalars {
                if s.properties.isWhitespace {
                    if !current.isEmpty { out.append(String(current)); current = String.UnicodeScalarView() }
                } else {
                    current.append(s)
                }
            }
            if !current.isEmpty { out.append(String(current)) }
            return out
        case .characters:
            return text.unicodeScalars.map { String($0) }
        }
    }

    /// Joins target tokens: with one space for `whitespace`, concatenated for `characters`.
    public static func join(_ tokens: [String], with tokenizer: ModelConfig.Tokenizer) -> String {
        tokenizer == .whitespace ? tokens.joined(separator: " ") : tokens.joined()
    }
}

/// Reads a whole (small) file; errors name the path.
func readFile(_ path: String) throws -> [UInt8] {
    guard let f = fopen(path, "rb") else {
        throw Seq2SeqError.invalidModel("cannot open \(path): \(String(cString: strerror(errno)))")
    }
    defer { fclose(f) }
    var st = stat()
    if fstat(fileno(f), &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR {
        throw Seq2SeqError.invalidModel("\(path) is a directory, expected a file")
    }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
        if n > 0 { out.append(contentsOf: chunk[0..<n]) }
        if n < chunk.count {
            if ferror(f) != 0 { throw Seq2SeqError.invalidModel("cannot read \(path)") }
            break
        }
        if out.count > 256 << 20 { throw Seq2SeqError.invalidModel("\(path) is larger than 256 MiB") }
    }
    return out
}
