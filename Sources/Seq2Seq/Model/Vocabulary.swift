#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A vocabulary file: one token a line, line `i` (from 0) is id `i`.
public struct Vocabulary: Sendable {
    /// Tokens by id.
    public let tokens: [String]
    /// Ids by the tokens' UTF-8 bytes: Swift's `String` equality is canonical equivalence, which would
    /// merge tokens that differ in their scalars ("é" and "e\u{301}", "K" and the Kelvin sign "\u{212A}"),
    /// where MODEL.md's vocabularies (and PyTorch's) tell them apart.
    private let ids: [[UInt8]: Int]

    /// A vocabulary from its tokens; a repeated token maps to its first id.
    public init(tokens: [String]) {
        self.tokens = tokens
        var ids: [[UInt8]: Int] = [:]
        ids.reserveCapacity(tokens.count)
        for (i, t) in tokens.enumerated() where ids[Array(t.utf8)] == nil { ids[Array(t.utf8)] = i }
        self.ids = ids
    }

    /// Reads a vocabulary file (UTF-8; `\n` or `\r\n` line ends; a final newline is optional).
    /// A line holding a single space is the space token.
    public init(contentsOf path: String) throws {
        let data = try readFile(path)
        guard String(validating: data, as: UTF8.self) != nil else {
            throw Seq2SeqError.invalidModel("\(path) is not valid UTF-8")
        }
        // Lines are split as bytes: as `Character`s, "\r\n" is one grapheme that is not "\n".
        var lines = data.split(separator: 0x0A, omittingEmptySubsequences: false).map { line -> String in
            String(decoding: line.last == 0x0D ? line.dropLast() : line, as: UTF8.self)
        }
        if lines.last == "" { lines.removeLast() }
        self.init(tokens: lines)
    }

    /// Number of tokens.
    public var count: Int { tokens.count }

    /// The id of `token`, or nil when it is not in the vocabulary.
    public func id(of token: String) -> Int? { ids[Array(token.utf8)] }

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
package func readFile(_ path: String) throws -> [UInt8] {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below like any non-regular file.
    let fd = open(path, O_RDONLY | O_NONBLOCK)
    guard fd >= 0 else {
        throw Seq2SeqError.invalidModel("cannot open \(path): \(String(cString: strerror(errno)))")
    }
    var st = stat()
    guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
        close(fd)
        if (st.st_mode & S_IFMT) == S_IFDIR { throw Seq2SeqError.invalidModel("\(path) is a directory, expected a file") }
        throw Seq2SeqError.invalidModel("\(path) is not a regular file")
    }
    guard let f = fdopen(fd, "rb") else {
        close(fd)
        throw Seq2SeqError.invalidModel("cannot open \(path): \(String(cString: strerror(errno)))")
    }
    defer { fclose(f) }
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
