import ArgumentParser
import Seq2Seq
import Seq2SeqText

struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score target sentences given sources (teacher forcing).",
        discussion: """
            Each input line is {"source_ids": [..], "target_ids": [..]} (or "source" / "target" text); each output \
            line is {"token_log_probs": [..], "log_prob": x}. A bad line is answered by {"error": "line N: ..."}.
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .long, help: "Read lines from this file instead of standard input.")
    var input: String?

    @Option(name: .long, help: "Sentences scored together.")
    var batchSize: Int = 32

    @Option(name: .long, help: "engine (OpenBLAS) or reference (the naive Swift equations).")
    var backend: BackendKind = .engine

    @Flag(name: .long, help: "No progress line on standard error (shown only when it is a terminal).")
    var quiet = false

    func validate() throws {
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
    }

    func run() throws {
        Output.ignoreSIGPIPE()
        let model = modelOptions.load()
        let text = modelOptions.loadText(model)
        let backend = makeBackend(backend, model: model, batchSize: batchSize)
        let reader: LineReader
        do { reader = try LineReader(path: input) } catch {
            Output.error("\(error)")
            throw ExitCode(2)
        }
        let progress = Progress.start(enabled: !quiet, path: input, label: "score")
        defer { progress?.finish() }
        var failed = false
        var done = false
        while !done {
            var requests: [(line: Int, result: Result<([Int], [Int]), Seq2SeqError>)] = []
            while requests.count < batchSize * 8 {
                guard let bytes = reader.next() else { done = true; break }
                if reader.lastLineTooLong {
                    requests.append((reader.lineNumber, .failure(.invalidInput("line longer than \(LineReader.maxLineBytes >> 20) MiB"))))
                    continue
                }
                let r = Result { try bytes.withUnsafeBytes { try Requests.scorePair($0, model: model, sourceText: text.sourceIDs(for:), targetText: text.targetIDs(for:)) } }
                requests.append((reader.lineNumber, r.map { ($0.source, $0.target) }.mapError { $0 as? Seq2SeqError ?? .invalidInput("\($0)") }))
            }
            let good = requests.compactMap { try? $0.result.get() }
            var results: [Result<ScoreResult, Seq2SeqError>]
            if let all = try? backend.score(sources: good.map(\.0), targets: good.map(\.1)) {
                results = all.map { .success($0) }
            } else {
                results = good.map { pair in
                    Result { try backend.score(sources: [pair.0], targets: [pair.1])[0] }
                        .mapError { $0 as? Seq2SeqError ?? .invalidInput("\($0)") }
                }
            }
            progress?.add(lines: requests.count, sentences: good.count, tokens: good.reduce(0) { $0 + $1.1.count })
            var k = 0
            for request in requests {
                let outcome: Result<ScoreResult, Seq2SeqError>
                switch request.result {
                case .failure(let e): outcome = .failure(e)
                case .success: outcome = results[k]; k += 1
                }
                switch outcome {
                case .failure(let e):
                    failed = true
                    Output.line(JSONWriter.error(line: request.line, e.message))
                case .success(let s):
                    Output.line(JSONWriter.object([("token_log_probs", JSONWriter.doubles(s.tokenLogProbs)),
                                                   ("log_prob", JSONWriter.number(s.logProb))]))
                }
            }
        }
        if failed { throw ExitCode(1) }
    }
}
