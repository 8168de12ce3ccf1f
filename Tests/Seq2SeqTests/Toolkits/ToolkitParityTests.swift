import Foundation
import Seq2Seq
import Seq2SeqConvert
import Seq2SeqText
import Testing

/// Checkpoints trained by the real toolkits (`tools/toolkits/`, committed under `Tests/Fixtures/toolkits`),
/// converted natively and decoded greedily, against what the toolkit's own greedy translate command printed:
/// at least 99.5% of lines identical, and every differing line a near-tie (at the first differing token, the
/// toolkit's token is within `nearTie` of ours in our engine's log-probabilities).
@Suite("Toolkit checkpoints: converted, they translate as their toolkit does")
struct ToolkitParityTests {
    static let directory = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/toolkits")
    /// The largest log-probability gap that counts as a tie between our token and the toolkit's.
    static let nearTie = 1e-4

    /// The committed toolkit models (folders with a meta.json).
    static var models: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.sorted().filter { FileManager.default.fileExists(atPath: directory.appendingPathComponent("\($0)/meta.json").path) }
    }

    @Test("Every required kind of toolkit model is committed")
    func coverage() {
        let required = ["onmt_brnn_lstm_general", "onmt_gru_mlp_bridge", "onmt_lstm_dot_nofeed_shared", "joey_lstm_luong",
                        "joey_gru_bahdanau_nofeed", "fairseq_bilstm_proj", "tutorial_attn", "joey_spm"]
        for name in required { #expect(Self.models.contains(name), "missing toolkit model \(name)") }
    }

    @Test("Greedy output equals the toolkit's, line for line (near-ties excepted)", arguments: models)
    func parity(_ name: String) throws {
        let dir = Self.directory.appendingPathComponent(name)
        let meta = try Fixtures.json(dir.appendingPathComponent("meta.json"))
        let converted = try Converter.convert(try Self.source(dir, meta: meta))
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("toolkit-\(name)-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let model = try converted.write(to: out)
        let maxLength = meta["max_length"]?.int ?? 50
        let minLength = meta["min_length"]?.int
        let sources = try Self.lines(dir.appendingPathComponent("test.src"))
        let expected = try Self.lines(dir.appendingPathComponent("toolkit.out"))
        #expect(sources.count == expected.count, "\(name): \(sources.count) sources, \(expected.count) toolkit lines")
        let text = try ModelText(model: model)  // the toolkit's text rules (subword models included)
        let translator = Translator(model: model)
        let options = DecodingOptions(beamSize: 1, maxLength: maxLength,
                                      minLength: minLength ?? model.config.decodingDefaults.minLength ?? 0)
        let ids = try sources.map { try text.sourceIDs(for: $0) }
        let results = try translator.translate(ids, options: options)
        var differing: [String] = []
        for (i, result) in results.enumerated() {
            let ours = try text.detokenize(result.best.ids)
            guard ours != expected[i] else { continue }
            let gap = try Self.gapAtFirstDifference(model, translator, source: ids[i], ours: result.best.ids,
                                                     theirs: (try? text.targetIDs(for: expected[i])) ?? [], options: options)
            differing.append("line \(i + 1): ours \"\(ours)\", toolkit \"\(expected[i])\", gap \(gap.map { String($0) } ?? "n/a")")
            #expect(gap.map { $0 <= Self.nearTie } ?? false,
                    "\(name) line \(i + 1) differs and is not a near-tie: ours \"\(ours)\", toolkit \"\(expected[i])\", log-prob gap \(gap.map { String($0) } ?? "unknown")")
        }
        let identical = Double(sources.count - differing.count) / Double(max(sources.count, 1))
        #expect(identical >= 0.995, "\(name): \(differing.count) of \(sources.count) lines differ:\n\(differing.joined(separator: "\n"))")
        #expect(sources.count >= 200, "\(name): too few test lines (\(sources.count)) to measure 99.5%")
    }

    /// The converter's source for a fixture folder, by its name's prefix (`onmt_`, `joey_`, `fairseq_`, `tutorial_`).
    static func source(_ dir: URL, meta: JSONValue) throws -> Converter.Source {
        let toolkit = dir.lastPathComponent.split(separator: "_").first.map(String.init) ?? ""
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        func first(_ suffix: String) throws -> String {
            guard let f = files.first(where: { $0.hasSuffix(suffix) }) else {
                throw Seq2SeqError.invalidModel("\(dir.path) holds no *\(suffix)")
            }
            return dir.appendingPathComponent(f).path
        }
        switch toolkit {
        case "onmt": return .openNMT(checkpoint: try first(".pt"))
        case "joey": return .joeyNMT(modelDirectory: dir.path)
        case "fairseq": return .fairseq(checkpoint: dir.appendingPathComponent("checkpoint_best.pt").path,
                                        dataDirectory: dir.appendingPathComponent("data").path)
        case "tutorial": return .pytorchTutorial(checkpoint: try first(".pt"))
        default: throw Seq2SeqError.invalidModel("\(dir.path): unknown toolkit prefix \"\(toolkit)\"")
        }
    }

    /// Lines of a text file without their line ends (a final newline does not make an extra line).
    static func lines(_ url: URL) throws -> [String] {
        var lines = try String(contentsOf: url, encoding: .utf8).components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    /// At the first position where the toolkit's tokens (`theirs`, its output text tokenized by the model's target
    /// rules) differ from ours, our engine's log-probability of our token minus that of the toolkit's (both after
    /// the common prefix). Nil when there is no such position.
    static func gapAtFirstDifference(_ model: Seq2SeqModel, _ translator: Translator, source: [Int], ours: [Int],
                                     theirs: [Int], options: DecodingOptions) throws -> Double? {
        let eos = model.config.specialTokens.eos
        let a = ours + [eos], b = theirs + [eos]
        var t = 0
        while t < min(a.count, b.count) && a[t] == b[t] { t += 1 }
        guard t < a.count && t < b.count else { return nil }
        let prefix = Array(a[..<t])
        let scores = try translator.score(sources: [source, source], targets: [prefix + [a[t]], prefix + [b[t]]])
        return scores[0].tokenLogProbs[t] - scores[1].tokenLogProbs[t]
    }
}
