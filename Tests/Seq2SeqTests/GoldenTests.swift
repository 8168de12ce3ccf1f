import Foundation
import Seq2Seq
import Seq2SeqReference
import Testing

/// Golden cases computed by PyTorch (see Tests/Fixtures/golden/README.md and ../shared/fixtures/README.md),
/// run through the library API with the tolerances of the fixtures' README: ids exact (near-ties excepted),
/// log-probabilities and scores within 2e-4, attention within 1e-4.
@Suite("Golden cases")
struct GoldenTests {
    @Test("The shared fixtures are present when CI=true")
    func sharedFixturesPresentInCI() {
        if Fixtures.inCI {
            #expect(!Fixtures.sharedCases.isEmpty, "CI=true but no cases under \(Fixtures.sharedDirectory.path)")
        }
    }

    @Test("The repository carries golden cases of its own")
    func ownFixturesPresent() {
        #expect(Fixtures.ownCases.count >= 5, "expected golden cases under \(Fixtures.ownDirectory.path)")
    }

    @Test("Shared case matches PyTorch", arguments: Fixtures.sharedCases.map(\.lastPathComponent))
    func shared(_ name: String) throws {
        try GoldenCase(Fixtures.sharedDirectory.appendingPathComponent(name)).check()
    }

    @Test("Own case matches PyTorch", arguments: Fixtures.ownCases.map(\.lastPathComponent))
    func own(_ name: String) throws {
        try GoldenCase(Fixtures.ownDirectory.appendingPathComponent(name)).check()
    }

    /// The naive reference against PyTorch directly on the format-2 cases (the parity grid compares it with the
    /// engine): greedy, beam and scores.
    @Test("Format-2 case: the naive reference matches PyTorch too",
          arguments: Fixtures.ownCases.filter { (try? GoldenCase($0).isFormat2) == true }.map(\.lastPathComponent))
    func referenceFormat2(_ name: String) throws {
        let golden = try GoldenCase(Fixtures.ownDirectory.appendingPathComponent(name))
        let model = try Seq2SeqModel(directory: golden.file("model").path)
        let reference = ReferenceTranslator(model: model)
        let src = try golden.sources(model, Fixtures.jsonLines(golden.file("inputs.jsonl")))
        let greedy = try reference.translate(src, options: golden.options(golden.spec["greedy"]!, attention: true))
        for (i, (e, o)) in zip(try Fixtures.jsonLines(golden.file("expected_greedy.jsonl")), greedy).enumerated() {
            golden.compare(e, o.best, gaps: e["gaps"]?.doubles, margin: nil, at: "\(name) reference greedy line \(i + 1)")
        }
        let beam = try reference.translate(src, options: golden.options(golden.spec["beam"]!, attention: true))
        for (i, (e, o)) in zip(try Fixtures.jsonLines(golden.file("expected_beam.jsonl")), beam).enumerated() {
            for (k, (eh, oh)) in zip(e["n_best"]!.array!, o.hypotheses).enumerated() {
                if !golden.compare(eh, oh, gaps: nil, margin: e["margin"]?.double,
                                   at: "\(name) reference beam line \(i + 1) hypothesis \(k + 1)") { break }
            }
        }
        let lines = try Fixtures.jsonLines(golden.file("score_inputs.jsonl"))
        let scores = try reference.score(sources: lines.map { $0["source_ids"]!.ints! }, targets: lines.map { $0["target_ids"]!.ints! })
        for (i, (e, o)) in zip(try Fixtures.jsonLines(golden.file("expected_score.jsonl")), scores).enumerated() {
            let want = e["token_log_probs"]!.doubles!
            if let worst = maxDifference(o.tokenLogProbs, want) {
                #expect(worst.diff <= Tolerance.logProb, "\(name) reference score line \(i + 1): off by \(worst.diff)")
            } else {
                Issue.record("\(name) reference score line \(i + 1): \(o.tokenLogProbs.count) values, expected \(want.count)")
            }
        }
    }
}

/// Tolerances of the fixtures' README.
enum Tolerance {
    static let logProb = 2e-4
    static let attention = 1e-4
    static let tieGap = 1e-3
}

struct GoldenCase {
    let dir: URL
    let spec: JSONValue
    var name: String { dir.lastPathComponent }

    init(_ dir: URL) throws {
        self.dir = dir
        spec = try Fixtures.json(dir.appendingPathComponent("case.json"))
    }

