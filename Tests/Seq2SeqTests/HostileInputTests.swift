import Foundation
@testable import Seq2Seq
import Testing

/// Requests, options, weights and paths a hostile or careless user can give: each is a clear error
/// (through the library and the command line), never a crash, a hang or unbounded memory.
@Suite("Hostile input")
struct HostileInputTests {
    static let config = ModelConfig(cell: .gru, sourceVocabSize: 13, targetVocabSize: 11, embeddingSize: 6, hiddenSize: 7,
                                    bridge: .linearTanh, attention: .bahdanau, attentionSize: 5)

    /// A small random model with vocabularies (`s0…s12`, `t0…t10`), written once for the suite.
    static let modelDirectory: String = try! makeRandomModel(config, seed: 77, vocabularies: true)
    static let model: Seq2SeqModel = try! Seq2SeqModel(directory: modelDirectory)

    /// Expects `body` to throw a `Seq2SeqError` whose description contains every one of `words`.
    static func expectError(_ words: [String], sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("no error; expected one mentioning \(words)", sourceLocation: sourceLocation)
        } catch let e as Seq2SeqError {
            for w in words {
                #expect(e.description.contains(w), "\"\(e.description)\" does not mention \"\(w)\"", sourceLocation: sourceLocation)
            }
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    // MARK: Sources and targets

    @Test("An empty source, a negative id and an id past the vocabulary name the sentence and the id")
    func badSources() {
        let t = Translator(model: Self.model)
        Self.expectError(["source 1", "empty"]) { _ = try t.translate([[4], []]) }
        Self.expectError(["source 0", "-1", "source vocabulary"]) { _ = try t.translate([[-1]]) }
        Self.expectError(["source 2", "13", "0..<13"]) { _ = try t.translate([[4], [5], [6, 13]]) }
        Self.expectError(["source 0", "\(Int.min)"]) { _ = try t.translate([[Int.min]]) }
        Self.expectError(["empty"]) { _ = try t.translate("   ") }
        Self.expectError(["source 0", "empty"]) { _ = try t.score(sources: [[]], targets: [[1]]) }
    }

    @Test("A source of 100,000 tokens is refused with the documented limit; one at the limit is decoded")
    func longSource() throws {
        let t = Translator(model: Self.model)
        let limit = DecodingOptions.maxSourceLength
        Self.expectError(["100000", "\(limit)"]) { _ = try t.translate([Array(repeating: 4, count: 100_000)]) }
        Self.expectError(["100000", "\(limit)"]) {
            _ = try t.score(sources: [Array(repeating: 4, count: 100_000)], targets: [[5]])
        }
        let text = String(repeating: "s4 ", count: 100_000)
        Self.expectError(["100000", "\(limit)"]) { _ = try t.translate(text) }
        let line = Array("{\"source\": \"\(text)\"}".utf8)
        Self.expectError(["100000", "\(limit)"]) { _ = try line.withUnsafeBytes { try Requests.translateSource($0, model: Self.model) } }
        let atLimit = try t.translate([Array(repeating: 4, count: limit)], options: DecodingOptions(maxLength: 2))
        #expect(atLimit[0].best.ids.count <= 2)
    }

    @Test("Target ids out of range, too many targets or a count mismatch are refused when scoring")
    func badTargets() throws {
        let t = Translator(model: Self.model)
        Self.expectError(["target 0", "11", "target vocabulary"]) { _ = try t.score(sources: [[4]], targets: [[11]]) }
        Self.expectError(["target 1", "-5"]) { _ = try t.score(sources: [[4], [5]], targets: [[1], [-5]]) }
        Self.expectError(["2 sources", "1 targets"]) { _ = try t.score(sources: [[4], [5]], targets: [[1]]) }
        Self.expectError(["\(DecodingOptions.maxGeneratedLength)"]) {
            _ = try t.score(sources: [[4]], targets: [Array(repeating: 5, count: DecodingOptions.maxGeneratedLength + 1)])
        }
        // An empty target is scored as eos alone.
        let empty = try t.score(sources: [[4]], targets: [[]])
        #expect(empty[0].logProb.isFinite && empty[0].logProb <= 0)
    }

    // MARK: Options

    @Test("Options out of range name the option", arguments: [
        (DecodingOptions(beamSize: 0), "beam size"),
        (DecodingOptions(beamSize: -3), "beam size"),
        (DecodingOptions(beamSize: 12), "exceeds the target vocabulary size 11"),
        (DecodingOptions(beamSize: Int.max), "exceeds the target vocabulary size"),
        (DecodingOptions(beamSize: 3, nBest: 0), "n-best"),
        (DecodingOptions(beamSize: 3, nBest: 4), "n-best"),
        (DecodingOptions(maxLength: 0), "max length"),
        (DecodingOptions(maxLength: -1), "max length"),
        (DecodingOptions(maxLength: DecodingOptions.maxGeneratedLength + 1), "max length"),
        (DecodingOptions(minLength: -1), "min length"),
        (DecodingOptions(lengthPenalty: .nan), "length penalty"),
        (DecodingOptions(lengthPenalty: -.infinity), "length penalty"),
    ])
    func badOptions(_ options: DecodingOptions, _ words: String) {
        Self.expectError(["invalid options", words]) { _ = try Translator(model: Self.model).translate([[4, 5]], options: options) }
    }

    @Test("A beam as wide as the target vocabulary works; a min length above the max length ends at the max length")
    func edgeOptions() throws {
        let t = Translator(model: Self.model)
        let wide = try t.translate([[4, 5, 6]], options: DecodingOptions(beamSize: 11, nBest: 11, maxLength: 4))
        #expect(wide[0].hypotheses.count == 11)
        let long = try t.translate([[4]], options: DecodingOptions(beamSize: 2, maxLength: 3, minLength: 50))
        #expect(long[0].best.ids.count == 3 && !long[0].best.endedWithEOS)
    }

    @Test("Text input without a source vocabulary is refused")
    func noVocabulary() throws {
        let dir = try makeRandomModel(Self.config, seed: 78)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let m = try Seq2SeqModel(directory: dir)
        Self.expectError(["source.vocab"]) { _ = try m.sourceIDs(for: "s1 s2") }
        Self.expectError(["target.vocab"]) { _ = try m.targetIDs(for: "t1") }
        #expect(m.detokenize([4, 5]) == "4 5")
    }

    // MARK: Weights

    /// The model of `modelDirectory` copied, with element `index` of tensor `name` replaced by `value` (F32 files).
    static func copyWithValue(_ value: Float, in name: String, at index: Int) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("seq2seq-nonfinite-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: URL(fileURLWithPath: modelDirectory), to: dir)
        let file = dir.appendingPathComponent("model.safetensors")
        var bytes = try Data(contentsOf: file)
        let n = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<(8 + n))) as! [String: Any]
        let begin = ((header[name] as! [String: Any])["data_offsets"] as! [Int])[0]
        let at = 8 + n + begin + 4 * index
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.replaceSubrange(at..<(at + 4), with: $0) }
        try bytes.write(to: file)
        return dir
    }

    @Test("A NaN or an infinite weight is refused at load, naming the tensor and the index; checkFinite: false loads it",
          arguments: [(Float.nan, "decoder.output.weight", 17), (-Float.infinity, "encoder.rnn.weight_hh_l0", 0),
                      (Float.infinity, "decoder.attention.energy.weight", 4)])
    func nonFiniteWeights(_ value: Float, _ name: String, _ index: Int) throws {
        let dir = try Self.copyWithValue(value, in: name, at: index)
        defer { try? FileManager.default.removeItem(at: dir) }
        Self.expectError(["invalid model", name, "index \(index)", "non-finite"]) { _ = try Seq2SeqModel(directory: dir.path) }
        let unchecked = try Seq2SeqModel(directory: dir.path, checkFinite: false)
        let t = try #require(unchecked.tensor(name))
        #expect(t[flat: index].isNaN == value.isNaN && (value.isNaN || t[flat: index] == value))
        // Decoding such a model is garbage but not a crash.
        _ = try Translator(model: unchecked).translate([[4, 5]], options: DecodingOptions(beamSize: 3, maxLength: 4))
        _ = try Translator(model: unchecked).score(sources: [[4, 5]], targets: [[6, 7]])
    }

    @Test("An F16 infinity is found after conversion (golden case g09 stores F16)")
    func halfInfinity() throws {
        let source = Fixtures.ownDirectory.appendingPathComponent("g09_lstm_bahdanau_zeros_dec3_f16_no_ih_biases/model")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("seq2seq-f16inf-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: source, to: dir)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("model.safetensors")
        var bytes = try Data(contentsOf: file)
        let n = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<(8 + n))) as! [String: Any]
        let (name, entry) = try #require(header.filter {
            guard let e = $0.value as? [String: Any], e["dtype"] as? String == "F16", let shape = e["shape"] as? [Int] else { return false }
            return shape.reduce(1, *) >= 4
        }.min { $0.key < $1.key })
        let begin = ((entry as! [String: Any])["data_offsets"] as! [Int])[0]
        bytes.replaceSubrange((8 + n + begin + 6)..<(8 + n + begin + 8), with: [0x00, 0x7C])  // element 3 = +inf
        try bytes.write(to: file)
        Self.expectError([name, "index 3", "inf"]) { _ = try Seq2SeqModel(directory: dir.path) }
        #expect(try Seq2SeqModel(directory: dir.path, checkFinite: false).tensor(name)?[flat: 3] == .infinity)
    }

    // MARK: Files

    @Test("A FIFO or a character device in place of a model file is refused without blocking")
    func specialFiles() throws {
        let dir = try LoadErrorTests.copyOfValidModel()
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["model.safetensors", "config.json", "target.vocab"] {
            let path = dir.appendingPathComponent(name).path
            let saved = try Data(contentsOf: URL(fileURLWithPath: path))
            try FileManager.default.removeItem(atPath: path)
            #expect(mkfifo(path, 0o644) == 0)
            LoadErrorTests.expectLoadError(dir, [name, "not a regular file"])
            try FileManager.default.removeItem(atPath: path)
            try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: "/dev/zero")
            LoadErrorTests.expectLoadError(dir, [name, "not a regular file"])
            try FileManager.default.removeItem(atPath: path)
            try saved.write(to: URL(fileURLWithPath: path))
        }
        _ = try Seq2SeqModel(directory: dir.path)
    }

    @Test("Vocabularies: CRLF line ends are stripped, and tokens are told apart by their scalars, not by canonical equivalence")
    func vocabularyBytes() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("seq2seq-vocab-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data("<pad>\r\n<s>\r\n \r\n\u{E9}\r\ne\u{301}\nK\n\u{212A}\n".utf8).write(to: url)
        let v = try Vocabulary(contentsOf: url.path)
        #expect(v.tokens == ["<pad>", "<s>", " ", "\u{E9}", "e\u{301}", "K", "\u{212A}"])
        #expect(v.id(of: "<s>") == 1 && v.id(of: " ") == 2)
        #expect(v.id(of: "\u{E9}") == 3 && v.id(of: "e\u{301}") == 4)
        #expect(v.id(of: "K") == 5 && v.id(of: "\u{212A}") == 6)
        #expect(Vocabulary(tokens: ["\u{212B}"]).id(of: "\u{C5}") == nil)
    }

    // MARK: Command line

    static let cliModel = Fixtures.ownDirectory.appendingPathComponent("g08_rnn_bahdanau_copy_bad_inputs/model").path

    @Test("Command line: a 100,000-token line, an empty line and ids out of range are error lines; the good line is answered")
    func cliHostileLines() throws {
        let long = "{\"source_ids\": [" + Array(repeating: "4", count: 100_000).joined(separator: ",") + "]}"
        let input = [long, "{\"source_ids\": [4, 5]}", "{\"source_ids\": []}", "{\"source_ids\": [-1, 4]}",
                     "{\"source_ids\": [4e0, 1e300]}", "{\"source_ids\": [9223372036854775808]}"].joined(separator: "\n")
        let r = try CLITests.run(["translate", "--model", Self.cliModel, "--format", "jsonl", "--beam-size", "2"], stdin: input + "\n")
        #expect(r.status == 1, "stderr: \(r.stderr)")
        let lines = r.lines
        try #require(lines.count == 6, "\(r.stdout)")
        #expect(lines[0].contains("line 1:") && lines[0].contains("100000") && lines[0].contains("\(DecodingOptions.maxSourceLength)"))
        #expect(lines[1].hasPrefix("{\"ids\""))
        #expect(lines[2].contains("line 3:") && lines[2].contains("empty"))
        #expect(lines[3].contains("line 4:") && lines[3].contains("-1"))
        #expect(lines[4].contains("line 5:") && lines[5].contains("line 6:"))
        let text = try CLITests.run(["translate", "--model", Self.cliModel], stdin: String(repeating: "s4 ", count: 100_000) + "\ns4 s5\n")
        #expect(text.status == 1 && text.lines.count == 2 && text.lines[0].isEmpty && !text.lines[1].isEmpty)
        #expect(text.stderr.contains("line 1") && text.stderr.contains("100000"))
    }

    @Test("Command line: hostile options are refused with a message and a usage or error status", arguments: [
        ["--beam-size=-1"], ["--beam-size", "31"], ["--n-best", "0"], ["--max-length=-5"], ["--max-length", "99999999"],
        ["--min-length=-1"], ["--length-penalty", "nan"], ["--length-penalty", "inf"],
    ])
    func cliBadOptions(_ args: [String]) throws {
        let r = try CLITests.run(["translate", "--model", Self.cliModel] + args + ["s4 s5"])
        #expect(r.status != 0 && r.status < 128 && r.stdout.isEmpty && !r.stderr.isEmpty && !r.stderr.contains("Fatal"), "\(args): \(r.status) \(r.stderr)")
    }

    @Test("Command line: an input that is a directory, a model path that is a file or has a file as a directory component")
    func cliBadPaths() throws {
        let dirInput = try CLITests.run(["translate", "--model", Self.cliModel, "--input", NSTemporaryDirectory()])
        #expect(dirInput.status == 2 && dirInput.stderr.contains("directory"), "\(dirInput.stderr)")
        let scoreDirInput = try CLITests.run(["score", "--model", Self.cliModel, "--input", NSTemporaryDirectory()])
        #expect(scoreDirInput.status == 2 && scoreDirInput.stderr.contains("directory"), "\(scoreDirInput.stderr)")
        let fileModel = try CLITests.run(["translate", "--model", Self.cliModel + "/config.json", "x"])
        #expect(fileModel.status == 2 && fileModel.stderr.contains("not a directory"), "\(fileModel.stderr)")
        let throughFile = try CLITests.run(["inspect", "--model", Self.cliModel + "/config.json/model"])
        #expect(throughFile.status == 2 && throughFile.stderr.contains("config.json/model"), "\(throughFile.stderr)")
        let empty = try CLITests.run(["translate", "--model", Self.cliModel, "--input", "/dev/null"])
        #expect(empty.status == 0 && empty.stdout.isEmpty && empty.stderr.isEmpty)
    }

    @Test("Command line: a model directory whose config.json is a directory or a FIFO (refused for root too)")
    func cliBrokenModelFiles() throws {
        let dir = try LoadErrorTests.copyOfValidModel()
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("config.json")
        try FileManager.default.removeItem(at: config)
        try FileManager.default.createDirectory(at: config, withIntermediateDirectories: false)
        let r = try CLITests.run(["translate", "--model", dir.path, "x"])
        #expect(r.status == 2 && r.stderr.contains("config.json") && r.stderr.contains("directory"), "\(r.stderr)")
        try FileManager.default.removeItem(at: config)
        #expect(mkfifo(config.path, 0o644) == 0)
        let fifo = try CLITests.run(["translate", "--model", dir.path, "x"])
        #expect(fifo.status == 2 && fifo.stderr.contains("not a regular file"), "\(fifo.stderr)")
    }

    @Test("Command line: output to a full device is one clear message and status 1")
    func cliFullDevice() throws {
        guard FileManager.default.fileExists(atPath: "/dev/full") else { return }
        let cli = try #require(Fixtures.cliPath)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "'\(cli)' translate --model '\(Self.cliModel)' --beam-size 1 's4 s5' > /dev/full"]
        let err = Pipe()
        p.standardError = err
        try p.run()
        let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 1 && e.contains("cannot write output") && e.split(separator: "\n").count == 1, "\(p.terminationStatus): \(e)")
    }
}

