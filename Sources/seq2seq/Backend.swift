import ArgumentParser
import Seq2Seq

/// What the commands decode with: the OpenBLAS engine or the naive reference.
protocol Backend {
    func translate(_ sources: [[Int]], options: DecodingOptions) throws -> [Translation]
    func score(sources: [[Int]], targets: [[Int]]) throws -> [ScoreResult]
}

extension Translator: Backend {}

enum BackendKind: String, ExpressibleByArgument, CaseIterable { case engine }

func makeBackend(_ kind: BackendKind, model: Seq2SeqModel, batchSize: Int) -> Backend {
    switch kind {
    case .engine: return Translator(model: model, maxBatchSize: batchSize)
    }
}
