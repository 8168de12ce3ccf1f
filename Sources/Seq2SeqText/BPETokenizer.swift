import Seq2Seq

/// subword-nmt's byte-pair encoding (`apply_bpe.py`, version 0.3.8), in Swift: a codes file of merge
/// operations applied to each word by priority, then the separator (`@@` by default) appended to every
/// piece but a word's last.
///
/// Exactly as subword-nmt, on Unicode code points:
/// - the codes file: an optional first line `#version: X.Y` (without it the codes are version 0.1), then
///   one merge a line, two symbols separated by one space; line ends `\n`, `\r\n` or `\r` (Python's
///   universal newlines); the first occurrence of a pair gives its priority;
/// - a word of one code point is left as it is; otherwise its code points are the symbols, with the
///   end-of-word marker `</w>` a symbol of its own after the last (version 0.1) or appended to the last
///   code point (version 0.2); the adjacent pair with the best priority is merged everywhere in the word
///   (left to right, overlaps skipped) until no adjacent pair has a merge; the marker is then dropped;
/// - with a vocabulary, a piece not in it (with the separator, for a word's non-final pieces) is split back
///   by reversing merges until its parts are in it or cannot be split (`check_vocab_and_split`);
/// - glossaries (literal strings here) are isolated inside words and never split.
///
/// Immutable and `Sendable`: no cache (subword-nmt's cache changes nothing without BPE-dropout).
public struct BPETokenizer: Sendable {
    /// The file name (or label) the codes were loaded from, for messages.
    public let name: String
    /// The continuation marker (`@@`).
    public let separator: String
    /// The codes' version: `[0, 1]` or `[0, 2]`.
    public let version: [Int]
    /// Merge operations in use (after `merges`).
    public var mergeCount: Int { mergeRanks.count }

    private let separatorScalars: [Unicode.Scalar]
    private let glossaries: [[Unicode.Scalar]]
    /// Symbol ids by the symbol's code points (every symbol of every merge and every merge result).
    private let symbolIDs: [[Unicode.Scalar]: Int32]
    private let symbols: [[Unicode.Scalar]]
    /// Priority (0 = first) and result of merging the symbols (left, right), keyed by `key(left, right)`.
    private let mergeRanks: [UInt64: (rank: Int32, result: Int32)]
    /// subword-nmt's `bpe_codes_reverse`: the pair a merged symbol came from.
    private let reverse: [Int32: (Int32, Int32)]
    /// The vocabulary filter's pieces (nil or empty: no filter).
    private let vocabulary: Set<[Unicode.Scalar]>?

    private static let endOfWord: [Unicode.Scalar] = Array("</w>".unicodeScalars)

    /// Loads a codes file.
    ///
    /// - Parameters:
    ///   - merges: use only the first `merges` operations (nil: all).
    ///   - vocabulary: the vocabulary filter's pieces (subword-nmt's `--vocabulary`, JoeyNMT's model
    ///     vocabulary); nil or empty for none.
    /// - Throws: `invalidModel` naming the file (and line) when it cannot be read, is not UTF-8, has a line
    ///   that is not two symbols, or an unsupported version.
    public init(contentsOf path: String, separator: String = "@@", glossaries: [String] = [], merges: Int? = nil,
                vocabulary: [String]? = nil) throws {
        try self.init(codes: try readFile(path), name: path, separator: separator, glossaries: glossaries,
                      merges: merges, vocabulary: vocabulary)
    }

