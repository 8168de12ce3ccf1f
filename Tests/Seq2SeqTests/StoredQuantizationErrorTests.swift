import Foundation
@testable import Seq2Seq
import Testing

/// Broken stored quantized models get a load error naming the tensor (or key) and the problem.
@Suite("Stored quantized models: load errors")
struct StoredQuantizationErrorTests {
    /// One way to break a stored int8 model's safetensors: the parts (as written) in, the parts to write out.
    struct Breakage: Sendable, CustomStringConvertible {
        let description: String
        let expected: String
        let change: @Sendable ([Part]) -> [Part]
        /// The model: tied (the output weight's float32 rows are the embedding) or not (stored as `.rescore`).
        var tied = true
        /// The stored type of the output and attention families.
        var type = ComputeType.int8
    }

    /// A tensor to write: name, dtype, shape, bytes.
    struct Part: Sendable {
        var name: String
        var dtype: TensorDType
        var shape: [Int]
        var bytes: [UInt8]
    }

    static let output = "decoder.output.weight"  // int8, (Vt, O): tied, so stored beside the embedding

    static func floats(_ values: [Float]) -> [UInt8] { values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } } }

    static func edit(_ name: String, _ f: @escaping @Sendable (inout Part) -> Void) -> @Sendable ([Part]) -> [Part] {
        { parts in parts.map { p in var p = p; if p.name == name { f(&p) }; return p } }
    }

    static let breakages: [Breakage] = [
        Breakage(description: "scale missing", expected: "tensor \(output).scale is missing: an int8 weight needs one F32 scale per row",
                 change: { $0.filter { $0.name != output + ".scale" } }),
        Breakage(description: "scale in F16", expected: "tensor \(output).scale is F16 of shape [23], expected F32 of shape [23]",
                 change: edit(output + ".scale") { $0.dtype = .f16; $0.bytes = Array($0.bytes.prefix(46)) }),
        Breakage(description: "scale count", expected: "tensor \(output).scale is F32 of shape [22], expected F32 of shape [23]",
                 change: edit(output + ".scale") { $0.shape = [22]; $0.bytes = Array($0.bytes.prefix(88)) }),
        Breakage(description: "scale NaN", expected: "tensor \(output).scale holds nan at row 3: int8 row scales must be finite and positive",
                 change: edit(output + ".scale") { $0.bytes.replaceSubrange(12..<16, with: floats([.nan])) }),
        Breakage(description: "scale zero", expected: "tensor \(output).scale holds 0.0 at row 0: int8 row scales must be finite and positive",
                 change: edit(output + ".scale") { $0.bytes.replaceSubrange(0..<4, with: floats([0])) }),
        Breakage(description: "weight in F16", expected: "tensor \(output) has dtype F16, but config.json's quantization stores the output family as int8 (I8)",
                 change: edit(output) { $0.dtype = .f16; $0.bytes += $0.bytes }),
        Breakage(description: "weight shape", expected: "tensor \(output) has shape [9, 23], expected [23, 9]",
                 change: edit(output) { $0.shape = [9, 23] }),
        Breakage(description: "weight missing", expected: "tensor \(output) is missing (the output family is stored as int8: I8, shape [23, 9])",
                 change: { $0.filter { $0.name != output } }),
        Breakage(description: "code -128", expected: "tensor \(output) holds the int8 code -128 at row 0, column 2",
                 change: edit(output) { $0.bytes[2] = 0x80 }),
        Breakage(description: "I8 outside the families", expected: "tensor decoder.attention.energy.weight has dtype I8 but is not a weight of the quantized families",
                 change: edit("decoder.attention.energy.weight") { $0.dtype = .i8; $0.bytes = Array(repeating: 1, count: $0.bytes.count / 4) }),
        Breakage(description: "stray scale", expected: "tensor decoder.rnn.weight_ih_l0.scale is not used: no int8 weight decoder.rnn.weight_ih_l0",
                 change: { $0 + [Part(name: "decoder.rnn.weight_ih_l0.scale", dtype: .f32, shape: [1], bytes: floats([1]))] }),
        // The float32 rows of an untied int8 output weight, for re-scoring: (23, 13).
        Breakage(description: "rescore missing", expected: "tensor \(rescore) is missing: an int8 decoder.output.weight is stored with its float32 rows (F32, shape [23, 13])",
                 change: { $0.filter { $0.name != rescore } }, tied: false),
        Breakage(description: "bfloat16 rescore missing", expected: "tensor \(rescore) is missing: a bfloat16 decoder.output.weight is stored with its float32 rows (F32, shape [23, 13])",
                 change: { $0.filter { $0.name != rescore } }, tied: false, type: .bfloat16),
        Breakage(description: "rescore in F16", expected: "tensor \(rescore) is F16 of shape [23, 13], expected F32 of shape [23, 13]",
                 change: edit(rescore) { $0.dtype = .f16; $0.bytes = Array($0.bytes.prefix(2 * 23 * 13)) }, tied: false),
        Breakage(description: "rescore shape", expected: "tensor \(rescore) is F32 of shape [13, 23], expected F32 of shape [23, 13]",
                 change: edit(rescore) { $0.shape = [13, 23] }, tied: false),
        Breakage(description: "rescore NaN", expected: "tensor \(rescore) holds a non-finite value (nan) at index 5",
                 change: edit(rescore) { $0.bytes.replaceSubrange(20..<24, with: floats([.nan])) }, tied: false),
        Breakage(description: "rescore beside a tied output", expected: "tensor \(rescore) is not used: only an untied int8 or bfloat16 decoder.output.weight",
                 change: { $0 + [Part(name: rescore, dtype: .f32, shape: [23, 9], bytes: floats(Array(repeating: 1, count: 23 * 9)))] }),
    ]

    static let rescore = "decoder.output.weight.rescore"

    /// A stored int8 (or `type`) model (output and attention families), tied or not, whose safetensors went
    /// through `change`.
    static func brokenModel(tied: Bool = true, type: ComputeType = .int8, _ change: ([Part]) -> [Part]) throws -> String {
        let floatDir = try makeRandomModel(StoredQuantizationTests.randomConfig(tied: tied), seed: 74, omittedBiases: 0)
        defer { try? FileManager.default.removeItem(atPath: floatDir) }
        let dir = StoredQuantizationTests.temporary("broken")
        try Seq2SeqModel(directory: floatDir).writeQuantized(to: dir, type: type, families: [.output, .attention])
        let file = try SafeTensorsFile(path: dir + "/model.safetensors")
        let parts = file.entries.values.sorted { $0.name < $1.name }.map { e in
            Part(name: e.name, dtype: e.dtype, shape: e.shape, bytes: Array(file.bytes(of: e)))
        }
        let changed = change(parts)
        let bytes = changed.map { $0.bytes }
        let out = bytes.withUnsafeBufferPointers { buffers in
            SafeTensorsPart.fileBytes(zip(changed, buffers).map { SafeTensorsPart(name: $0.name, dtype: $0.dtype, shape: $0.shape, bytes: $1) }, metadata: [:])
        }
        try Data(out).write(to: URL(fileURLWithPath: dir + "/model.safetensors"))
        return dir
    }

    @Test("A broken stored int8 (or bfloat16) model is refused naming the tensor", arguments: breakages)
    func refused(_ breakage: Breakage) throws {
        let dir = try Self.brokenModel(tied: breakage.tied, type: breakage.type, breakage.change)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let error = #expect(throws: Seq2SeqError.self) { try Seq2SeqModel(directory: dir) }
        #expect("\(error!)".contains(breakage.expected), "\(error!)")
    }

    @Test("An I8 tensor in a float model, and a bad quantization key, are refused")
    func floatModelAndKey() throws {
        let dir = try Self.brokenModel { $0 }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let configPath = dir + "/config.json"
        let text = try String(contentsOfFile: configPath, encoding: .utf8)
        let cases: [(String, String)] = [
            (text.replacingOccurrences(of: #",\n  "quantization": \{[^\n]*\}"#, with: "", options: .regularExpression),
             "has dtype I8, which only a stored quantized model may hold (config.json has no quantization key)"),
            (text.replacingOccurrences(of: #""type": "int8""#, with: #""type": "int4""#), "quantization.type has unknown value \"int4\""),
            (text.replacingOccurrences(of: #""attention", "output""#, with: #""attention", "embedding""#), "quantization.families[1] is not one of"),
            (text.replacingOccurrences(of: #""attention", "output""#, with: ""), "quantization.families is empty"),
            (text.replacingOccurrences(of: #"]}"#, with: #"], "other_families": "int8"}"#), "quantization.other_families must be \"float16\" or \"bfloat16\" and differ from type (found \"int8\")"),
            (text.replacingOccurrences(of: #"]}"#, with: #"], "other_families": 16}"#), "quantization.other_families must be \"float16\" or \"bfloat16\" and differ from type (found a number)"),
            (text.replacingOccurrences(of: #"]}"#, with: #"], "other": "float16"}"#), "quantization.other is an unknown key (expected type, families, other_families)"),
            // The other families declared float16 but stored as F32.
            (text.replacingOccurrences(of: #"]}"#, with: #"], "other_families": "float16"}"#), "has dtype F32, but config.json's quantization stores the"),
        ]
        for (config, expected) in cases {
            #expect(config != text)
            try config.write(toFile: configPath, atomically: true, encoding: .utf8)
            let error = #expect(throws: Seq2SeqError.self) { try Seq2SeqModel(directory: dir) }
            #expect("\(error!)".contains(expected), "\(error!)")
        }
    }
}

extension Array where Element == [UInt8] {
    /// Calls `body` with a raw buffer over each array (all valid during the call).
    func withUnsafeBufferPointers<R>(_ body: ([UnsafeRawBufferPointer]) -> R) -> R {
        func go(_ i: Int, _ acc: [UnsafeRawBufferPointer]) -> R {
            if i == count { return body(acc) }
            return self[i].withUnsafeBytes { go(i + 1, acc + [$0]) }
        }
        return go(0, [])
    }
}
