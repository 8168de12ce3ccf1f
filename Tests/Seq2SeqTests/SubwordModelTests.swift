import Foundation
import Seq2Seq
import Seq2SeqText
import Testing

/// A model directory with SentencePiece on both sides (random weights): config keys, loading, hostile
/// subword files, raw text in and raw text out through the library and the command line.
@Suite("Subword models")
struct SubwordModelTests {
    static let fixtures = SubwordGoldenTests.directory

    /// A random-weight model whose source side is the golden unigram SentencePiece model (`source.spm`) and
    /// whose target side is the golden BPE-type one (`target.spm`), each with its golden vocabulary.
    static func spmModel(source: ModelConfig.TokenizerConfig = .openNMTSentencePiece(model: "source.spm"),
                         target: ModelConfig.TokenizerConfig = .openNMTSentencePiece(model: "target.spm"),
                         seed: UInt64 = 7) throws -> URL {
        let sourceVocab = try String(contentsOf: fixtures.appendingPathComponent("spm_unigram.vocab.txt"), encoding: .utf8)
        let targetVocab = try String(contentsOf: fixtures.appendingPathComponent("spm_bpe.vocab.txt"), encoding: .utf8)
        var config = ModelConfig(cell: .gru, sourceVocabSize: sourceVocab.split(separator: "\n").count,
                                 targetVocabSize: targetVocab.split(separator: "\n").count, embeddingSize: 8,
                                 hiddenSize: 8, attention: .luongGeneral,
                                 specialTokens: .init(pad: 1, bos: 2, eos: 3, unk: 0),
                                 sourceTokenizer: source, targetTokenizer: target)
        config.detokenizeSkipIDs = [1, 2]
        config.formatVersion = 2
        let dir = URL(fileURLWithPath: try makeRandomModel(config, seed: seed))
        try sourceVocab.write(to: dir.appendingPathComponent("source.vocab"), atomically: true, encoding: .utf8)
        try targetVocab.write(to: dir.appendingPathComponent("target.vocab"), atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(at: fixtures.appendingPathComponent("spm_unigram.model"),
                                         to: dir.appendingPathComponent("source.spm"))
        try FileManager.default.copyItem(at: fixtures.appendingPathComponent("spm_bpe.model"),
                                         to: dir.appendingPathComponent("target.spm"))
        return dir
    }

    static let sentences = [
        "the cat sat on the mat.", "Le garçon était déjà à l'hôtel…", "日本語の天気は今日 晴れ。",
        "emoji 👍🏽 and 2026!", "  double  spaces\tand tabs  ",
    ]

    // MARK: Config keys

    @Test("source_tokenizer and target_tokenizer survive jsonText and parse; tokenizer may be left out only when both are given")
    func configRoundTrip() throws {
        var c = ModelConfig(cell: .lstm, sourceVocabSize: 10, targetVocabSize: 12, embeddingSize: 4, hiddenSize: 4,
                            attention: .luongDot, sourceTokenizer: .joeyNMTBPE(codes: "source.bpe", separator: "##"),
                            targetTokenizer: .fairseqSentencePiece(model: "target.spm"))
        c.sourceTokenizer!.glossaries = ["USA"]
        c.sourceTokenizer!.merges = 100
        #expect(c.formatVersion == 2)
        let text = c.jsonText
        #expect(!text.contains("\"tokenizer\""))
        #expect(try ModelConfig.parse(json: text) == c)
        let one = ModelConfig(cell: .gru, sourceVocabSize: 10, targetVocabSize: 12, embeddingSize: 4, hiddenSize: 4,
                              attention: .luongDot, tokenizer: .characters,
                              targetTokenizer: .openNMTSentencePiece(model: "t.model"))
        #expect(one.jsonText.contains("\"tokenizer\": \"characters\""))
        let parsed = try ModelConfig.parse(json: one.jsonText)
        #expect(parsed == one)
        #expect(parsed.tokenizer(for: .source) == ModelConfig.TokenizerConfig(kind: .characters))
        #expect(parsed.tokenizer(for: .target).kind == .sentencepiece)
        let missing = one.jsonText.replacingOccurrences(of: "  \"tokenizer\": \"characters\",\n", with: "")
        #expect(throws: Seq2SeqError.self) { try ModelConfig.parse(json: missing) }
    }

    @Test("Tokenizer keys are parsed strictly; each error names the key", arguments: [
        (#""source_tokenizer": {"kind": "sentencepiece"}"#, "source_tokenizer.model is required"),
        (#""source_tokenizer": {"kind": "sentencepiece", "model": "../x.spm"}"#, "source_tokenizer.model must name a file inside"),
        (#""source_tokenizer": {"kind": "sentencepiece", "model": "s.spm", "separator": "@@"}"#, "source_tokenizer.separator does not apply to kind sentencepiece"),
        (#""target_tokenizer": {"kind": "bpe", "codes": "t.bpe", "piece_join": "decode"}"#, "target_tokenizer.piece_join does not apply to kind bpe"),
        (#""target_tokenizer": {"kind": "bpe", "codes": "t.bpe", "spice": 1}"#, "target_tokenizer.spice is not a tokenizer option"),
        (#""target_tokenizer": {"kind": "bpe", "codes": "t.bpe", "glossaries": ["U.S."]}"#, "target_tokenizer.glossaries[0] holds \".\""),
        (#""target_tokenizer": {"kind": "bpe", "codes": "t.bpe", "separator": ""}"#, "target_tokenizer.separator must be"),
        (#""target_tokenizer": {"kind": "wordpiece"}"#, "target_tokenizer.kind has unknown value \"wordpiece\""),
        (#""target_tokenizer": {"kind": "whitespace", "strip_input": "both"}"#, "target_tokenizer.strip_input does not apply to kind whitespace"),
        (#""target_tokenizer": {"kind": "sentencepiece", "model": "t.spm", "strip_input": "left"}"#, "target_tokenizer.strip_input has unknown value"),
        (#""target_tokenizer": "sentencepiece""#, "target_tokenizer must be an object"),
    ])
    func strictKeys(_ entry: String, _ message: String) throws {
        let base = ModelConfig(cell: .gru, sourceVocabSize: 10, targetVocabSize: 12, embeddingSize: 4, hiddenSize: 4,
                               attention: .luongDot, specialTokens: .init(pad: nil, bos: 1, eos: 2, unk: 3))
        let text = base.jsonText.replacingOccurrences(of: "\"tokenizer\": \"whitespace\"", with: "\"tokenizer\": \"whitespace\", " + entry)
        do {
            _ = try ModelConfig.parse(json: text)
            Issue.record("accepted: \(entry)")
        } catch let e as Seq2SeqError {
            #expect(e.message.contains(message), "\(e.message)")
        }
    }

    @Test("A format-1 file with a tokenizer key is told that the key belongs to format 2")
    func format1() throws {
        let base = ModelConfig(cell: .gru, sourceVocabSize: 10, targetVocabSize: 12, embeddingSize: 4, hiddenSize: 4, attention: .luongDot)
        #expect(base.formatVersion == 1)
        let text = base.jsonText.replacingOccurrences(of: "\"tokenizer\": \"whitespace\"",
                                                      with: "\"tokenizer\": \"whitespace\", \"source_tokenizer\": {\"kind\": \"characters\"}")
        #expect(throws: Seq2SeqError.invalidModel("config.json: key source_tokenizer belongs to format 2; set \"format_version\": 2 to use it")) {
            try ModelConfig.parse(json: text)
        }
    }

    // MARK: Loading and the core library

    @Test("The core library loads a subword model and points text at Seq2SeqText; ids still work")
    func coreLibrary() throws {
        let dir = try Self.spmModel()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try Seq2SeqModel(directory: dir.path)
        do {
            _ = try model.sourceIDs(for: "the cat")
            Issue.record("the core tokenized SentencePiece text")
        } catch let e as Seq2SeqError {
            #expect(e.message.contains("Seq2SeqText") && e.message.contains("source_tokenizer"), "\(e.message)")
        }
        #expect(try Translator(model: model).translate([[5, 6, 7]], options: .greedy).count == 1)
    }

    @Test("Raw text in, raw text out: ModelText's ids and text equal SentencePiece applied by hand")
    func libraryRoundTrip() throws {
        let dir = try Self.spmModel()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try Seq2SeqModel(directory: dir.path)
        let text = try ModelText(model: model)
        let sp = try SentencePieceTokenizer(contentsOf: dir.appendingPathComponent("source.spm").path)
        let tp = try SentencePieceTokenizer(contentsOf: dir.appendingPathComponent("target.spm").path)
        let translator = Translator(model: model)
        for s in Self.sentences {
            let pieces = try sp.pieces(PythonStrip.both(s))
            let ids = try text.sourceIDs(for: s)
            #expect(ids == pieces.map { model.sourceVocabulary!.id(of: $0) ?? 0 }, "\(s)")
            let out = try translator.translate([ids], options: DecodingOptions(beamSize: 2, maxLength: 12))[0].best.ids
            let kept = out.filter { $0 != 1 && $0 != 2 }
            let expected = try tp.decode(pieces: kept.map { model.targetVocabulary!.token(for: $0)! })
            #expect(try text.detokenize(out) == expected)
        }
        #expect(try text.translate(Self.sentences, with: translator).count == Self.sentences.count)
    }

    @Test("Eight threads share one ModelText and get the same ids and text as one thread")
    func threads() async throws {
        let dir = try Self.spmModel(source: .joeyNMTSentencePiece(model: "source.spm"), target: .fairseqSentencePiece(model: "target.spm"))
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = try ModelText(model: Seq2SeqModel(directory: dir.path))
        let lines = try SubwordGoldenTests.cases("spm_unigram.jsonl").map(\.text)
        let expected = try lines.map { try text.sourceIDs(for: $0) }
        let outputs = try lines.map { try text.detokenize(text.targetIDs(for: $0)) }
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var ok = true
                    for _ in 0..<20 {
                        for (i, l) in lines.enumerated() {
                            ok = try ok && text.sourceIDs(for: l) == expected[i]
                            ok = try ok && text.detokenize(text.targetIDs(for: l)) == outputs[i]
                        }
                    }
                    return ok
                }
            }
            for try await ok in group { #expect(ok) }
        }
    }

    // MARK: Hostile subword files

    static func expectTokenizerLoadError(_ dir: URL, _ words: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let model = try Seq2SeqModel(directory: dir.path)
            _ = try ModelText(model: model)
            Issue.record("loaded", sourceLocation: sourceLocation)
        } catch let e as Seq2SeqError {
            guard case .invalidModel = e else { Issue.record("not a load error: \(e)", sourceLocation: sourceLocation); return }
            for w in words { #expect(e.message.contains(w), "\(e.message) lacks \(w)", sourceLocation: sourceLocation) }
        } catch {
            Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test("A truncated, garbage, empty or missing .spm is a load error naming the file")
    func brokenSentencePiece() throws {
        let dir = try Self.spmModel()
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = dir.appendingPathComponent("target.spm")
        let good = try Data(contentsOf: target)
        for cut in [good.count / 2, good.count - 3, 7, 1] {
            try good.prefix(cut).write(to: target)
            Self.expectTokenizerLoadError(dir, ["target.spm"])
        }
        var rng = SeededRandom(seed: 11)
        try Data((0..<4096).map { _ in UInt8.random(in: 0...255, using: &rng) }).write(to: target)
        Self.expectTokenizerLoadError(dir, ["target.spm", "not a SentencePiece model"])
        try Data().write(to: target)
        Self.expectTokenizerLoadError(dir, ["target.spm"])
        try FileManager.default.removeItem(at: target)
        Self.expectTokenizerLoadError(dir, ["target.spm"])
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: false)
        Self.expectTokenizerLoadError(dir, ["target.spm", "directory"])
    }

    @Test("A broken BPE codes file is a load error naming the file (and the line)")
    func brokenCodes() throws {
        let dir = try Self.spmModel(source: .openNMTBPE(codes: "source.bpe"))
        defer { try? FileManager.default.removeItem(at: dir) }
        let codes = dir.appendingPathComponent("source.bpe")
        let good = try String(contentsOf: Self.fixtures.appendingPathComponent("bpe_v02.codes"), encoding: .utf8)
        try good.write(to: codes, atomically: true, encoding: .utf8)
        _ = try ModelText(model: Seq2SeqModel(directory: dir.path))
        let cases: [(Data, [String])] = [
            (Data((good + "a b c\n").utf8), ["source.bpe", "invalid line 122"]),
            (Data("#version: 0.2\nt h\nth\n".utf8), ["source.bpe", "invalid line 3"]),
            (Data("#version: 0.3\nt h\n".utf8), ["source.bpe", "version 0.3"]),
            (Data("#version: x\nt h\n".utf8), ["source.bpe", "version"]),
            (Data("#version: 0.2\n".utf8), ["source.bpe", "invalid line 2"]),
            (Data(), ["source.bpe", "invalid line 1"]),
            (Data([0x23, 0x76, 0xFF, 0xFE, 0x0A]), ["source.bpe", "UTF-8"]),
        ]
        for (bytes, words) in cases {
            try bytes.write(to: codes)
            Self.expectTokenizerLoadError(dir, words)
        }
        try FileManager.default.removeItem(at: codes)
        Self.expectTokenizerLoadError(dir, ["source.bpe"])
    }

    @Test("A subword side without its vocabulary file is a load error")
    func missingVocabulary() throws {
        let dir = try Self.spmModel()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.removeItem(at: dir.appendingPathComponent("source.vocab"))
        Self.expectTokenizerLoadError(dir, ["source.vocab"])
    }

    @Test("Text that is not valid UTF-8 is an error naming the offset")
    func invalidUTF8() throws {
        let dir = try Self.spmModel()
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = try ModelText(model: Seq2SeqModel(directory: dir.path))
        #expect(throws: Seq2SeqError.invalidInput("the text is not valid UTF-8 (bad byte at offset 3)")) {
            try text.sourceIDs(forUTF8: [0x61, 0x62, 0x20, 0xC3, 0x28])
        }
        #expect(try text.sourceIDs(forUTF8: Array("ab é".utf8)) == text.sourceIDs(for: "ab é"))
    }

    // MARK: For converters

    @Test("installSubwordFile checks the file, copies it under the conventional name and returns the side's config")
    func install() throws {
        let dir = try Self.spmModel()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.removeItem(at: dir.appendingPathComponent("source.spm"))
        let t = try ModelText.installSubwordFile(from: Self.fixtures.appendingPathComponent("spm_unigram.model").path, side: .source,
                                                 tokenizer: .openNMTSentencePiece(model: ""), into: dir.path)
        #expect(t == .openNMTSentencePiece(model: "source.spm"))
        #expect(FileManager.default.contentsEqual(atPath: dir.appendingPathComponent("source.spm").path,
                                                  andPath: Self.fixtures.appendingPathComponent("spm_unigram.model").path))
        let bpe = try ModelText.installSubwordFile(from: Self.fixtures.appendingPathComponent("bpe_v01.codes").path, side: .target,
                                                   tokenizer: .joeyNMTBPE(codes: ""), into: dir.path)
        #expect(bpe.codes == "target.bpe")
        #expect(throws: Seq2SeqError.self) {
            try ModelText.installSubwordFile(from: Self.fixtures.appendingPathComponent("bpe_v01.codes").path, side: .target,
                                             tokenizer: .openNMTSentencePiece(model: "bad.spm"), into: dir.path)
        }
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("bad.spm").path))
    }

    @Test("locateSubwordFile: the override, else the recorded path, else the same name in the search directories")
    func locate() throws {
        let model = Self.fixtures.appendingPathComponent("spm_unigram.model").path
        #expect(try ModelText.locateSubwordFile(recorded: model, searchDirectories: []) == model)
        #expect(try ModelText.locateSubwordFile(recorded: "/gone/training/spm_unigram.model",
                                                searchDirectories: ["/nonexistent", Self.fixtures.path]) == model)
        #expect(try ModelText.locateSubwordFile(recorded: "/gone/x.model", override: model, searchDirectories: []) == model)
        do {
            _ = try ModelText.locateSubwordFile(recorded: "/gone/x.model", searchDirectories: [Self.fixtures.path])
            Issue.record("found a missing file")
        } catch let e as Seq2SeqError {
            #expect(e.message.contains("/gone/x.model") && e.message.contains("--src-subword-model"))
        }
    }

    // MARK: The command line

    static func run(_ arguments: [String], stdin: Data) throws -> CLITests.Run {
        let cli = try #require(Fixtures.cliPath, "the seq2seq executable was not found beside the test bundle")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: cli)
        p.arguments = arguments
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = inp
        try p.run()
        inp.fileHandleForWriting.write(stdin)
        try inp.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return CLITests.Run(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                            stderr: String(decoding: e, as: UTF8.self))
    }

    @Test("seq2seq translate takes raw text and gives raw text, as the library does; a line that is not UTF-8 fails alone")
    func commandLine() throws {
        let dir = try Self.spmModel()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try Seq2SeqModel(directory: dir.path)
        let text = try ModelText(model: model)
        let translator = Translator(model: model)
        let options = DecodingOptions(beamSize: 3, maxLength: 15)
        let expected = try Self.sentences.map { s in
            try text.detokenize(translator.translate([text.sourceIDs(for: s)], options: options)[0].best.ids)
        }
        let args = ["translate", "--model", dir.path, "--beam-size", "3", "--max-length", "15"]
        let r = try CLITests.run(args + Self.sentences)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.lines == expected)
        // Standard input with a line that is not valid UTF-8 in the middle.
        var input = Data(Self.sentences[0].utf8 + [0x0A])
        input.append(contentsOf: [0x61, 0xFF, 0x62, 0x0A])
        input.append(contentsOf: Array(Self.sentences[1].utf8) + [0x0A])
        let bad = try Self.run(args, stdin: input)
        #expect(bad.status == 1)
        #expect(bad.lines == [expected[0], "", expected[1]])
        #expect(bad.stderr.contains("line 2") && bad.stderr.contains("UTF-8"), "\(bad.stderr)")
        // JSONL with text sources, and scoring target text.
        let j = try CLITests.run(["translate", "--model", dir.path, "--format", "jsonl", "--beam-size", "3", "--max-length", "15"],
                                 stdin: "{\"source\": \"\(Self.sentences[0])\"}\n")
        #expect(j.status == 0 && j.stdout.hasPrefix("{\"ids\""), "\(j.stdout) \(j.stderr)")
        let s = try CLITests.run(["score", "--model", dir.path], stdin: "{\"source\": \"the cat\", \"target\": \"the mat\"}\n")
        #expect(s.status == 0 && s.stdout.hasPrefix("{\"token_log_probs\""), "\(s.stdout) \(s.stderr)")
    }

    @Test("seq2seq tokenize and detokenize show pieces and ids, both sides")
    func tokenizeCommands() throws {
        let dir = try Self.spmModel()
        defer { try? FileManager.default.removeItem(at: dir) }
        let golden = try SubwordGoldenTests.cases("spm_unigram.jsonl").filter { !$0.text.contains("\r") && !$0.text.isEmpty }
        let input = golden.map(\.text).joined(separator: "\n") + "\n"
        let pieces = try CLITests.run(["tokenize", "--model", dir.path], stdin: input)
        #expect(pieces.status == 0, "\(pieces.stderr)")
        #expect(pieces.lines == (try golden.map { try $0.strings("onmt_pieces").joined(separator: " ") }))
        let ids = try CLITests.run(["tokenize", "--model", dir.path, "--ids"], stdin: input)
        let vocab = try SubwordGoldenTests.vocabulary("spm_unigram.vocab.txt")
        #expect(ids.lines == (try golden.map { try $0.strings("onmt_pieces").map { String(vocab.id(of: $0) ?? 0) }.joined(separator: " ") }))
        let back = try CLITests.run(["detokenize", "--model", dir.path, "--side", "source"], stdin: pieces.stdout)
        #expect(back.lines == (try golden.map { try $0.string("onmt_text") }))
        let target = try CLITests.run(["tokenize", "--model", dir.path, "--side", "target", "--ids", "the cat"])
        let text = try CLITests.run(["detokenize", "--model", dir.path, "--ids", target.lines[0]])
        #expect(text.status == 0 && text.lines == ["the cat"], "\(text.stdout) \(text.stderr)")
        let badID = try CLITests.run(["detokenize", "--model", dir.path, "--ids", "5 99999", "5"])
        #expect(badID.status == 1 && badID.lines.count == 2 && badID.lines[0].isEmpty && badID.stderr.contains("line 1"))
    }

    @Test("A broken .spm stops the command line with one message naming the file and exit status 2")
    func commandLineLoadError() throws {
        let dir = try Self.spmModel()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("not a model".utf8).write(to: dir.appendingPathComponent("source.spm"))
        for command in [["translate", "x"], ["tokenize", "x"], ["detokenize", "x"], ["score"]] {
            let r = try CLITests.run([command[0], "--model", dir.path] + command.dropFirst(), stdin: "")
            #expect(r.status == 2 && r.stderr.contains("source.spm") && r.stderr.split(separator: "\n").count == 1, "\(command): \(r.stderr)")
        }
    }
}

/// Python's `str.strip()` for the tests' by-hand pipelines.
enum PythonStrip {
    static func both(_ s: String) -> String {
        let space: (Unicode.Scalar) -> Bool = { u in
            switch u.value {
            case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: return true
            default: return false
            }
        }
        let scalars = Array(s.unicodeScalars)
        guard let first = scalars.firstIndex(where: { !space($0) }), let last = scalars.lastIndex(where: { !space($0) }) else { return "" }
        var v = String.UnicodeScalarView()
        v.append(contentsOf: scalars[first...last])
        return String(v)
    }
}
