import Foundation
import Seq2Seq
import Testing

/// Format 2 through the `seq2seq` command line, on the golden models g22 (source_append_eos, bos = eos, no pad
/// and no unk, suppress_ids) and g23 (decoding_defaults, detokenize_skip_ids).
@Suite("Format 2 command line")
struct Format2CLITests {
    static let g22 = CLITests.golden("g22_gru_bahdanau_source_eos_bos_eq_eos_suppress_no_pad_unk") + "/model"
    static let g23 = CLITests.golden("g23_gru_luong_dot_decoding_defaults_detokenize_skip") + "/model"

    static func json(_ line: String) throws -> JSONValue { try JSONValue.parse(line) }

    @Test("Without unk, an unknown source token is an error for its line only (jsonl), naming the line and the token")
    func unknownTokenJSONL() throws {
        let input = "{\"source\": \"s7 s8\"}\n{\"source\": \"s7 zz s8\"}\n{\"source_ids\": [5, 6]}\n{\"source\": \"qq\"}\n"
        let r = try CLITests.run(["translate", "--model", Self.g22, "--format", "jsonl", "--beam-size", "1"], stdin: input)
        #expect(r.status == 1)
        try #require(r.lines.count == 4, "\(r.stdout)")
        #expect(r.lines[0].hasPrefix("{\"ids\"") && r.lines[2].hasPrefix("{\"ids\""))
        #expect(r.lines[1].contains("\"error\"") && r.lines[1].contains("line 2") && r.lines[1].contains("zz"), "\(r.lines[1])")
        #expect(r.lines[3].contains("\"error\"") && r.lines[3].contains("line 4") && r.lines[3].contains("qq"), "\(r.lines[3])")
    }

    @Test("Without unk, an unknown token in --format text is reported on stderr and answered by an empty line")
    func unknownTokenText() throws {
        let r = try CLITests.run(["translate", "--model", Self.g22, "--beam-size", "1"], stdin: "s7 s8\nzz s7\ns3\n")
        let good = try CLITests.run(["translate", "--model", Self.g22, "--beam-size", "1", "s7 s8", "s3"])
        #expect(r.status == 1 && good.status == 0)
        #expect(r.lines == [good.lines[0], "", good.lines[1]])
        #expect(r.stderr.contains("line 2") && r.stderr.contains("zz"), "stderr: \(r.stderr)")
    }

    @Test("Without unk, unknown source or target tokens in score lines are line errors")
    func unknownTokenScore() throws {
        let input = "{\"source\": \"s7 s8\", \"target\": \"t1 t2\"}\n{\"source\": \"s7 zz\", \"target\": \"t1\"}\n"
            + "{\"source_ids\": [5], \"target\": \"t1 nope\"}\n{\"source_ids\": [5], \"target_ids\": [4, 2]}\n"
        let r = try CLITests.run(["score", "--model", Self.g22], stdin: input)
        #expect(r.status == 1)
        try #require(r.lines.count == 4, "\(r.stdout)")
        #expect(r.lines[0].hasPrefix("{\"token_log_probs\"") && r.lines[3].hasPrefix("{\"token_log_probs\""))
        #expect(r.lines[1].contains("line 2") && r.lines[1].contains("zz"))
        #expect(r.lines[2].contains("line 3") && r.lines[2].contains("nope"))
    }

    @Test("source_append_eos: attention rows span the source and its eos; --show-attention and --plot label it")
    func sourceEOSAttention() throws {
        let r = try CLITests.run(["translate", "--model", Self.g22, "--format", "jsonl", "--attention", "--beam-size", "1"],
                                 stdin: "{\"source_ids\": [5, 6, 7]}\n")
        #expect(r.status == 0)
        let rows = try Self.json(r.lines[0])["attention"]?.array ?? []
        #expect(!rows.isEmpty && rows.allSatisfy { $0.array?.count == 4 }, "\(r.stdout)")
        let shown = try CLITests.run(["translate", "--model", Self.g22, "--beam-size", "1", "--show-attention", "s7 s8"])
        #expect(shown.status == 0 && shown.stdout.contains("</s>"), "\(shown.stdout)")
        let svg = FileManager.default.temporaryDirectory.appendingPathComponent("seq2seq-f2-\(UUID().uuidString).svg").path
        defer { try? FileManager.default.removeItem(atPath: svg) }
        let plotted = try CLITests.run(["translate", "--model", Self.g22, "--beam-size", "1", "--plot", svg, "s7 s8"])
        #expect(plotted.status == 0, "stderr: \(plotted.stderr)")
        let picture = (try? String(contentsOfFile: svg, encoding: .utf8)) ?? ""
        #expect(picture.contains("&lt;/s&gt;</text>"), "the eos column has no label")
    }