    func file(_ name: String) -> URL { dir.appendingPathComponent(name) }
    /// A valid case whose config says format_version 2.
    var isFormat2: Bool { spec["kind"]?.string == "valid" && spec["config"]?["format_version"]?.int == 2 }
    func has(_ name: String) -> Bool { FileManager.default.fileExists(atPath: file(name).path) }

    func check() throws {
        if spec["kind"]?.string == "invalid" { return checkInvalid() }
        let model = try Seq2SeqModel(directory: file("model").path)
        let greedy = options(spec["greedy"]!, attention: true)
        try checkGreedy(model, inputs: "inputs.jsonl", expected: "expected_greedy.jsonl", options: greedy)
        try checkBeam(model)
        try checkScore(model)
        if has("text_inputs.jsonl") {
            try checkGreedy(model, inputs: "text_inputs.jsonl", expected: "expected_text_greedy.jsonl", options: greedy)
        }
        if has("text_inputs.txt") { try checkTextOutput(model, options: greedy) }
        if has("bad_inputs.jsonl") { try checkBadInputs(model, options: greedy) }
        if has("bad_score_inputs.jsonl") { try checkBadScore(model) }
        if has("bad_text_inputs.txt") { try checkBadText(model, options: greedy) }
        if has("expected_defaults.jsonl") { try checkDefaults(model) }
        if spec["option_runs"] != nil { try checkOptionRuns(model) }
    }

    func options(_ d: JSONValue, attention: Bool) -> DecodingOptions {
        DecodingOptions(beamSize: d["beam_size"]?.int ?? 1, nBest: d["n_best"]?.int ?? 1,
                        lengthPenalty: d["length_penalty"]?.double ?? 1.0, maxLength: d["max_length"]?.int,
                        minLength: d["min_length"]?.int ?? 0, returnAttention: attention)
    }

    func translator(_ model: Seq2SeqModel, _ d: JSONValue) -> Translator {
        Translator(model: model, maxBatchSize: d["batch_size"]?.int ?? 64)
    }

    func sources(_ model: Seq2SeqModel, _ lines: [JSONValue]) throws -> [[Int]] {
        try lines.map { line in
            if let ids = line["source_ids"]?.ints { return ids }
            return try model.sourceIDs(for: line["source"]!.string!)
        }
    }

    func checkGreedy(_ model: Seq2SeqModel, inputs: String, expected: String, options: DecodingOptions) throws {
        let lines = try Fixtures.jsonLines(file(inputs))
        let exp = try Fixtures.jsonLines(file(expected))
        let src = try sources(model, lines)
        for (i, e) in exp.enumerated() {
            if let ids = e["source_ids"]?.ints {
                #expect(src[i] == ids, "\(name) \(inputs) line \(i + 1): tokenized as \(src[i]), expected \(ids)")
            }
        }
        let out = try translator(model, spec["greedy"]!).translate(src, options: options)
        try #require(out.count == exp.count)
        for (i, (e, o)) in zip(exp, out).enumerated() {
            compare(e, o.best, gaps: e["gaps"]?.doubles, margin: nil, at: "\(name) greedy \(inputs) line \(i + 1)")
        }
    }

    func checkBeam(_ model: Seq2SeqModel) throws {
        let d = spec["beam"]!
        let src = try sources(model, Fixtures.jsonLines(file("inputs.jsonl")))
        let exp = try Fixtures.jsonLines(file("expected_beam.jsonl"))
        let out = try translator(model, d).translate(src, options: options(d, attention: true))
        try #require(out.count == exp.count)
        for (i, (e, o)) in zip(exp, out).enumerated() {
            let nbest = e["n_best"]!.array!
            #expect(o.hypotheses.count == nbest.count, "\(name) beam line \(i + 1): \(o.hypotheses.count) hypotheses, expected \(nbest.count)")
            for (k, (eh, oh)) in zip(nbest, o.hypotheses).enumerated() {
                let ok = compare(eh, oh, gaps: nil, margin: e["margin"]?.double, at: "\(name) beam line \(i + 1) hypothesis \(k + 1)")
                if !ok { break }  // a near-tie changed the list: the rest is not comparable
            }
        }
    }

