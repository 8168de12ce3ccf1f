import ArgumentParser
import Foundation
import Seq2Seq
import Seq2SeqConvert

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a toolkit checkpoint into a model directory (no Python needed; nothing in the checkpoint is executed).",
        discussion: """
            Prints what it found (toolkit, cell, layers, sizes, attention, bridge, vocabularies, parameters), writes \
            config.json, model.safetensors, source.vocab and target.vocab into --output, and loads the result back \
            to check it. Features the model format cannot represent are refused with a message naming the option.
            """,
        subcommands: [OpenNMT.self, JoeyNMT.self, Fairseq.self, Tutorial.self])

    struct Destination: ParsableArguments {
        @Option(name: .long, help: "The model directory to write.")
        var output: String

        @Flag(name: .long, help: "Write into --output even if it already holds files.")
        var force = false

        @Option(name: .long, help: "The source SentencePiece model or BPE codes (default: the path the checkpoint recorded, else the file of that name beside it).")
        var srcSubwordModel: String?

        @Option(name: .long, help: "The target SentencePiece model or BPE codes (likewise).")
        var tgtSubwordModel: String?
    }

    struct OpenNMT: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "opennmt-py", abstract: "An OpenNMT-py 3.x RNN checkpoint (model_step_N.pt).")
        @Argument(help: "The checkpoint.") var checkpoint: String
        @OptionGroup var output: Destination
        func run() throws { try Convert.run(.openNMT(checkpoint: checkpoint), output) }
    }

    struct JoeyNMT: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "joeynmt", abstract: "A JoeyNMT 2.x recurrent model directory (config.yaml, vocabularies, best.ckpt).")
        @Argument(help: "The model directory.") var modelDirectory: String
        @Option(name: .long, help: "The checkpoint (default: MODEL_DIR/best.ckpt).") var checkpoint: String?
        @OptionGroup var output: Destination
        func run() throws { try Convert.run(.joeyNMT(modelDirectory: modelDirectory, checkpoint: checkpoint), output) }
    }

    struct Fairseq: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "fairseq", abstract: "A fairseq LSTM checkpoint (checkpoint_best.pt) with its data directory.")
        @Argument(help: "The checkpoint.") var checkpoint: String
        @Option(name: .long, help: "The data directory holding dict.SRC.txt and dict.TGT.txt.") var data: String
        @Option(name: .long, help: "Source language (default: the checkpoint's).") var sourceLang: String?
        @Option(name: .long, help: "Target language (default: the checkpoint's).") var targetLang: String?
        @OptionGroup var output: Destination
        func run() throws {
            try Convert.run(.fairseq(checkpoint: checkpoint, dataDirectory: data, sourceLanguage: sourceLang, targetLanguage: targetLang), output)
        }
    }

    struct Tutorial: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "pytorch-tutorial", abstract: "The PyTorch seq2seq tutorial's model, saved with the README's recipe.")
        @Argument(help: "The saved file.") var checkpoint: String
        @OptionGroup var output: Destination
        func run() throws { try Convert.run(.pytorchTutorial(checkpoint: checkpoint), output) }
    }

    static func run(_ source: Converter.Source, _ out: Destination) throws {
        let fm = FileManager.default
        if !out.force, let existing = try? fm.contentsOfDirectory(atPath: out.output), !existing.isEmpty {
            Output.error("\(out.output) already holds files; choose another --output or add --force")
            throw ExitCode(2)
        }
        do {
            let converted = try Converter.convert(source, subwordOverrides: .init(source: out.srcSubwordModel, target: out.tgtSubwordModel))
            print(converted.summary)
            let model = try converted.write(to: out.output)
            print("wrote \(out.output): config.json (format \(model.config.formatVersion)), model.safetensors (\(model.weightBytes.formatted()) bytes), source.vocab, target.vocab")
        } catch let e as Seq2SeqError {
            Output.error(e.description)
            throw ExitCode(2)
        }
    }
}
