import Foundation
@testable import Seq2Seq
@testable import Seq2SeqConvert
import Testing

/// Every input the fuzzers found or were seeded with goes through the same entry points as the fuzz targets
/// (`Fuzz/*Fuzzer.swift`): each is accepted or refused with a `Seq2SeqError`, never a crash.
///
/// Reproducers of fixed bugs are in `Tests/Fixtures/fuzz/<target>/`, the seed corpora in `Fuzz/corpus/<target>/`.
/// Replay one file in the fuzzer itself with `scripts/fuzz.sh <target> 0 FILE`.
@Suite("Fuzz regressions")
struct FuzzRegressionTests {
    static let targets = ["safetensors", "config", "vocabulary", "requests", "pickle", "converter"]
    static let reproducers = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/fuzz")
    static let corpus = Fixtures.repositoryRoot.appendingPathComponent("Fuzz/corpus")

    static func files(_ dir: URL) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { dir.appendingPathComponent($0) }
    }

    static func golden(_ name: String) -> URL { Fixtures.ownDirectory.appendingPathComponent("\(name)/model") }

    /// Runs `body`, recording an issue when it throws anything but a `Seq2SeqError`.
    static func acceptOrRefuse<T>(_ file: URL, _ body: () throws -> T) -> T? {
        do { return try body() } catch is Seq2SeqError { return nil } catch {
            Issue.record("\(file.lastPathComponent): unexpected error type \(type(of: error)): \(error)")
            return nil
        }
    }

    @Test("The reproducers and the seed corpora are present")
    func present() {
        #expect(!Self.files(Self.reproducers.appendingPathComponent("vocabulary")).isEmpty)
        for t in Self.targets { #expect(!Self.files(Self.corpus.appendingPathComponent(t)).isEmpty, "no seeds for \(t)") }
    }

    @Test("Safetensors files load or are refused (golden g08's config and vocabularies)")
    func safetensors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("seq2seq-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(at: dir) }
        let golden = Self.golden("g08_rnn_bahdanau_copy_bad_inputs")
        for name in ["config.json", "source.vocab", "target.vocab"] {
            try FileManager.default.copyItem(at: golden.appendingPathComponent(name), to: dir.appendingPathComponent(name))
        }
        let path = dir.appendingPathComponent("model.safetensors")
        for file in Self.files(Self.reproducers.appendingPathComponent("safetensors")) + Self.files(Self.corpus.appendingPathComponent("safetensors")) {
            try? FileManager.default.removeItem(at: path)
            try FileManager.default.copyItem(at: file, to: path)
            if let st = Self.acceptOrRefuse(file, { try SafeTensorsFile(path: path.path) }) {
                let store = TensorStore(file: st)
                for t in store.tensors.values { _ = t.scalars }
            }
            var kept: [Tensor] = []  // read after their model is gone
            for checkFinite in [true, false] {
                guard let model = Self.acceptOrRefuse(file, { try Seq2SeqModel(directory: dir.path, checkFinite: checkFinite) }) else { continue }
                kept += model.tensors.values
                let translator = Translator(model: model)
                _ = Self.acceptOrRefuse(file) {
                    try translator.translate([[4, 5, 6], [7]], options: DecodingOptions(beamSize: 2, maxLength: 4, returnAttention: true))
                }
                _ = Self.acceptOrRefuse(file) { try translator.score(sources: [[4, 5]], targets: [[6, 7]]) }
            }
            for t in kept { _ = t.scalars }
        }
    }

    @Test("config.json texts parse or are refused")
    func config() {
        for file in Self.files(Self.reproducers.appendingPathComponent("config")) + Self.files(Self.corpus.appendingPathComponent("config")) {
            let text = String(decoding: (try? readFile(file.path)) ?? [], as: UTF8.self)
            if let c = Self.acceptOrRefuse(file, { try ModelConfig.parse(json: text) }) {
                #expect(c.parameterCount > 0)
            }
        }
    }

    @Test("Vocabulary files read or are refused; every token maps back to the first line with its exact bytes")
    func vocabulary() throws {
        for file in Self.files(Self.reproducers.appendingPathComponent("vocabulary")) + Self.files(Self.corpus.appendingPathComponent("vocabulary")) {
            if let v = Self.acceptOrRefuse(file, { try Vocabulary(contentsOf: file.path) }) {
                for (i, t) in v.tokens.enumerated() {
                    let first = v.tokens.firstIndex { Array($0.utf8) == Array(t.utf8) }
                    #expect(v.id(of: t) == first && first! <= i, "\(file.lastPathComponent): token \(i)")
                    #expect(!t.utf8.contains(0x0A))
                }
            }
            let text = String(decoding: try readFile(file.path), as: UTF8.self)
            for tokenizer in ModelConfig.Tokenizer.allCases {
                let tokens = Tokenization.split(text, with: tokenizer)
                let v = Vocabulary(tokens: tokens)
                #expect(tokens.allSatisfy { v.id(of: $0) != nil })
                _ = Tokenization.join(tokens, with: tokenizer)
            }
        }
    }

    @Test("Request lines parse or are refused, and accepted ones translate and score")
    func requests() throws {
        let models = try ["g08_rnn_bahdanau_copy_bad_inputs", "g07_gru_bahdanau_linear_bi_characters"]
            .map { try Seq2SeqModel(directory: Self.golden($0).path) }
        for file in Self.files(Self.reproducers.appendingPathComponent("requests")) + Self.files(Self.corpus.appendingPathComponent("requests")) {
            let line = try readFile(file.path)
            for model in models {
                let translator = Translator(model: model)
                if let ids = Self.acceptOrRefuse(file, { try line.withUnsafeBytes { try Requests.translateSource($0, model: model) } }) {
                    _ = Self.acceptOrRefuse(file) { try translator.translate([ids], options: DecodingOptions(maxLength: 3)) }
                    _ = Self.acceptOrRefuse(file) {
                        try translator.translate([ids, [4]], options: DecodingOptions(beamSize: 2, maxLength: 3, returnAttention: true))
                    }
                }
                if let (s, t) = Self.acceptOrRefuse(file, { try line.withUnsafeBytes { try Requests.scorePair($0, model: model) } }) {
                    _ = Self.acceptOrRefuse(file) { try translator.score(sources: [s], targets: [t]) }
                }
            }
        }
    }

    @Test("Pickle streams and checkpoint files are read or refused; what is read walks (every tensor read)")
    func pickle() throws {
        let fixture = try ZipArchive(file: MappedFile(path: PickleTests.fixtures.appendingPathComponent("state_dict.pt").path))
        for file in Self.files(Self.reproducers.appendingPathComponent("pickle")) + Self.files(Self.corpus.appendingPathComponent("pickle")) {
            let bytes = try readFile(file.path)
            Self.acceptOrRefuse(file) { try PickleTests.unpickle(bytes) }?.walk()
            Self.acceptOrRefuse(file) {  // as the fuzzer does: storages from the state_dict fixture's records
                try bytes.withUnsafeBytes { try Unpickler.load($0, context: "fuzz.pkl", resolve: TorchCheckpoint.storages(in: fixture, prefix: "state_dict")) }
            }?.walk()
            for verify in [true, false] {
                guard let c = Self.acceptOrRefuse(file, { try TorchCheckpoint(path: file.path, verifyChecksums: verify) }) else { continue }
                c.root.walk()
                _ = Self.acceptOrRefuse(file) { try c.stateDict() }
            }
        }
    }

    @Test("data.pkl streams in the toolkit fixtures' checkpoints convert or are refused; what converts writes and loads")
    func converter() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("seq2seq-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(at: dir) }
        let bases = try ConverterReplay.bases(scratch: dir)
        for file in Self.files(Self.reproducers.appendingPathComponent("converter")) + Self.files(Self.corpus.appendingPathComponent("converter")) {
            let bytes = try readFile(file.path)
            var converted: [String] = []
            for base in bases {
                // As the fuzzer does: only a stream whose storages resolve against the fixture's records goes on.
                guard (try? bytes.withUnsafeBytes({ try Unpickler.load($0, context: "fuzz.pkl", resolve: TorchCheckpoint.storages(in: base.archive, prefix: base.prefix)) })) != nil else { continue }
                try base.rewrite(with: bytes)
                guard let model = Self.acceptOrRefuse(file, { try Converter.convert(base.source) }) else { continue }
                _ = model.summary
                if Self.acceptOrRefuse(file, { try model.write(to: dir.appendingPathComponent("model").path) }) != nil {
                    converted.append(base.fixture)
                }
            }
            // A seed is its fixture's own data.pkl: it must still convert through the rewritten checkpoint.
            if file.path.hasPrefix(Self.corpus.path) {
                let fixture = file.deletingPathExtension().lastPathComponent
                #expect(converted.contains(fixture), "seed \(fixture) did not convert against its own fixture")
            }
        }
    }
}