extension HostileInputTests {
    @Test("A safetensors header longer than 100 MB is refused before it is parsed (a sparse file of that size)")
    func hugeHeader() throws {
        let dir = try LoadErrorTests.copyOfValidModel()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("model.safetensors")
        let n = SafeTensorsFile.maxHeaderLength + 1
        try Data((0..<8).map { UInt8((n >> (8 * UInt64($0))) & 0xFF) }).write(to: url)
        let h = try FileHandle(forWritingTo: url)
        try h.truncate(atOffset: 8 + n + 16)
        try h.close()
        LoadErrorTests.expectLoadError(dir, ["header length \(n)", "limit"])
    }
}

extension HostileInputTests {
    @Test("A tensor handed out by a model stays valid after the model is released (converted F16 and mapped F32)")
    func tensorOutlivesModel() throws {
        let f16 = try Seq2SeqModel(directory: Fixtures.ownDirectory.appendingPathComponent("g09_lstm_bahdanau_zeros_dec3_f16_no_ih_biases/model").path)
        let expected = f16.tensors.mapValues(\.scalars)
        let tensors = [try Seq2SeqModel(directory: Fixtures.ownDirectory.appendingPathComponent("g09_lstm_bahdanau_zeros_dec3_f16_no_ih_biases/model").path).tensors,
                       try Seq2SeqModel(directory: Self.modelDirectory).tensors]
        for t in tensors[0].values { #expect(t.scalars == expected[t.name]) }
        #expect(tensors[1].values.allSatisfy { $0.scalars.allSatisfy(\.isFinite) })
    }
}