    func checkScore(_ model: Seq2SeqModel) throws {
        let lines = try Fixtures.jsonLines(file("score_inputs.jsonl"))
        let exp = try Fixtures.jsonLines(file("expected_score.jsonl"))
        let out = try Translator(model: model).score(sources: lines.map { $0["source_ids"]!.ints! },
                                                     targets: lines.map { $0["target_ids"]!.ints! })
        for (i, (e, o)) in zip(exp, out).enumerated() {
            let want = e["token_log_probs"]!.doubles!
            try #require(o.tokenLogProbs.count == want.count, "\(name) score line \(i + 1): \(o.tokenLogProbs.count) values, expected \(want.count)")
            if let worst = maxDifference(o.tokenLogProbs, want) {
                #expect(worst.diff <= Tolerance.logProb, "\(name) score line \(i + 1): token \(worst.index + 1) differs by \(worst.diff)")
            }
            #expect(abs(o.logProb - e["log_prob"]!.double!) <= Tolerance.logProb, "\(name) score line \(i + 1): log_prob \(o.logProb)")
        }
    }

    func checkTextOutput(_ model: Seq2SeqModel, options: DecodingOptions) throws {
        let text = try String(contentsOf: file("text_inputs.txt"), encoding: .utf8)
        let expected = try String(contentsOf: file("expected_text_output.txt"), encoding: .utf8)
        let inputs = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        let want = expected.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        let out = try translator(model, spec["greedy"]!).translate(inputs.map { try model.sourceIDs(for: $0) }, options: options)
        for (i, (o, w)) in zip(out, want).enumerated() {
            #expect(model.detokenize(o.best.ids) == w, "\(name) text line \(i + 1)")
        }
    }

    func checkBadInputs(_ model: Seq2SeqModel, options: DecodingOptions) throws {
        let raw = try String(contentsOf: file("bad_inputs.jsonl"), encoding: .utf8)
            .split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        let exp = try Fixtures.jsonLines(file("expected_bad.jsonl"))
        let t = translator(model, spec["greedy"]!)
        for (i, (line, e)) in zip(raw, exp).enumerated() {
            let parsed = Result { try Array(line.utf8).withUnsafeBytes { try Requests.translateSource($0, model: model) } }
            if e["error"]?.bool == true {
                #expect(throws: Seq2SeqError.self, "\(name) bad line \(i + 1) should be refused") { try parsed.get() }
            } else {
                let ids = try parsed.get()
                compare(e, try t.translate([ids], options: options)[0].best, gaps: e["gaps"]?.doubles, margin: nil,
                        at: "\(name) bad_inputs line \(i + 1)")
            }
        }
    }

    /// `seq2seq score` lines with malformed or untokenizable entries: refused one by one, the rest scored.
    func checkBadScore(_ model: Seq2SeqModel) throws {
        let raw = try String(contentsOf: file("bad_score_inputs.jsonl"), encoding: .utf8)
            .split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        let exp = try Fixtures.jsonLines(file("expected_bad_score.jsonl"))
        try #require(raw.count == exp.count)
        for (i, (line, e)) in zip(raw, exp).enumerated() {
            let parsed = Result { try Array(line.utf8).withUnsafeBytes { try Requests.scorePair($0, model: model) } }
            if e["error"]?.bool == true {
                #expect(throws: Seq2SeqError.self, "\(name) bad score line \(i + 1) should be refused") { try parsed.get() }
                continue
            }
            let pair = try parsed.get()
            let got = try Translator(model: model).score(sources: [pair.source], targets: [pair.target])[0]
            let want = e["token_log_probs"]!.doubles!
            try #require(got.tokenLogProbs.count == want.count, "\(name) bad score line \(i + 1)")
            if let worst = maxDifference(got.tokenLogProbs, want) {
                #expect(worst.diff <= Tolerance.logProb, "\(name) bad score line \(i + 1): token \(worst.index + 1) off by \(worst.diff)")
            }
        }
    }

