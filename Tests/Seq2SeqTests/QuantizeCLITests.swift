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
}
