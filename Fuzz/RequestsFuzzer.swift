// Fuzz target: the bytes are one JSONL request line, parsed by Requests.translateSource and
// Requests.scorePair against two small golden models (whitespace and characters tokenizers);
// an accepted request is translated (greedy and beam, short) or scored.

private let models: [Seq2SeqModel] = [
    "g08_rnn_bahdanau_copy_bad_inputs", "g07_gru_bahdanau_linear_bi_characters",
].map { try! Seq2SeqModel(directory: FuzzSupport.golden($0)) }

@_cdecl("LLVMFuzzerTestOneInput")
public func requestsFuzzer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let line = UnsafeRawBufferPointer(start: data, count: size)
    for model in models {
        let translator = Translator(model: model)
        if let ids = try? Requests.translateSource(line, model: model) {
            FuzzSupport.consume(try? translator.translate([ids], options: DecodingOptions(maxLength: 3)))
            FuzzSupport.consume(try? translator.translate([ids, [4]], options: DecodingOptions(beamSize: 2, maxLength: 3, returnAttention: true)))
        }
        if let (source, target) = try? Requests.scorePair(line, model: model) {
            FuzzSupport.consume(try? translator.score(sources: [source], targets: [target]))
        }
    }
    return 0
}