extension FuzzRegressionTests {
    /// Each converter reproducer, in the fixture it was made from, and what the refusal must name.
    static let converterRefusals: [(file: String, fixture: String, message: String)] = [
        // weight_hh_l0 (an LSTM's) viewed as (0, 2⁶²): He = 2⁶², and 4·He overflowed before any tensor was read.
        ("onmt-empty-view-huge-dimension.pkl", "onmt_lstm_dot_nofeed_shared",
         "tensor encoder.rnn.weight_hh_l0 has shape [0, 4611686018427387904], which holds no elements"),
        // embedding.weight viewed as (42, 2³⁰) with strides (0, 0): reading it asked for 168 GiB.
        ("tutorial-broadcast-embedding.pkl", "tutorial_attn",
         "tensor embedding.weight of shape [42, 1073741824] (strides [0, 0]) has 45097156608 elements but its storage \"0\" holds 2688"),
        // Encoder narrowed to 16 per direction (D = 32) under a decoder of H = 64: the bridge's row slice ran past its end.
        ("onmt-bridge-encoder-narrower-than-decoder.pkl", "onmt_gru_mlp_bridge",
         "-bridge: the encoder's final states have size 32 (16 per direction) but the decoder's hidden size is 64"),
    ]

    @Test("Converter reproducers are refused with a message naming the tensor or option and its sizes")
    func converterRefusals() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("seq2seq-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(at: dir) }
        let bases = try ConverterReplay.bases(scratch: dir)
        #expect(Set(Self.converterRefusals.map(\.file)) == Set(Self.files(Self.reproducers.appendingPathComponent("converter")).map(\.lastPathComponent)))
        for (file, fixture, message) in Self.converterRefusals {
            let base = try #require(bases.first { $0.fixture == fixture })
            try base.rewrite(with: readFile(Self.reproducers.appendingPathComponent("converter/\(file)").path))
            do {
                _ = try Converter.convert(base.source)
                Issue.record("\(file): converted, expected a refusal")
            } catch let error as Seq2SeqError {
                #expect("\(error)".contains(message), "\(file): \(error)")
            }
        }
    }
}