    @Test("suppress_ids: a beam larger than the ids left to choose is refused before any work")
    func beamBeyondChoosable() throws {
        // g22: Vt 26, three suppressed ids and eos leave 22
        let r = try CLITests.run(["translate", "--model", Self.g22, "--beam-size", "23", "s7"])
        #expect(r.status == 2 && r.stderr.contains("23") && r.stderr.contains("suppress_ids"), "stderr: \(r.stderr)")
        let ok = try CLITests.run(["translate", "--model", Self.g22, "--beam-size", "22", "s7"])
        #expect(ok.status == 0, "stderr: \(ok.stderr)")
    }

    @Test("decoding_defaults apply when --beam-size and --min-length are absent, each flag overriding its own")
    func decodingDefaults() throws {
        let input = "{\"source_ids\": [4, 5, 6]}\n{\"source_ids\": [9]}\n{\"source_ids\": [7, 8, 9, 10, 11]}\n"
        func run(_ flags: [String]) throws -> [String] {
            let r = try CLITests.run(["translate", "--model", Self.g23, "--format", "jsonl"] + flags, stdin: input)
            #expect(r.status == 0, "\(flags): \(r.stderr)")
            return r.lines
        }
        // g23: decoding_defaults beam_size 3, min_length 3
        let defaults = try run([])
        #expect(defaults == (try run(["--beam-size", "3", "--min-length", "3"])))
        for line in defaults { #expect((try Self.json(line)["ids"]?.array?.count ?? 0) >= 3, "min_length 3: \(line)") }
        #expect((try run(["--beam-size", "1"])) == (try run(["--beam-size", "1", "--min-length", "3"])))
        #expect((try run(["--min-length", "0"])) == (try run(["--beam-size", "3", "--min-length", "0"])))
        #expect((try run(["--min-length", "0"])) != defaults, "the default min_length changes nothing here")
    }

    @Test("inspect shows absent special tokens and the format-2 settings")
    func inspect() throws {
        let r = try CLITests.run(["inspect", "--model", Self.g22])
        #expect(r.status == 0)
        #expect(r.stdout.contains("pad none") && r.stdout.contains("unk none") && !r.stdout.contains("Optional("), "\(r.stdout)")
        #expect(r.stdout.contains("source_append_eos") && r.stdout.contains("suppress_ids"))
    }

    @Test("detokenize_skip_ids: left out of text output, kept in the JSONL ids and tokens")
    func detokenizeSkip() throws {
        let model = try Seq2SeqModel(directory: Self.g23)
        let skip = Set(model.config.detokenizeSkipIDs)
        #expect(!skip.isEmpty)
        let texts = try String(contentsOfFile: CLITests.golden("g23_gru_luong_dot_decoding_defaults_detokenize_skip")
                               + "/text_inputs.txt", encoding: .utf8)
        let text = try CLITests.run(["translate", "--model", Self.g23, "--beam-size", "1", "--min-length", "1"], stdin: texts)
        let jsonl = try CLITests.run(["translate", "--model", Self.g23, "--beam-size", "1", "--min-length", "1", "--format", "jsonl"],
                                     stdin: texts.split(separator: "\n").map { "{\"source\": \"\($0)\"}\n" }.joined())
        #expect(text.status == 0 && jsonl.status == 0)
        try #require(text.lines.count == jsonl.lines.count)
        var skipped = 0
        for (t, j) in zip(text.lines, jsonl.lines) {
            let o = try Self.json(j)
            let ids = o["ids"]?.ints ?? [], tokens = o["tokens"]?.array?.compactMap(\.string) ?? []
            #expect(ids.count == tokens.count)
            let kept = zip(ids, tokens).filter { !skip.contains($0.0) }.map(\.1)
            #expect(t == kept.joined(separator: " "), "text \(t) vs tokens \(tokens)")
            skipped += ids.count - kept.count
        }
        #expect(skipped > 0, "no output held a skipped id")
    }
}