    /// Codes from the bytes of a codes file; `name` labels it in error messages.
    public init(codes bytes: [UInt8], name: String, separator: String = "@@", glossaries: [String] = [],
                merges: Int? = nil, vocabulary: [String]? = nil) throws {
        self.name = name
        self.separator = separator
        separatorScalars = Array(separator.unicodeScalars)
        self.glossaries = glossaries.map { Array($0.unicodeScalars) }
        func bad(_ m: String) -> Seq2SeqError { .invalidModel("\(name): \(m)") }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw bad("the BPE codes file is not valid UTF-8")
        }
        // Universal newlines: "\r\n" and "\r" read as "\n".
        var lines: [[Unicode.Scalar]] = [[]]
        var previousCR = false
        for u in text.unicodeScalars {
            if u == "\r" || u == "\n" {
                if !(u == "\n" && previousCR) { lines.append([]) }
                previousCR = u == "\r"
                continue
            }
            previousCR = false
            lines[lines.count - 1].append(u)
        }
        // `readline()` then `read().rstrip('\n').split('\n')`: trailing empty lines go, the others stay.
        var offset = 1
        var version = [0, 1]
        if lines[0].starts(with: "#version:".unicodeScalars) {
            let fields = PythonText.split(PythonText.string(lines[0]))
            // re.sub(r'(\.0+)*$', '', v): trailing groups of "." and zeros go.
            var v = Array((fields.last ?? "").unicodeScalars)
            while true {
                var end = v.count
                while end > 0 && v[end - 1] == "0" { end -= 1 }
                guard end < v.count, end > 0, v[end - 1] == "." else { break }
                v.removeSubrange((end - 1)...)
            }
            let parts = v.split(separator: ".", omittingEmptySubsequences: false).map { Int(PythonText.string($0)) }
            guard !parts.isEmpty, parts.allSatisfy({ $0 != nil && $0! >= 0 }) else {
                throw bad("line 1: cannot read the BPE codes version from \"\(PythonText.string(lines[0]))\"")
            }
            version = parts.map { $0! }
            guard version == [0, 1] || version == [0, 2] else {
                throw bad("BPE codes version \(version.map(String.init).joined(separator: ".")) is not supported (subword-nmt writes 0.1 and 0.2)")
            }
            lines.removeFirst()
            if lines.isEmpty { lines = [[]] }
            offset = 2
        }
        self.version = version
        while lines.count > 1 && lines.last!.isEmpty { lines.removeLast() }
        let used = merges.map { min($0, lines.count) } ?? lines.count
        var pairs: [([Unicode.Scalar], [Unicode.Scalar])] = []
        pairs.reserveCapacity(used)
        let stripped: Set<Unicode.Scalar> = ["\r", "\n", " "]
        for (n, line) in lines.prefix(used).enumerated() {
            let fields = PythonText.strip(line, characters: stripped).split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count == 2 else {
                throw bad("invalid line \(n + offset) in the BPE codes file: \"\(PythonText.string(line))\" (a merge is two symbols separated by one space)")
            }
            pairs.append((Array(fields[0]), Array(fields[1])))
        }

