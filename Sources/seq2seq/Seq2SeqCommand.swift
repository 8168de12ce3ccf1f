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
        subcommands: [Translate.self, Score.self, Eval.self, Inspect.self, Convert.self, Tokenize.self, Detokenize.self, Bench.self],
        defaultSubcommand: Translate.self)
}

/// Options shared by the commands that load a model.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "Model directory (config.json, model.safetensors, vocabularies). Default: the embedded date normalizer.")
    var model: String?

    @Option(name: .long, help: "OpenBLAS threads (default: OPENBLAS_NUM_THREADS, else one per core).")
    var threads: Int?

    func validate() throws {
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1") }
    }

    /// Loads the model or exits with one clear message on standard error.
    func load() -> Seq2SeqModel {
        if let t = threads { BLASThreads.count = t }
        do {
            if let dir = model { return try Seq2SeqModel(directory: dir) }
            return try Seq2SeqModel.embeddedDateModel()
        } catch let e as Seq2SeqError {
            Output.error(e.description)
            Seq2SeqCommand.exit(withError: ExitCode(2))
        } catch {
            Output.error("cannot load the model: \(error)")
            Seq2SeqCommand.exit(withError: ExitCode(2))
        }
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
