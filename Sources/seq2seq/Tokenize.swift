import ArgumentParser
import Seq2Seq
import Seq2SeqText

extension ModelConfig.Side: ExpressibleByArgument {}

/// Lines in, one answer line out per input line; a bad line is reported on standard error with its number,
/// answered by an empty line, and the exit status becomes 1.
private func eachLine(_ sentences: [String], input: String?, _ body: ([UInt8]) throws -> String) throws {
    Output.ignoreSIGPIPE()
    let lines: LineSource
    do { lines = try LineSource(arguments: sentences, path: input) } catch {
        Output.error("\(error)")
        throw ExitCode(2)
    }
    var failed = false
    while let (number, bytes) = lines.next() {
        do {
            if lines.lastLineTooLong { throw Seq2SeqError.invalidInput("line longer than \(LineReader.maxLineBytes >> 20) MiB") }
            Output.line(try body(bytes))
        } catch {
            failed = true
            Output.error("line \(number): \((error as? Seq2SeqError)?.message ?? "\(error)")")
            Output.line("")
        }
    }
    if failed { throw ExitCode(1) }
}

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show how the model cuts text into tokens (pieces) or vocabulary ids.",
        discussion: """
            Each input line is tokenized with the side's tokenizer (MODEL.md: whitespace, characters, \
            sentencepiece, bpe) and answered by its tokens separated by spaces, or with --ids by their ids in \
            the side's vocabulary (unknown tokens are unk). A line that is not valid UTF-8 is an error for that \
            line only.
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .long, help: "source or target.")
    var side: ModelConfig.Side = .source

    @Flag(name: .long, help: "Print vocabulary ids instead of tokens.")
    var ids = false

    @Option(name: .long, help: "Read lines from this file instead of standard input.")
    var input: String?

    @Argument(help: "Lines to tokenize (instead of --input or standard input).")
    var sentences: [String] = []

    func validate() throws {
        if input != nil && !sentences.isEmpty { throw ValidationError("give lines as arguments or --input, not both") }
    }

    func run() throws {
        let model = modelOptions.load()
        let tokenizer = modelOptions.loadText(model).tokenizer(side)
        try eachLine(sentences, input: input) { bytes in
            let tokens = try tokenizer.tokens(forUTF8: bytes)
            if ids { return try tokenizer.ids(forTokens: tokens).map(String.init).joined(separator: " ") }
            return tokens.joined(separator: " ")
        }
    }
}

struct Detokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Join tokens (pieces) or vocabulary ids into text, as the model's output is joined.",
        discussion: """
            Each input line holds tokens separated by spaces (or with --ids, vocabulary ids) and is answered \
            by the text the side's tokenizer makes of them. With --ids on the target side, the model's \
            detokenize_skip_ids are left out, as in translations.
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .long, help: "source or target.")
    var side: ModelConfig.Side = .target

    @Flag(name: .long, help: "Read vocabulary ids instead of tokens.")
    var ids = false

    @Option(name: .long, help: "Read lines from this file instead of standard input.")
    var input: String?

    @Argument(help: "Lines to detokenize (instead of --input or standard input).")
    var sentences: [String] = []

    func validate() throws {
        if input != nil && !sentences.isEmpty { throw ValidationError("give lines as arguments or --input, not both") }
    }

    func run() throws {
        let model = modelOptions.load()
        let tokenizer = modelOptions.loadText(model).tokenizer(side)
        let size = side == .source ? model.config.sourceVocabSize : model.config.targetVocabSize
        try eachLine(sentences, input: input) { bytes in
            guard let line = String(validating: bytes, as: UTF8.self) else {
                throw Seq2SeqError.invalidInput("the line is not valid UTF-8")
            }
            let fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard ids else { return try tokenizer.text(forTokens: fields) }
            let values = try fields.map { f -> Int in
                guard let id = Int(f), id >= 0, id < size else {
                    throw Seq2SeqError.invalidInput("\"\(f)\" is not an id of the \(side.rawValue) vocabulary (0..<\(size))")
                }
                return id
            }
            return try tokenizer.text(forIDs: values)
        }
    }
}