    /// Text lines whose tokens are not all in the vocabulary (a model without unk): those lines are refused,
    /// the others translated and detokenized as expected.
    func checkBadText(_ model: Seq2SeqModel, options: DecodingOptions) throws {
        let text = try String(contentsOf: file("bad_text_inputs.txt"), encoding: .utf8)
        let expected = try String(contentsOf: file("expected_bad_text_output.txt"), encoding: .utf8)
        let inputs = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        let want = expected.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        let errors = Set(spec["bad_text_error_lines"]?.ints ?? [])
        try #require(inputs.count == want.count && !errors.isEmpty)
        let t = translator(model, spec["greedy"]!)
        for (i, (line, w)) in zip(inputs, want).enumerated() {
            if errors.contains(i + 1) {
                #expect(throws: Seq2SeqError.self, "\(name) bad text line \(i + 1) should be refused") {
                    try model.sourceIDs(for: line)
                }
                continue
            }
            let out = try t.translate([model.sourceIDs(for: line)], options: options)
            #expect(model.detokenize(out[0].best.ids) == w, "\(name) bad text line \(i + 1)")
        }
    }

    /// decoding_defaults: the model's beam size and min length, as a front end uses them when the caller
    /// gives none (what the command line does without --beam-size and --min-length).
    func checkDefaults(_ model: Seq2SeqModel) throws {
        let d = spec["defaults"]!
        let defaults = model.config.decodingDefaults
        #expect(defaults.beamSize == d["beam_size"]?.int && (defaults.minLength ?? 0) == d["min_length"]?.int,
                "\(name): config decoding_defaults \(defaults) differ from the case's \(d)")
        let options = DecodingOptions(beamSize: defaults.beamSize ?? 5, maxLength: d["max_length"]?.int,
                                      minLength: defaults.minLength ?? 0, returnAttention: true)
        let src = try sources(model, Fixtures.jsonLines(file("inputs.jsonl")))
        let exp = try Fixtures.jsonLines(file("expected_defaults.jsonl"))
        let out = try translator(model, d).translate(src, options: options)
        try #require(out.count == exp.count)
        for (i, (e, o)) in zip(exp, out).enumerated() {
            compare(e["n_best"]!.array![0], o.best, gaps: nil, margin: e["margin"]?.double,
                    at: "\(name) decoding_defaults line \(i + 1)")
        }
    }

    func checkInvalid() {
        let mentions = spec["stderr_mentions_any"]?.array?.compactMap(\.string) ?? []
        do {
            _ = try Seq2SeqModel(directory: file("model").path)
            Issue.record("\(name): invalid model (\(spec["why"]?.string ?? "?")) was accepted")
        } catch let e as Seq2SeqError {
            let msg = e.description.replacingOccurrences(of: dir.path, with: "").lowercased()
            #expect(mentions.isEmpty || mentions.contains { msg.contains($0.lowercased()) },
                    "\(name): message \"\(e.description)\" mentions none of \(mentions)")
        } catch {
            Issue.record("\(name): unexpected error type \(error)")
        }
    }

    /// Compares one hypothesis. Returns false when a near-tie made the ids differ (accepted; stop comparing).
    @discardableResult
    func compare(_ e: JSONValue, _ o: Hypothesis, gaps: [Double]?, margin: Double?, at place: String) -> Bool {
        let ids = e["ids"]!.ints!
        if o.ids != ids {
            let t = zip(ids, o.ids).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(ids.count, o.ids.count)
            let gap = gaps.flatMap { t < $0.count ? $0[t] : nil } ?? .infinity
            if gap < Tolerance.tieGap || (margin ?? .infinity) < Tolerance.tieGap { return false }
            Issue.record("\(place): ids differ at step \(t + 1): expected \(ids), got \(o.ids)")
            return false
        }
        let lp = e["log_prob"]!.double!
        #expect(abs(o.logProb - lp) <= Tolerance.logProb, "\(place): log_prob \(o.logProb), expected \(lp)")
        if let score = e["score"]?.double {
            #expect(abs(o.score - score) <= Tolerance.logProb, "\(place): score \(o.score), expected \(score)")
        }
        if let eos = e["ended_with_eos"]?.bool { #expect(o.endedWithEOS == eos, "\(place): ended_with_eos") }
        if let rows = e["attention"]?.array {
            guard let got = o.attention else { Issue.record("\(place): no attention returned"); return true }
            #expect(got.count == rows.count, "\(place): \(got.count) attention rows, expected \(rows.count)")
            for (t, (er, gr)) in zip(rows, got).enumerated() {
                let want = er.doubles!
                guard let worst = maxDifference(gr.map(Double.init), want) else {
                    Issue.record("\(place): attention row \(t + 1) has \(gr.count) values, expected \(want.count)")
                    continue
                }
                #expect(worst.diff <= Tolerance.attention, "\(place): attention[\(t + 1)][\(worst.index + 1)] off by \(worst.diff)")
            }
        } else if e["attention"]?.isNull == true {
            #expect(o.attention == nil || o.attention!.allSatisfy(\.isEmpty), "\(place): attention for a model without attention")
        }
        return true
    }
}
