import Foundation
import Testing

/// `seq2seq quantize` and `--compute-type` on a stored quantized model, run as a user would.
@Suite("Command line: quantize")
struct QuantizeCLITests {
    @Test("quantize writes a model that translates like --compute-type on the float model; other types are refused")
    func quantizeAndTranslate() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("seq2seq-cli-int8-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let q = try CLITests.run(["quantize", "--to", "int8", "--families", "output,attention", "--output", out])
        #expect(q.status == 0, "stderr: \(q.stderr)")
        #expect(q.stdout.hasPrefix("wrote \(out): int8 attention, output; model.safetensors "), "\(q.stdout)")
        let dates = ["24/11/2026", "JUN. 27, 2022", "25 September 2018"]
        let stored = try CLITests.run(["translate", "--model", out, "--format", "jsonl", "--beam-size", "2"],
                                      stdin: dates.map { "{\"source\": \"\($0)\"}" }.joined(separator: "\n") + "\n")
        let atLoad = try CLITests.run(["translate", "--compute-type", "int8", "--quantize", "output,attention", "--format", "jsonl", "--beam-size", "2"],
                                      stdin: dates.map { "{\"source\": \"\($0)\"}" }.joined(separator: "\n") + "\n")
        #expect(stored.status == 0 && atLoad.status == 0, "stderr: \(stored.stderr) \(atLoad.stderr)")
        #expect(stored.stdout == atLoad.stdout)  // the same log-probs, printed in full
        #expect(stored.lines.count == 3)
        let refused = try CLITests.run(["translate", "--model", out, "--compute-type", "float16", "24/11/2026"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("stores its attention, output weights as int8; compute type float16 would round them a second time"), "\(refused.stderr)")
        let again = try CLITests.run(["quantize", "--to", "int8", "--output", out])
        #expect(again.status == 2)
        #expect(again.stderr.contains("is not empty (--force replaces its files)"), "\(again.stderr)")
        let f32 = try CLITests.run(["translate", "--model", out, "--compute-type", "float32", "24/11/2026"])
        #expect(f32.status == 0 && f32.stdout == "2026-11-24\n", "\(f32.stdout) \(f32.stderr)")
    }

    @Test("quantize --to int8_float16 stores the other families in float16; the result translates like --compute-type int8_float16")
    func int8Float16() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("seq2seq-cli-int8f16-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let q = try CLITests.run(["quantize", "--to", "int8_float16", "--output", out])
        #expect(q.status == 0, "stderr: \(q.stderr)")
        #expect(q.stdout.hasPrefix("wrote \(out): int8 bridge, output, float16 attention, encoder, recurrent; model.safetensors "), "\(q.stdout)")
        let input = ["24/11/2026", "JUN. 27, 2022", "25 September 2018"].map { "{\"source\": \"\($0)\"}" }.joined(separator: "\n") + "\n"
        let stored = try CLITests.run(["translate", "--model", out, "--format", "jsonl", "--beam-size", "2"], stdin: input)
        let atLoad = try CLITests.run(["translate", "--compute-type", "int8_float16", "--format", "jsonl", "--beam-size", "2"], stdin: input)
        let int8 = try CLITests.run(["translate", "--compute-type", "int8", "--format", "jsonl", "--beam-size", "2"], stdin: input)
        #expect(stored.status == 0 && atLoad.status == 0 && int8.status == 0, "stderr: \(stored.stderr) \(atLoad.stderr)")
        #expect(stored.lines.count == 3 && stored.stdout == atLoad.stdout)
        #expect(atLoad.stdout != int8.stdout)  // the float16 families change the printed log-probs
        let inspect = try CLITests.run(["inspect", "--model", out])
        #expect(inspect.stdout.contains("quantization int8: bridge, output; other families float16 (stored; running as int8_float16)"), "\(inspect.stdout)")
        #expect(inspect.stdout.contains("F16"), "\(inspect.stdout)")
        let refused = try CLITests.run(["translate", "--model", out, "--compute-type", "int8_bfloat16", "24/11/2026"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("stores its attention, encoder, recurrent weights as float16; running them as bfloat16 would round them a second time"), "\(refused.stderr)")
    }
}
