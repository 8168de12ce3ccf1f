import ArgumentParser
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Seq2Seq
import Seq2SeqText

struct Translate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Translate text or JSONL lines (from arguments, --input FILE or standard input).",
        discussion: """
            With --format text (the default) each line is tokenized with the model's tokenizer and vocabulary \
            and answered by its best translation. With --format jsonl each line is {"source_ids": [..]} or \
            {"source": "text"} and is answered by {"ids", "tokens", "log_prob", "score"} (plus "attention" \
            with --attention and "n_best" when --n-best > 1). A bad line is answered by {"error": "line N: ..."} \
            and the others are still translated; the exit status is then 1.
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .long, help: "Beam size K (1 = greedy; default 5, or the model's decoding_defaults).")
    var beamSize: Int?

    @Option(name: .long, help: "Hypotheses per sentence in JSONL output (≤ beam size).")
    var nBest: Int = 1

    @Option(name: .long, help: "Length penalty α: hypotheses rank by log_prob / length^α.")
    var lengthPenalty: Double = 1.0

    @Option(name: .long, help: "Maximum generated tokens (default 2·S + 10).")
    var maxLength: Int?

    @Option(name: .long, help: "eos is not allowed before this many tokens (default 0, or the model's decoding_defaults).")
    var minLength: Int?

    @Option(name: .long, help: "Sentences decoded together.")
    var batchSize: Int = 32

    @Flag(name: .long, help: "Include attention weights in JSONL output.")
    var attention = false

    @Option(name: .long, help: "Input and output format: text or jsonl.")
    var format: InputFormat = .text

    @Option(name: .long, help: "Read lines from this file instead of standard input.")
    var input: String?

    @Option(name: .long, help: "engine (OpenBLAS) or reference (the naive Swift equations).")
    var backend: BackendKind = .engine

    @Flag(name: .long, help: "Text format: after each translation, draw its attention as a terminal heat map.")
    var showAttention = false

    @Option(name: .long, help: "Write the attention of each translation as an SVG heat map (FILE.svg; FILE-2.svg, ... for later lines).")
    var plot: String?

    @OptionGroup(title: "Decoding options") var decoding: DecodingFlags

    @Flag(name: .long, help: "No progress line on standard error (shown only when it is a terminal and input comes from a file or a pipe).")
    var quiet = false

    @Argument(help: "Sentences to translate (instead of --input or standard input).")
    var sentences: [String] = []

    func validate() throws {
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if input != nil && !sentences.isEmpty { throw ValidationError("give sentences as arguments or --input, not both") }
    }

    func run() throws {
        Output.ignoreSIGPIPE()
        let model = modelOptions.load()
        let text = modelOptions.loadText(model)
        let defaults = model.config.decodingDefaults
        var options = DecodingOptions(beamSize: beamSize ?? defaults.beamSize ?? 5, nBest: nBest,
                                      lengthPenalty: lengthPenalty, maxLength: maxLength,
                                      minLength: minLength ?? defaults.minLength ?? 0,
                                      returnAttention: attention || showAttention || plot != nil)
        try decoding.apply(to: &options, maxLengthGiven: maxLength != nil)
        // Sampling is a beam of one: without --beam-size, sampling flags choose it.
        if options.isSampling && beamSize == nil { options.beamSize = 1 }
        var prefix: [Int] = []
        do {
            try options.validate(for: model.config)
            if let given = decoding.targetPrefix { prefix = try text.targetIDs(for: given) }
        } catch let e as Seq2SeqError {
            Output.error(e.description)
            throw ExitCode(2)
        }
        if let warning = decoding.samplingWarning(options) { Output.error("warning: \(warning)") }
        let backend = makeBackend(backend, model: model, batchSize: batchSize)
        let lines: LineSource
        do { lines = try LineSource(arguments: sentences, path: input) } catch {
            Output.error("\(error)")
            throw ExitCode(2)
        }
        let progress = Progress.start(enabled: !quiet && sentences.isEmpty, path: input, label: "translate")
        defer { progress?.finish() }
        var failed = false
        let window = batchSize * 8
        while true {
            // Parse a window of lines; translate the good ones together (grouped by their options); answer every
            // line in order.
            var requests: [(line: Int, result: Result<TranslateRequest, Seq2SeqError>)] = []
            while requests.count < window, let (number, bytes) = lines.next() {
                if lines.lastLineTooLong {
                    requests.append((number, .failure(.invalidInput("line longer than \(LineReader.maxLineBytes >> 20) MiB"))))
                    continue
                }
                requests.append((number, Result {
                    var r = try parse(bytes, text: text, options: options)
                    if r.input.targetPrefix.isEmpty { r.input.targetPrefix = prefix }
                    r.input.index = number - 1  // the line's position seeds its random streams
                    return r
                }.mapError { $0 as? Seq2SeqError ?? .invalidInput("\($0)") }))
            }
            if requests.isEmpty { break }
            var translations = [Result<Translation, Seq2SeqError>?](repeating: nil, count: requests.count)
            var groups: [(options: DecodingOptions, members: [Int])] = []
            for (k, request) in requests.enumerated() {
                guard case .success(let r) = request.result else { continue }
                if let g = groups.firstIndex(where: { $0.options == r.options }) { groups[g].members.append(k) } else { groups.append((r.options, [k])) }
            }
            for group in groups {
                let inputs = group.members.map { try! requests[$0].result.get().input }
                for (k, t) in zip(group.members, translateIsolating(inputs, backend: backend, options: group.options)) {
                    translations[k] = t
                }
            }
            var tokens = 0
            for (k, request) in requests.enumerated() {
                switch (request.result, translations[k]) {
                case (.failure(let e), _), (_, .failure(let e)?):
                    failed = true
                    report(line: request.line, e.message)
                case (.success(let r), .success(let t)?):
                    for w in t.warnings where format == .text { Output.error("line \(request.line): warning: \(w)") }
                    do {
                        try emit(t, request: r, text: text)
                        draw(t, source: r.input.source, line: request.line, text: text)
                    } catch {
                        failed = true
                        report(line: request.line, (error as? Seq2SeqError)?.message ?? "\(error)")
                    }
                    tokens += t.hypotheses.reduce(0) { $0 + $1.tokenLogProbs.count }
                case (.success, nil):
                    preconditionFailure("every good line is translated")
                }
            }
            progress?.add(lines: requests.count, sentences: translations.count { $0 != nil }, tokens: tokens)
        }
        if failed { throw ExitCode(1) }
    }

    private func parse(_ bytes: [UInt8], text: ModelText, options: DecodingOptions) throws -> TranslateRequest {
        let model = text.model
        switch format {
        case .jsonl:
            return try bytes.withUnsafeBytes {
                try Requests.translateRequest($0, model: model, defaults: options, sourceText: text.sourceIDs(for:),
                                              targetText: text.targetIDs(for:))
            }
        case .text:
            // Bytes that are not valid UTF-8 are an error for this line only.
            let ids = try text.sourceIDs(forUTF8: bytes)
            try model.validate(source: options.maxInputLength.map { Array(ids.prefix($0)) } ?? ids)
            return TranslateRequest(input: TranslationInput(source: ids), options: options, returnScores: nil)
        }
    }

    private func report(line: Int, _ message: String) {
        switch format {
        case .jsonl:
            Output.line(JSONWriter.error(line: line, message))
        case .text:
            Output.error("line \(line): \(message)")
            Output.line("")
        }
    }

    private func emit(_ t: Translation, request: TranslateRequest, text: ModelText) throws {
        switch format {
        case .text:
            Output.line(try text.detokenize(t.best.ids))
        case .jsonl:
            let scores = request.returnScores ?? decoding.returnScores
            var members = fields(t.best, scores: scores)
            if request.options.nBest > 1 {
                members.append(("n_best", "[" + t.hypotheses.map { JSONWriter.object(fields($0, scores: scores)) }.joined(separator: ", ") + "]"))
            }
            if !t.warnings.isEmpty { members.append(("warnings", JSONWriter.strings(t.warnings))) }
            Output.line(JSONWriter.object(members))
        }
    }

    /// The attention pictures asked for with --show-attention and --plot.
    private func draw(_ t: Translation, source: [Int], line: Int, text: ModelText) {
        let model = text.model
        guard showAttention || plot != nil else { return }
        guard let map = AttentionMap(model: model, source: source, hypothesis: t.best) else {
            if line == 1 { Output.error("the model has no attention to show (attention none)") }
            return
        }
        if showAttention && format == .text { Output.line(map.terminal()) }
        if let plot {
            let path = line == 1 ? plot : plot.hasSuffix(".svg") ? String(plot.dropLast(4)) + "-\(line).svg" : plot + "-\(line)"
            let title = (try? text.detokenize(t.best.ids)) ?? model.detokenize(t.best.ids)
            if let f = fopen(path, "w") {
                let sourceText = text.source.tokens(forIDs: source).flatMap { try? text.source.text(forTokens: $0) }
                    ?? source.map(String.init).joined(separator: " ")
                let svg = map.svg(title: "\(sourceText) → \(title)")
                fputs(svg, f)
                fclose(f)
            } else {
                Output.error("cannot write \(path): \(String(cString: strerror(errno)))")
            }
        }
    }

    private func fields(_ h: Hypothesis, scores: Bool) -> [(String, String)] {
        JSONWriter.hypothesis(h, attention: attention, scores: scores)
    }
}

/// Translates a batch; if the batch as a whole fails, each sentence alone, so one bad sentence
/// never costs the others their answer.
func translateIsolating(_ inputs: [TranslationInput], backend: Backend, options: DecodingOptions) -> [Result<Translation, Seq2SeqError>] {
    if inputs.isEmpty { return [] }
    if let all = try? backend.translate(inputs: inputs, options: options) { return all.map { .success($0) } }
    return inputs.map { s in
        Result { try backend.translate(inputs: [s], options: options)[0] }.mapError { $0 as? Seq2SeqError ?? .invalidInput("\($0)") }
    }
}

/// Lines from command-line arguments, a file, or standard input, numbered from 1.
final class LineSource {
    private var arguments: [String]
    private var index = 0
    private let reader: LineReader?

    init(arguments: [String], path: String?) throws {
        self.arguments = arguments
        reader = arguments.isEmpty ? try LineReader(path: path) : nil
    }

    /// Whether the last line returned was cut (see `LineReader.maxLineBytes`).
    var lastLineTooLong: Bool { reader?.lastLineTooLong ?? false }

    func next() -> (Int, [UInt8])? {
        if let reader {
            guard let bytes = reader.next() else { return nil }
            return (reader.lineNumber, bytes)
        }
        guard index < arguments.count else { return nil }
        index += 1
        return (index, Array(arguments[index - 1].utf8))
    }
}
