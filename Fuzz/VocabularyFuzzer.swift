// Fuzz target: the bytes are a vocabulary file, read by Vocabulary(contentsOf:); the same text is split
// by both tokenizers, looked up, and joined again, and Vocabulary(tokens:) is built from the tokens.

@_cdecl("LLVMFuzzerTestOneInput")
public func vocabularyFuzzer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let path = FuzzSupport.scratch + "/fuzz.vocab"
    FuzzSupport.write(path, bytes)
    if let vocab = try? Vocabulary(contentsOf: path) {
        // Every token maps back to the first line holding exactly its bytes (not merely a canonically equivalent string).
        for (i, t) in vocab.tokens.enumerated() {
            guard let id = vocab.id(of: t), id <= i, let u = vocab.token(for: id), Array(u.utf8) == Array(t.utf8),
                  !vocab.tokens[..<id].contains(where: { Array($0.utf8) == Array(t.utf8) })
            else { fatalError("token \(i) does not round-trip") }
            if t.utf8.contains(0x0A) { fatalError("token \(i) holds a line end") }
        }
        FuzzSupport.consume(vocab.token(for: -1))
        FuzzSupport.consume(vocab.token(for: vocab.count))
    }
    let text = String(decoding: bytes, as: UTF8.self)
    for tokenizer in ModelConfig.Tokenizer.allCases {
        let tokens = Tokenization.split(text, with: tokenizer)
        let vocab = Vocabulary(tokens: tokens)
        FuzzSupport.consume(tokens.map { vocab.id(of: $0) })
        FuzzSupport.consume(Tokenization.join(tokens, with: tokenizer))
    }
    return 0
}
