import Foundation
import Seq2Seq
import Seq2SeqConvert
import Testing

/// What the model format cannot represent is refused with a message naming the toolkit option, never
/// converted into a model that translates differently. The checkpoints are real OpenNMT-py files with one
/// option changed (`tools/toolkits/make_refusals.py`); `refusals.json` says what each message must name.
@Suite("Converters refuse what the format cannot represent")
struct ConverterRefusalTests {
    static let directory = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/refusals")

    static var cases: [String] {
        guard let json = try? Fixtures.json(directory.appendingPathComponent("refusals.json")),
              case .object(let members) = json else { return [] }
        return members.map(\.0).sorted()
    }

    @Test("The refusal cases are committed")
    func committed() { #expect(Self.cases.count >= 8) }

    @Test("Each refused checkpoint gets an error naming the option", arguments: cases)
    func refused(_ file: String) throws {
        let json = try Fixtures.json(Self.directory.appendingPathComponent("refusals.json"))
        guard case .string(let mustName)? = json[file] else { Issue.record("no expectation for \(file)"); return }
        let path = Self.directory.appendingPathComponent(file).path
        do {
            let converted = try Converter.convert(.openNMT(checkpoint: path))
            Issue.record("\(file) was converted (\(converted.config.attention)) instead of refused")
        } catch let e as Seq2SeqError {
            #expect(e.message.contains(mustName), "\(file): the message does not name \(mustName): \(e.message)")
        }
    }

    @Test("A JoeyNMT Transformer is refused naming model.decoder.type")
    func joeyTransformer() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("joey-transformer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "model:\n  encoder: {type: transformer}\n  decoder: {type: transformer}\n"
            .write(to: dir.appendingPathComponent("config.yaml"), atomically: true, encoding: .utf8)
        #expect { try Converter.convert(.joeyNMT(modelDirectory: dir.path)) } throws: { error in
            (error as? Seq2SeqError)?.message.contains("model.encoder.type transformer") ?? false
        }
    }

    @Test("A JoeyNMT directory without config.yaml is refused naming the directory and what it should hold")
    func joeyWithoutConfig() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("joey-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect { try Converter.convert(.joeyNMT(modelDirectory: dir.path)) } throws: { error in
            let m = (error as? Seq2SeqError)?.message ?? ""
            return m.contains(dir.path) && m.contains("has no config.yaml") && m.contains("best.ckpt")
        }
    }

    @Test("A checkpoint that is not a zip archive, or a missing file, is a clear error")
    func notACheckpoint() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("not-a-checkpoint-\(UUID().uuidString).pt")
        try Data("this is not a checkpoint".utf8).write(to: path)
        defer { try? FileManager.default.removeItem(at: path) }
        for source in [Converter.Source.openNMT(checkpoint: path.path), .pytorchTutorial(checkpoint: path.path),
                       .fairseq(checkpoint: path.path, dataDirectory: "/nonexistent"), .openNMT(checkpoint: "/nonexistent.pt")] {
            #expect(throws: Seq2SeqError.self) { try Converter.convert(source) }
        }
    }
}