        var symbolIDs: [[Unicode.Scalar]: Int32] = [:]
        var symbols: [[Unicode.Scalar]] = []
        func intern(_ s: [Unicode.Scalar]) -> Int32 {
            if let id = symbolIDs[s] { return id }
            let id = Int32(symbols.count)
            symbolIDs[s] = id
            symbols.append(s)
            return id
        }
        var ranks: [UInt64: (rank: Int32, result: Int32)] = [:]
        var lastIndex: [UInt64: Int] = [:]
        var order: [UInt64] = []
        for (i, (a, b)) in pairs.enumerated() {
            let left = intern(a), right = intern(b), result = intern(a + b)
            let k = Self.key(left, right)
            if ranks[k] == nil {
                ranks[k] = (Int32(i), result)
                order.append(k)
            }
            lastIndex[k] = i
        }
        // bpe_codes_reverse: Python fills it in the insertion order of `bpe_codes`, which was built from the
        // reversed list (pairs by their last occurrence, latest first); a later assignment wins.
        var reverse: [Int32: (Int32, Int32)] = [:]
        for k in order.sorted(by: { lastIndex[$0]! > lastIndex[$1]! }) {
            reverse[ranks[k]!.result] = (Int32(truncatingIfNeeded: k >> 32), Int32(truncatingIfNeeded: k & 0xFFFF_FFFF))
        }
        self.symbolIDs = symbolIDs
        self.symbols = symbols
        self.mergeRanks = ranks
        self.reverse = reverse
        if let vocabulary, !vocabulary.isEmpty {
            self.vocabulary = Set(vocabulary.map { Array($0.unicodeScalars) })
        } else {
            self.vocabulary = nil
        }
    }

    private static func key(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b)) }

    // MARK: subword-nmt's API

    /// `BPE.segment_tokens`: each non-empty word segmented, the separator appended to all but its last piece.
    public func segmentTokens(_ words: [String]) -> [String] {
        var out: [String] = []
        for word in words where !word.isEmpty {
            let scalars = Array(word.unicodeScalars)
            var pieces: [[Unicode.Scalar]] = []
            for segment in isolateGlossaries(scalars) { pieces.append(contentsOf: encode(segment)) }
            if pieces.isEmpty { continue }
            for (i, p) in pieces.enumerated() {
                out.append(PythonText.string(i == pieces.count - 1 ? p : p + separatorScalars))
            }
        }
        return out
    }

    /// `BPE.segment`: the line without `\r`, `\n` and spaces at its ends, split at single spaces, segmented,
    /// joined by spaces.
    public func segment(_ sentence: String) -> String {
        segmentTokens(Self.words(sentence)).joined(separator: " ")
    }

    /// `BPE.process_line`: `segment`, with the line's leading and trailing `\r`, `\n` and spaces kept.
    public func processLine(_ line: String) -> String {
        let scalars = Array(line.unicodeScalars)
        let ends: Set<Unicode.Scalar> = ["\r", "\n", " "]
        let core = PythonText.strip(scalars, characters: ends)
        var out = PythonText.string(scalars[..<core.startIndex])
        out += segment(line)
        if core.endIndex < scalars.count && !core.isEmpty {
            out += PythonText.string(scalars[core.endIndex...])
        }
        return out
    }

    /// The words subword-nmt segments in a line: `line.strip('\r\n ').split(' ')` (empty words are skipped
    /// later).
    static func words(_ line: String) -> [String] {
        let core = PythonText.strip(Array(line.unicodeScalars), characters: ["\r", "\n", " "])
        return core.split(separator: " ", omittingEmptySubsequences: false).map { PythonText.string($0) }
    }

    /// Output pieces joined back into text: joined by spaces, every `separator + " "` removed (leftmost,
    /// non-overlapping), then one `separator` at the very end removed (OpenNMT-py's and JoeyNMT's
    /// detokenization; fairseq's after its right strip).
    public static func join(_ pieces: [String], separator: String) -> String {
        let marker = Array(separator.unicodeScalars)
        var text = PythonText.removeAll(marker + [" "], from: Array(pieces.joined(separator: " ").unicodeScalars))
        if !marker.isEmpty && text.count >= marker.count && text[(text.count - marker.count)...].elementsEqual(marker) {
            text.removeLast(marker.count)
        }
        return PythonText.string(text)
    }

    // MARK: The algorithm

    /// `isolate_glossary` for each glossary in turn (literal strings).
    private func isolateGlossaries(_ word: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        var segments = [word]
        for g in glossaries {
            segments = segments.flatMap { isolate($0, g) }
        }
        return segments
    }

    private func isolate(_ word: [Unicode.Scalar], _ g: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        if word == g { return [word] }
        // re.split('(g)', word): the text between occurrences and the occurrences themselves.
        var parts: [[Unicode.Scalar]] = []
        var i = 0, start = 0
        while i + g.count <= word.count {
            if word[i..<(i + g.count)].elementsEqual(g) {
                parts.append(Array(word[start..<i]))
                parts.append(g)
                i += g.count
                start = i
            } else {
                i += 1
            }
        }
        if parts.isEmpty { return [word] }
        let ending = Array(word[start...])
        let segments = parts.filter { !$0.isEmpty }
        return ending.isEmpty ? segments : segments + [Array(PythonText.strip(ending, characters: ["\r", "\n", " "]))]
    }

    /// subword-nmt's `encode` for one word (glossaries already isolated).
    func encode(_ orig: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        if glossaries.contains(orig) { return [orig] }
        if orig.count == 1 { return [orig] }
        // subword-nmt fails on an empty segment (a glossary followed by only "\r"); here it has no pieces.
        if orig.isEmpty { return [] }
        // Symbols as ids; code points the codes never mention get ids of their own below zero.
        var local: [[Unicode.Scalar]] = []
        func id(_ s: [Unicode.Scalar]) -> Int32 {
            if let i = symbolIDs[s] { return i }
            if let j = local.firstIndex(of: s) { return -1 - Int32(j) }
            local.append(s)
            return -Int32(local.count)
        }
        var word: [Int32]
        if version == [0, 1] {
            word = orig.map { id([$0]) } + [id(Self.endOfWord)]
        } else {
            word = orig.dropLast().map { id([$0]) } + [id([orig.last!] + Self.endOfWord)]
        }
        while word.count > 1 {
            var best: (rank: Int32, result: Int32, left: Int32, right: Int32)?
            for i in 0..<(word.count - 1) {
                guard word[i] >= 0 && word[i + 1] >= 0, let m = mergeRanks[Self.key(word[i], word[i + 1])] else { continue }
                if best == nil || m.rank < best!.rank { best = (m.rank, m.result, word[i], word[i + 1]) }
            }
            guard let b = best else { break }
            var merged: [Int32] = []
            merged.reserveCapacity(word.count)
            var i = 0
            while i < word.count {
                if i + 1 < word.count && word[i] == b.left && word[i + 1] == b.right {
                    merged.append(b.result)
                    i += 2
                } else {
                    merged.append(word[i])
                    i += 1
                }
            }
            word = merged
        }
        var pieces = word.map { $0 >= 0 ? symbols[Int($0)] : local[Int(-1 - $0)] }
        if pieces.last! == Self.endOfWord {
            pieces.removeLast()
        } else if pieces.last!.count >= 4 && pieces.last!.suffix(4).elementsEqual(Self.endOfWord) {
            pieces[pieces.count - 1].removeLast(4)
        }
        if let vocabulary { pieces = checkVocabularyAndSplit(pieces, vocabulary) }
        return pieces
    }

    /// `check_vocab_and_split`.
    private func checkVocabularyAndSplit(_ orig: [[Unicode.Scalar]], _ vocabulary: Set<[Unicode.Scalar]>) -> [[Unicode.Scalar]] {
        var out: [[Unicode.Scalar]] = []
        for segment in orig.dropLast() {
            if vocabulary.contains(segment + separatorScalars) {
                out.append(segment)
            } else {
                recursiveSplit(segment, vocabulary, final: false, into: &out)
            }
        }
        if let last = orig.last {
            if vocabulary.contains(last) {
                out.append(last)
            } else {
                recursiveSplit(last, vocabulary, final: true, into: &out)
            }
        }
        return out
    }

    /// `recursive_split`: undo the merge that made `segment` (looked up with `</w>` for a word's last piece)
    /// until the parts are in the vocabulary or cannot be split.
    private func recursiveSplit(_ segment: [Unicode.Scalar], _ vocabulary: Set<[Unicode.Scalar]>, final: Bool,
                                into out: inout [[Unicode.Scalar]]) {
        let lookup = final ? segment + Self.endOfWord : segment
        guard let merged = symbolIDs[lookup], let (l, r) = reverse[merged] else {
            out.append(segment)
            return
        }
        let left = symbols[Int(l)]
        var right = symbols[Int(r)]
        if final { right.removeLast(min(4, right.count)) }
        if vocabulary.contains(left + separatorScalars) {
            out.append(left)
        } else {
            recursiveSplit(left, vocabulary, final: false, into: &out)
        }
        if (final && vocabulary.contains(right)) || (!final && vocabulary.contains(right + separatorScalars)) {
            out.append(right)
        } else {
            recursiveSplit(right, vocabulary, final: final, into: &out)
        }
    }
}
