import ArgumentParser
import Seq2Seq
import Seq2SeqText

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@main
struct Seq2SeqCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seq2seq",
        abstract: "Run RNN encoder-decoder models with attention on the CPU (OpenBLAS).",
        version: "0.1.0",
        subcommands: [Translate.self, Score.self, Eval.self, Inspect.self, Convert.self, Quantize.self, Tokenize.self, Detokenize.self, Bench.self],
        defaultSubcommand: Translate.self)

    /// Restarts once with better OpenBLAS kernels when OpenBLAS chose generic ones for this CPU
    /// (`BLASThreads.suggestedOpenBLASCore`), then parses and runs the command.
    static func main() {
        BLASThreads.restartWithSuggestedOpenBLASCore()
        main(nil)
    }
}

/// Options shared by the commands that load a model.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "Model directory (config.json, model.safetensors, vocabularies). Default: the embedded date normalizer.")
    var model: String?

    @Option(name: .long, help: "OpenBLAS threads (default: OPENBLAS_NUM_THREADS, else one per core).")
    var threads: Int?

    @Option(name: .long, help: "Weights in float32, float16, bfloat16 or int8 (per-row scales; int8 products round activations to int16 and sum exactly in int32), or int8_float16 / int8_bfloat16: int8 for its families, the second type for the others. Default: as the model stores them (a model from `seq2seq quantize` runs in its stored type; float32 dequantizes it).")
    var computeType: ComputePrecision?

    @Option(name: .long, help: "Weight families a reduced --compute-type applies to: comma-separated output, attention, recurrent, encoder, bridge, or all (default: as stored, or the type's default families: every family for float16, output (re-scored), recurrent and bridge for bfloat16, output and bridge for int8, the families that keep greedy output identical to float32 on 99% of sentences; see docs/MODEL.md).")
    var quantize: String?

    @Flag(name: .long, inversion: .prefixedNo, help: "Bit-for-bit the same result for a sentence alone or in any batch, with any thread count (the default; --no-batch-invariant lets products over 16 rows use OpenBLAS's GEMM).")
    var batchInvariant: Bool = Translator.batchInvariantByDefault

    func validate() throws {
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1") }
        _ = try families()
    }

    func families() throws -> Set<WeightFamily>? {
        guard let q = quantize else { return nil }
        var out = Set<WeightFamily>()
        for name in q.split(separator: ",") where !name.isEmpty {
            if name == "all" { out.formUnion(WeightFamily.allCases); continue }
            guard let f = WeightFamily(rawValue: String(name)) else {
                throw ValidationError("--quantize: unknown family \(name) (output, attention, recurrent, encoder, bridge, all)")
            }
            out.insert(f)
        }
        return out
    }

    /// Loads the model or exits with one clear message on standard error.
    func load() -> Seq2SeqModel {
        if let t = threads { BLASThreads.count = t }
        Translator.batchInvariantByDefault = batchInvariant
        do {
            let families = try self.families()
            let other = computeType?.otherFamilies
            if let dir = model {
                return try Seq2SeqModel(directory: dir, computeType: computeType?.type, families: families, otherFamilies: other)
            }
            return try Seq2SeqModel.embeddedDateModel(computeType: computeType?.type, families: families, otherFamilies: other)
        } catch let e as Seq2SeqError {
            Output.error(e.description)
            Seq2SeqCommand.exit(withError: ExitCode(2))
        } catch {
            Output.error("cannot load the model: \(error)")
            Seq2SeqCommand.exit(withError: ExitCode(2))
        }
    }

    /// The same model in float32, for quality comparisons.
    static func loadFloat32(like options: ModelOptions) -> Seq2SeqModel {
        var o = options
        o.computeType = ComputePrecision(.float32)
        return o.load()
    }

    /// The model's tokenizers (subword files read from its directory), or exits with one clear message.
    func loadText(_ model: Seq2SeqModel) -> ModelText {
        do { return try ModelText(model: model) } catch let e as Seq2SeqError {
            Output.error(e.description)
            Seq2SeqCommand.exit(withError: ExitCode(2))
        } catch {
            Output.error("cannot load the model's tokenizers: \(error)")
            Seq2SeqCommand.exit(withError: ExitCode(2))
        }
    }
}

enum InputFormat: String, ExpressibleByArgument, CaseIterable { case text, jsonl }

extension ComputeType: ExpressibleByArgument {}

extension ComputePrecision: ExpressibleByArgument {}
