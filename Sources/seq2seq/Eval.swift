import ArgumentParser
import Seq2Seq
import Seq2SeqText
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Exact-match accuracy on a tab-separated file of source and expected output lines.",
        discussion: "Each line of --data is `source<TAB>expected`. Translations are compared with the expected text exactly.")

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .long, help: "Tab-separated source and expected output, one pair a line.")
    var data: String

    @Option(name: .long, help: "Beam size K (1 = greedy).")
    var beamSize: Int = 1

    @Option(name: .long, help: "Sentences decoded together.")
    var batchSize: Int = 64

    @Option(name: .long, help: "Print up to this many wrong translations.")
    var showErrors: Int = 5

    @Option(name: .long, help: "With a reduced compute type: the float32 model to compare against (default: --model in float32; needed for a stored quantized model).")
    var floatModel: String?

    func run() throws {
        let model = modelOptions.load()
        let modelText = modelOptions.loadText(model)
        let reader: LineReader
        do { reader = try LineReader(path: data) } catch {
            Output.error("\(error)")
            throw ExitCode(2)
        }
        var pairs: [(line: Int, source: String, expected: String)] = []
        while let bytes = reader.next() {
            guard let text = String(validating: bytes, as: UTF8.self) else {
                Output.error("\(data) line \(reader.lineNumber): not valid UTF-8")
                throw ExitCode(2)
            }
            let parts = text.split(separator: "\t", omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                Output.error("\(data) line \(reader.lineNumber): expected `source<TAB>expected`")
                throw ExitCode(2)
            }
            pairs.append((reader.lineNumber, String(parts[0]), String(parts[1])))
        }
        let translator = Translator(model: model, maxBatchSize: batchSize)
        let options = DecodingOptions(beamSize: beamSize)
        let t0 = now()
        var correct = 0, shown = 0
        let sources = try pairs.map { try modelText.sourceIDs(for: $0.source) }
        let results = try translator.translate(sources, options: options)
        for (pair, result) in zip(pairs, results) {
            let got = try modelText.detokenize(result.best.ids)
            if got == pair.expected {
                correct += 1
            } else if shown < showErrors {
                shown += 1
                print("line \(pair.line): \(pair.source) -> \(got) (expected \(pair.expected))")
            }
        }
        let seconds = now() - t0
        let pct = pairs.isEmpty ? 0 : 100 * Double(correct) / Double(pairs.count)
        let types = Set(model.computeTypes.values).subtracting([.float32])
        let typeNote = types.isEmpty ? "" : ", \(model.computePrecision)"
        print("exact match: \(correct)/\(pairs.count) = \(fmt(pct, 2))% (beam \(beamSize), \(fmt(seconds, 2)) s\(typeNote))")
        if !types.isEmpty {
            // The quality gate against the float32 model: the same directory in float32, or --float-model for a
            // stored quantized model (whose float32 load is its own dequantized weights).
            guard floatModel != nil || model.config.quantization == nil else {
                print("against float32: give the float model it was quantized from with --float-model DIR")
                return
            }
            var floatOptions = modelOptions
            if let floatModel { floatOptions.model = floatModel }
            let reference = ModelOptions.loadFloat32(like: floatOptions)
            let q = try QualityComparison.compare(reference: reference, candidate: model, sources: sources, options: options)
            print("against float32: identical output \(q.identical)/\(q.sentences) = \(fmt(100 * q.agreement, 2))%, mean |Δ log-prob| per token \(sci(q.meanAbsDeltaLogProb)) (max \(sci(q.maxAbsDeltaLogProb)), \(q.tokens) tokens)")
        }
    }
}

/// `x` as `d.dde±N` (three significant digits).
func sci(_ x: Double) -> String {
    guard x.isFinite, x != 0 else { return x == 0 ? "0" : "\(x)" }
    var e = Int((log10(abs(x))).rounded(.down))
    var m = x / pow(10, Double(e))
    if abs(m) >= 9.995 { m /= 10; e += 1 }
    return "\(fmt(m, 2))e\(e)"
}
