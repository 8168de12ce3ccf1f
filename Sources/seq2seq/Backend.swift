import ArgumentParser
import Seq2Seq
import Seq2SeqReference

/// What the commands decode with: the OpenBLAS engine or the naive reference.
protocol Backend {
    func translate(_ sources: [[Int]], options: DecodingOptions) throws -> [Translation]
    func translate(inputs: [TranslationInput], options: DecodingOptions) throws -> [Translation]
    func score(sources: [[Int]], targets: [[Int]]) throws -> [ScoreResult]
}

extension Translator: Backend {}

/// The naive Swift reference (MODEL.md's equations as loops); it decodes one sentence at a time.
extension ReferenceTranslator: Backend {}

enum BackendKind: String, ExpressibleByArgument, CaseIterable { case engine, reference }

func makeBackend(_ kind: BackendKind, model: Seq2SeqModel, batchSize: Int) -> Backend {
    switch kind {
    case .engine: return Translator(model: model, maxBatchSize: batchSize)
    case .reference: return ReferenceTranslator(model: model)
    }
}
