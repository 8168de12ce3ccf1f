/// The few Python `str` operations the toolkits apply around their tokenizers, on Unicode scalars (Python's
/// code points), never on Swift `Character`s: Swift's `String` comparison is canonical equivalence and its
/// characters are grapheme clusters, where Python compares and counts code points.
enum PythonText {
    /// `str.isspace()` for one code point: Unicode White_Space plus U+001C–U+001F (Python counts the
    /// information separators as white space; `Unicode.Scalar.Properties.isWhitespace` does not).
    static func isSpace(_ u: Unicode.Scalar) -> Bool {
        switch u.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// `s.strip()` (`.both`), `s.rstrip()` (`.right`) or `s` (`.none`).
    static func strip(_ s: String, _ ends: StripEnds) -> String {
        if ends == .none { return s }
        let scalars = Array(s.unicodeScalars)
        var start = 0, end = scalars.count
        if ends == .both { while start < end && isSpace(scalars[start]) { start += 1 } }
        while end > start && isSpace(scalars[end - 1]) { end -= 1 }
        if start == 0 && end == scalars.count { return s }
        return string(scalars[start..<end])
    }

    enum StripEnds { case none, both, right }

    /// `s.strip(chars)` for a set of ASCII characters (subword-nmt's `strip('\r\n ')`).
    static func strip(_ s: [Unicode.Scalar], characters: Set<Unicode.Scalar>) -> ArraySlice<Unicode.Scalar> {
        var start = 0, end = s.count
        while start < end && characters.contains(s[start]) { start += 1 }
        while end > start && characters.contains(s[end - 1]) { end -= 1 }
        return s[start..<end]
    }

    /// `s.split()`: the runs of non-white-space code points.
    static func split(_ s: String) -> [String] {
        var out: [String] = []
        var current = String.UnicodeScalarView()
        for u in s.unicodeScalars {
            if isSpace(u) {
                if !current.isEmpty { out.append(String(current)); current = String.UnicodeScalarView() }
            } else {
                current.append(u)
            }
        }
        if !current.isEmpty { out.append(String(current)) }
        return out
    }

    /// `haystack.replace(needle, "")`: leftmost, non-overlapping occurrences removed, on code points.
    static func removeAll(_ needle: [Unicode.Scalar], from haystack: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard !needle.isEmpty, haystack.count >= needle.count else { return haystack }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(haystack.count)
        var i = 0
        while i < haystack.count {
            if i + needle.count <= haystack.count && haystack[i..<(i + needle.count)].elementsEqual(needle) {
                i += needle.count
            } else {
                out.append(haystack[i])
                i += 1
            }
        }
        return out
    }

    static func string<S: Sequence>(_ scalars: S) -> String where S.Element == Unicode.Scalar {
        var v = String.UnicodeScalarView()
        v.append(contentsOf: scalars)
        return String(v)
    }
}
