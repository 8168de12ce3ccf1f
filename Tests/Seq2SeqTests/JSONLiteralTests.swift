import Foundation
@testable import Seq2Seq
import Testing

/// `JSONValue.literal` (every string the CLI and the server write): escapes what JSON requires, passes the
/// rest through, and reads back as the same string with the engine's own parser and with Foundation's.
@Suite("JSON string literals")
struct JSONLiteralTests {
    static let cases: [(String, String)] = [
        ("", "\"\""),
        ("2026-11-24", "\"2026-11-24\""),
        ("▁Haus", "\"▁Haus\""),
        ("say \"hi\"", "\"say \\\"hi\\\"\""),
        ("a\\b", "\"a\\\\b\""),
        ("line\nnext\r\ttab", "\"line\\nnext\\r\\ttab\""),
        ("\u{1}\u{1f}", "\"\\u0001\\u001f\""),
        ("ünï 😀 \u{7f}", "\"ünï 😀 \u{7f}\""),
    ]

    @Test("Exact text for plain, quoted, backslashed, control and non-ASCII strings")
    func exact() {
        for (s, expected) in Self.cases { #expect(JSONValue.literal(s) == expected, "\(s.debugDescription)") }
    }

    @Test("Every literal reads back as its string (the engine's parser and Foundation's)")
    func roundTrip() throws {
        var strings = Self.cases.map(\.0)
        // Every byte value below 0x80 once, alone and inside text.
        for b in 0..<0x80 { let c = String(UnicodeScalar(UInt8(b))); strings += [c, "x" + c + "y"] }
        for s in strings {
            let text = JSONValue.literal(s)
            let parsed = try JSONValue.parse(text)
            #expect(parsed == .string(s), "\(s.debugDescription)")
            let foundation = try JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed) as? String
            #expect(foundation == s, "\(s.debugDescription)")
        }
    }
}