/// The converter fuzz target's rewriting, mirrored: a toolkit fixture's checkpoint with every storage record
/// kept (64-byte aligned, as torch.save writes them) and data.pkl replaced, first in the central directory
/// (TorchCheckpoint takes the archive's name from the first entry). Keep in step with `Fuzz/ConverterFuzzer.swift`.
struct ConverterReplay {
    enum Kind { case openNMT, joeyNMT, fairseq, tutorial }
    let fixture: String
    let kind: Kind
    let directory: String
    let archive: ZipArchive
    let prefix: String
    let path: String
    /// The checkpoint's other records (data and names), kept as they are.
    let kept: [ZipWriter.Entry]

    static let fixtures: [(String, String, Kind)] = [
        ("onmt_brnn_lstm_general", "model_step_1500.pt", .openNMT), ("onmt_gru_mlp_bridge", "model_step_1000.pt", .openNMT),
        ("onmt_lstm_dot_nofeed_shared", "model_step_3000.pt", .openNMT), ("joey_gru_bahdanau_nofeed", "best.ckpt", .joeyNMT),
        ("joey_lstm_luong", "best.ckpt", .joeyNMT), ("joey_spm", "best.ckpt", .joeyNMT),
        ("fairseq_bilstm_proj", "checkpoint_best.pt", .fairseq), ("tutorial_attn", "model.pt", .tutorial),
    ]

    static func bases(scratch: URL) throws -> [ConverterReplay] {
        try fixtures.map { fixture, checkpoint, kind in
            let directory = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/toolkits/\(fixture)").path
            let archive = try ZipArchive(file: MappedFile(path: directory + "/" + checkpoint))
            let first = archive.entries[0].name
            let prefix = String(first[..<first.firstIndex(of: "/")!])
            let kept = archive.entries.filter { $0.name != prefix + "/data.pkl" }
                .map { ZipWriter.Entry(name: $0.name, data: Array(archive.bytes(of: $0))) }
            let sub = scratch.appendingPathComponent(fixture)
            try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
            return ConverterReplay(fixture: fixture, kind: kind, directory: directory, archive: archive, prefix: prefix,
                                   path: sub.appendingPathComponent(checkpoint).path, kept: kept)
        }
    }

    var source: Converter.Source {
        switch kind {
        case .openNMT: return .openNMT(checkpoint: path)
        case .joeyNMT: return .joeyNMT(modelDirectory: directory, checkpoint: path)
        case .fairseq: return .fairseq(checkpoint: path, dataDirectory: directory + "/data")
        case .tutorial: return .pytorchTutorial(checkpoint: path)
        }
    }

    /// Writes the checkpoint with `pickle` as its data.pkl (the pickle tests' ZipWriter, 64-byte aligned).
    func rewrite(with pickle: [UInt8]) throws {
        let out = ZipWriter.archive([ZipWriter.Entry(name: prefix + "/data.pkl", data: pickle)] + kept, align: 64)
        try Data(out).write(to: URL(fileURLWithPath: path))
    }
}
