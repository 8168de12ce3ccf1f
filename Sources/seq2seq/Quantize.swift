import ArgumentParser
import Seq2Seq
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct Quantize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a float model as a stored quantized model (int8, float16, bfloat16 or int8_float16 weights, read in place at load).",
        discussion: """
            The weights of the chosen families are stored in --to (int8: one F32 scale per output row), the other \
            families' weights in F32 (or in float16 with int8_float16, bfloat16 with int8_bfloat16), everything else in F32; config.json gains a "quantization" key (docs/MODEL.md, "Stored quantized models"). Loading \
            the result decodes bit for bit like --compute-type TYPE on the float model, without converting anything.
            """)

    @Option(name: .long, help: "The float model directory (default: the embedded date normalizer).")
    var model: String?

    @Option(name: .long, help: "The stored type: int8, float16, bfloat16, int8_float16 or int8_bfloat16.")
    var to: ComputePrecision

    @Option(name: .long, help: "The model directory to write.")
    var output: String

    @Option(name: .long, help: "Families to quantize (comma-separated: output, attention, recurrent, encoder, bridge; default: the type's default families).")
    var families: String?

    @Flag(name: .long, help: "Write into --output even if it already holds files.")
    var force = false

    func run() throws {
        var options = try ModelOptions.parse(model.map { ["--model", $0, "--compute-type", "float32"] } ?? ["--compute-type", "float32"])
        options.quantize = nil
        let source = options.load()
        var chosen: Set<WeightFamily>? = nil
        if let families {
            options.quantize = families
            do { chosen = try options.families() } catch {
                Output.error("\(error)")
                throw ExitCode(2)
            }
        }
        let t0 = now()
        let written: Seq2SeqModel
        do {
            written = try source.writeQuantized(to: output, type: to.type, families: chosen, otherFamilies: to.otherFamilies, overwrite: force)
        } catch let e as Seq2SeqError {
            Output.error(e.description)
            throw ExitCode(2)
        }
        let q = written.config.quantization!
        let bytes = fileSize(output + "/model.safetensors")
        let before = fileSize(source.directory + "/model.safetensors")
        let others = WeightFamily.allCases.filter { !q.families.contains($0) }.map(\.rawValue).sorted().joined(separator: ", ")
        let rest = q.otherFamilies == .float32 ? "" : ", \(q.otherFamilies.rawValue) \(others)"
        print("wrote \(output): \(q.type.rawValue) \(q.families.map(\.rawValue).sorted().joined(separator: ", "))\(rest); model.safetensors \(bytes) bytes (float: \(before)), \(fmt(now() - t0, 2)) s")
    }
}

private func fileSize(_ path: String) -> Int {
    var st = stat()
    return stat(path, &st) == 0 ? Int(st.st_size) : 0
}
