import Foundation
import Seq2Seq
import Testing

/// The "option_runs" of the decoding-options golden cases (tools/make_option_fixtures.py, MODEL.md "Decoding
/// options") through the library: each run's options are put on every input line as a JSONL request would
/// carry them, parsed by `Requests.translateRequest`, and decoded in one call (line i at position i).
extension GoldenCase {
    func checkOptionRuns(_ model: Seq2SeqModel) throws {
        for run in spec["option_runs"]?.array ?? [] {
            let name = run["name"]!.string!
            guard case .object(var members)? = run["options"] else { Issue.record("\(self.name) \(name): no options"); continue }
            if run["options"]?["beam_size"] == nil { members.append(("beam_size", .int(1))) }
            let options = members.map { "\"\($0.0)\": \(Self.text($0.1))" }.joined(separator: ", ")
            let raw = try String(contentsOf: file(run["inputs"]!.string!), encoding: .utf8).split(separator: "\n")
            let requests = try raw.map { line in
                let merged = String(line.dropLast()) + ", " + options + "}"
                return try Array(merged.utf8).withUnsafeBytes { try Requests.translateRequest($0, model: model, defaults: DecodingOptions()) }
            }
            let expected = try Fixtures.jsonLines(file(run["expected"]!.string!))
            try #require(requests.count == expected.count && !requests.isEmpty)
            let out = try Translator(model: model).translate(inputs: requests.map(\.input), options: requests[0].options)
            for (i, (e, o)) in zip(expected, out).enumerated() {
                let place = "\(self.name) options \(name) line \(i + 1)"
                let list = e["n_best"]?.array ?? [e]
                #expect(o.hypotheses.count == list.count, "\(place): \(o.hypotheses.count) hypotheses, expected \(list.count)")
                for (k, (eh, oh)) in zip(list, o.hypotheses).enumerated() {
                    guard compare(eh, oh, gaps: nil, margin: nil, at: "\(place) hypothesis \(k + 1)") else { break }
                    let want = eh["token_log_probs"]!.doubles!
                    if let worst = maxDifference(oh.tokenLogProbs.map(Double.init), want) {
                        #expect(worst.diff <= Tolerance.logProb, "\(place) hypothesis \(k + 1): token \(worst.index + 1) off by \(worst.diff)")
                    } else {
                        Issue.record("\(place) hypothesis \(k + 1): \(oh.tokenLogProbs.count) token log-probs, expected \(want.count)")
                    }
                }
                let warnings = e["warnings"]?.array?.compactMap(\.string) ?? []
                #expect(o.warnings == warnings, "\(place): warnings \(o.warnings), expected \(warnings)")
            }
        }
    }

    /// JSON text of a value from case.json (numbers, booleans, strings and arrays of them).
    static func text(_ v: JSONValue) -> String {
        switch v {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return "\(d)"
        case .string(let s): return "\"\(s)\""
        case .array(let a): return "[" + a.map(text).joined(separator: ", ") + "]"
        case .object(let m): return "{" + m.map { "\"\($0.0)\": \(text($0.1))" }.joined(separator: ", ") + "}"
        }
    }
}
