import Foundation
@testable import Seq2Seq
import Testing

/// Broken and hostile model directories are refused with an error that names the problem.
@Suite("Load errors")
struct LoadErrorTests {
    /// A valid model of the repository's own golden set, copied to a fresh temporary directory.
    static func copyOfValidModel() throws -> URL {
        let source = Fixtures.ownDirectory.appendingPathComponent("g01_rnn_luong_general_linear_bi_enc2/model")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("seq2seq-load-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: source, to: dir)
        return dir
    }

    /// The header (as a JSON object) and the data section of a safetensors file.
    static func split(_ url: URL) throws -> (header: [String: Any], data: Data) {
        let bytes = try Data(contentsOf: url)
        let n = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<(8 + n))) as! [String: Any]
        return (header, bytes.subdata(in: (8 + n)..<bytes.count))
    }

    static func write(_ url: URL, header: [String: Any], data: Data, length: UInt64? = nil) throws {
        let json = try JSONSerialization.data(withJSONObject: header)
        var out = Data()
        let n = length ?? UInt64(json.count)
        for k in 0..<8 { out.append(UInt8((n >> (8 * UInt64(k))) & 0xFF)) }
        out.append(json)
        out.append(data)
        try out.write(to: url)
    }

    /// Applies `change` to the model's safetensors header and expects loading to fail with a message containing `words`.
    static func expectRefused(_ words: [String], _ change: (inout [String: Any], inout Data) -> Void,
                              sourceLocation: SourceLocation = #_sourceLocation) throws {
        let dir = try copyOfValidModel()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("model.safetensors")
        var (header, data) = try split(file)
        change(&header, &data)
        try write(file, header: header, data: data)
        expectLoadError(dir, words, sourceLocation: sourceLocation)
    }

    static func expectLoadError(_ dir: URL, _ words: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try Seq2SeqModel(directory: dir.path)
            Issue.record("the model was accepted; expected an error mentioning \(words)", sourceLocation: sourceLocation)
        } catch let e as Seq2SeqError {
            let m = e.description
            for w in words {
                #expect(m.contains(w), "message \"\(m)\" does not mention \"\(w)\"", sourceLocation: sourceLocation)
            }
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    static func entry(_ h: [String: Any], _ name: String) -> [String: Any] { h[name] as! [String: Any] }

    @Test("The unmodified copy loads (the baseline of every other test here)")
    func baseline() throws {
        let dir = try Self.copyOfValidModel()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try Seq2SeqModel(directory: dir.path)
        #expect(model.tensors.count > 5)
    }

    @Test("A missing weight is named")
    func missingWeight() throws {
        try Self.expectRefused(["decoder.embedding.weight", "missing"]) { h, _ in h["decoder.embedding.weight"] = nil }
    }

    @Test("A wrong shape names the tensor, the expected and the found shape")
    func wrongShape() throws {
        try Self.expectRefused(["encoder.embedding.weight", "expected"]) { h, _ in
            var e = Self.entry(h, "encoder.embedding.weight")
            let shape = e["shape"] as! [Int]
            e["shape"] = [shape[1], shape[0]]
            h["encoder.embedding.weight"] = e
        }
    }

    @Test("An unused tensor is named")
    func unusedTensor() throws {
        try Self.expectRefused(["decoder.extra.weight", "not used"]) { h, data in
            h["decoder.extra.weight"] = ["dtype": "F32", "shape": [1], "data_offsets": [data.count, data.count + 4]]
            data.append(contentsOf: [0, 0, 0, 0])
        }
    }

    @Test("An unsupported dtype is named")
    func badDtype() throws {
        try Self.expectRefused(["encoder.embedding.weight", "I32"]) { h, _ in
            var e = Self.entry(h, "encoder.embedding.weight")
            e["dtype"] = "I32"
            h["encoder.embedding.weight"] = e
        }
    }

    @Test("Offsets past the data section are refused")
    func offsetsOutside() throws {
        try Self.expectRefused(["decoder.embedding.weight", "outside"]) { h, data in
            var e = Self.entry(h, "decoder.embedding.weight")
            let o = e["data_offsets"] as! [Int]
            e["data_offsets"] = [data.count - 4 + o[1] - o[0], data.count - 4 + 2 * (o[1] - o[0])]
            h["decoder.embedding.weight"] = e
        }
    }

    @Test("Overlapping tensors are refused")
    func overlapping() throws {
        try Self.expectRefused(["overlap"]) { h, _ in
            let a = Self.entry(h, "encoder.embedding.weight")["data_offsets"] as! [Int]
            // Point another tensor of at most the same byte size at the same bytes.
            for (name, value) in h where name != "encoder.embedding.weight" && name != "__metadata__" {
                var e = value as! [String: Any]
                let o = e["data_offsets"] as! [Int]
                if o[1] - o[0] <= a[1] - a[0] && o[1] > o[0] {
                    e["data_offsets"] = [a[0], a[0] + o[1] - o[0]]
                    h[name] = e
                    return
                }
            }
        }
    }

    @Test("Offsets that do not match the shape are refused")
    func sizeMismatch() throws {
        try Self.expectRefused(["encoder.embedding.weight", "needs"]) { h, _ in
            var e = Self.entry(h, "encoder.embedding.weight")
            let o = e["data_offsets"] as! [Int]
            e["data_offsets"] = [o[0], o[1] - 4]
            h["encoder.embedding.weight"] = e
        }
    }

    @Test("A shape whose element count overflows is refused without allocating")
    func shapeOverflow() throws {
        try Self.expectRefused(["encoder.embedding.weight", "overflow"]) { h, _ in
            var e = Self.entry(h, "encoder.embedding.weight")
            e["shape"] = [Int(1) << 40, Int(1) << 40]
            h["encoder.embedding.weight"] = e
        }
    }

    @Test("A header length near 2^64 is refused")
    func hugeHeaderLength() throws {
        let dir = try Self.copyOfValidModel()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("model.safetensors")
        let (header, data) = try Self.split(file)
        try Self.write(file, header: header, data: data, length: UInt64.max - 3)
        Self.expectLoadError(dir, ["header length"])
    }

    @Test("A header that is not JSON is refused")
    func headerNotJSON() throws {
        let dir = try Self.copyOfValidModel()
        defer { try? FileManager.default.removeItem(at: dir) }
        var bytes = Data([16, 0, 0, 0, 0, 0, 0, 0])
        bytes.append(contentsOf: Array("{\"a\": [1, 2,,]} ".utf8))
        try bytes.write(to: dir.appendingPathComponent("model.safetensors"))
        Self.expectLoadError(dir, ["JSON"])
    }

    @Test("An empty file, a short file and a directory in place of model.safetensors are refused")
    func badFiles() throws {
        let dir = try Self.copyOfValidModel()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("model.safetensors")
        try Data().write(to: file)
        Self.expectLoadError(dir, ["empty"])
        try Data([1, 2, 3]).write(to: file)
        Self.expectLoadError(dir, ["too short"])
        try FileManager.default.removeItem(at: file)
        try FileManager.default.createDirectory(at: file, withIntermediateDirectories: false)
        Self.expectLoadError(dir, ["not a regular file"])
        try FileManager.default.removeItem(at: file)
        Self.expectLoadError(dir, ["model.safetensors"])
    }

    @Test("A missing or non-directory model path is refused")
    func missingDirectory() {
        Self.expectLoadError(URL(fileURLWithPath: "/nonexistent/model"), ["does not exist"])
        Self.expectLoadError(Fixtures.ownDirectory.appendingPathComponent("README.md"), ["not a directory"])
    }

    @Test("Config errors name the key", arguments: [
        ("\"cell\": \"rnn_tanh\"", "\"cell\": \"transformer\"", "cell"),
        ("\"hidden_size\":", "\"hidden_sizes\": 3, \"hidden_size\":", "hidden_sizes"),
        ("\"format_version\": 1", "\"format_version\": 3", "format_version"),
        ("\"encoder_layers\": 2", "\"encoder_layers\": \"2\"", "encoder_layers"),
        ("\"bidirectional_encoder\": true", "\"bidirectional_encoder\": 1", "bidirectional_encoder"),
    ])
    func configErrors(_ find: String, _ replace: String, _ word: String) throws {
        let dir = try Self.copyOfValidModel()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("config.json")
        let text = try String(contentsOf: url, encoding: .utf8)
        try #require(text.contains(find), "config.json of the copied model has no \(find)")
        try text.replacingOccurrences(of: find, with: replace).write(to: url, atomically: true, encoding: .utf8)
        Self.expectLoadError(dir, [word])
    }

    @Test("A vocabulary whose line count differs from its size is refused")
    func vocabularyCount() throws {
        let dir = try Self.copyOfValidModel()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("target.vocab")
        try (String(contentsOf: url, encoding: .utf8) + "extra\n").write(to: url, atomically: true, encoding: .utf8)
        Self.expectLoadError(dir, ["target.vocab", "target_vocab_size"])
    }

    @Test("F16 conversion is exact for normals, subnormals, zeros and infinities")
    func halfConversion() {
        #expect(halfToFloat(0x3C00) == 1)
        #expect(halfToFloat(0xC000) == -2)
        #expect(halfToFloat(0x7BFF) == 65504)
        #expect(halfToFloat(0x0001) == Float(sign: .plus, exponent: -24, significand: 1))
        #expect(halfToFloat(0x8000) == 0 && halfToFloat(0x8000).sign == .minus)
        #expect(halfToFloat(0x7C00) == .infinity)
        #expect(halfToFloat(0x7E00).isNaN)
    }
}
