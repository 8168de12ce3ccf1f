import Foundation
@testable import Seq2Seq
import Testing

/// Padded positions take no part: a sentence decoded in a batch of mixed lengths gives what it gives alone.
@Suite("Batches")
struct BatchTests {
    static let configs: [(String, ModelConfig)] = [
        ("gru bahdanau copy", ModelConfig(cell: .gru, sourceVocabSize: 23, targetVocabSize: 19, embeddingSize: 7, hiddenSize: 9,
                                          bridge: .copy, attention: .bahdanau, attentionSize: 5)),
        ("lstm luong_general linear bi 2/2", ModelConfig(cell: .lstm, sourceVocabSize: 17, targetVocabSize: 29, embeddingSize: 6,
                                                         hiddenSize: 8, encoderLayers: 2, decoderLayers: 2, bidirectionalEncoder: true,
                                                         bridge: .linearTanh, attention: .luongGeneral)),
        ("rnn none zeros bi", ModelConfig(cell: .rnnTanh, sourceVocabSize: 11, targetVocabSize: 13, embeddingSize: 5, hiddenSize: 6,
                                          bidirectionalEncoder: true, bridge: .zeros, attention: .none)),
        ("gru luong_concat linear bi 3/1", ModelConfig(cell: .gru, sourceVocabSize: 31, targetVocabSize: 37, embeddingSize: 13,
                                                       hiddenSize: 3, encoderLayers: 3, decoderLayers: 1, bidirectionalEncoder: true,
                                                       bridge: .linearTanh, attention: .luongConcat, attentionSize: 4)),
        ("lstm luong_dot copy tied 2/2", ModelConfig(cell: .lstm, sourceVocabSize: 21, targetVocabSize: 25, embeddingSize: 10,
                                                     hiddenSize: 10, encoderLayers: 2, decoderLayers: 2, bridge: .copy,
                                                     attention: .luongDot, tieTargetEmbeddings: true)),
    ]

    static func sources(_ vocab: Int, seed: UInt64) -> [[Int]] {
        var rng = SeededRandom(seed: seed)
        return [1, 9, 4, 17, 2, 9, 12, 1, 6].map { n in (0..<n).map { _ in Int(rng.next() % UInt64(vocab)) } }
    }

    @Test("Each sentence of a mixed-length batch equals the sentence decoded alone", arguments: 0..<configs.count)
    func invariance(_ index: Int) throws {
        let (name, config) = Self.configs[index]
        let dir = try makeRandomModel(config, seed: UInt64(100 + index))
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let model = try Seq2SeqModel(directory: dir)
        let srcs = Self.sources(config.sourceVocabSize, seed: UInt64(index))
        let translator = Translator(model: model)
        for options in [DecodingOptions(returnAttention: true),
                        DecodingOptions(beamSize: 4, nBest: 3, lengthPenalty: 0.7, returnAttention: true)] {
            let batch = try translator.translate(srcs, options: options)
            for (i, s) in srcs.enumerated() {
                let alone = try translator.translate([s], options: options)[0]
                try #require(batch[i].hypotheses.count == alone.hypotheses.count, "\(name) sentence \(i)")
                for (a, b) in zip(batch[i].hypotheses, alone.hypotheses) {
                    #expect(a.ids == b.ids, "\(name) K=\(options.beamSize) sentence \(i): ids \(a.ids) in the batch, \(b.ids) alone")
                    guard a.ids == b.ids else { break }
                    #expect(abs(a.logProb - b.logProb) <= 1e-5, "\(name) K=\(options.beamSize) sentence \(i): log_prob \(a.logProb) vs \(b.logProb)")
                    if let x = a.attention, let y = b.attention {
                        let d = zip(x.joined(), y.joined()).map { abs(Double($0) - Double($1)) }.max() ?? 0
                        #expect(d <= 1e-5, "\(name) sentence \(i): attention differs by \(d)")
                    }
                }
            }
            // Batch size 1 chunks (the translator's own splitting) agree too.
            translator.maxBatchSize = 2
            let chunked = try translator.translate(srcs, options: options)
            translator.maxBatchSize = 64
            for i in srcs.indices { #expect(chunked[i].best.ids == batch[i].best.ids, "\(name): chunked batches differ at \(i)") }
        }
        let targets = srcs.map { s in s.map { $0 % config.targetVocabSize } }
        let scored = try translator.score(sources: srcs, targets: targets)
        for i in srcs.indices {
            let alone = try translator.score(sources: [srcs[i]], targets: [targets[i]])[0]
            #expect(abs(scored[i].logProb - alone.logProb) <= 1e-5, "\(name): score of sentence \(i) depends on the batch")
        }
    }

    @Test("Eight threads sharing one model get the serial results")
    func concurrency() async throws {
        let (_, config) = Self.configs[1]
        let dir = try makeRandomModel(config, seed: 7)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let model = try Seq2SeqModel(directory: dir)
        let batches = (0..<8).map { Self.sources(config.sourceVocabSize, seed: UInt64(50 + $0)) }
        let options = DecodingOptions(beamSize: 3, nBest: 2, returnAttention: true)
        let serial = try batches.map { try Translator(model: model).translate($0, options: options) }
        let parallel = try await withThrowingTaskGroup(of: (Int, [Translation]).self) { group in
            for (i, b) in batches.enumerated() {
                group.addTask { (i, try Translator(model: model).translate(b, options: options)) }
            }
            var out = [[Translation]](repeating: [], count: batches.count)
            for try await (i, t) in group { out[i] = t }
            return out
        }
        for i in batches.indices { #expect(parallel[i] == serial[i], "batch \(i) differs when run concurrently") }
    }

    @Test("The async API gives what a translator gives")
    func asyncAPI() async throws {
        let (_, config) = Self.configs[3]
        let dir = try makeRandomModel(config, seed: 11)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let model = try Seq2SeqModel(directory: dir)
        let srcs = Self.sources(config.sourceVocabSize, seed: 4)
        let options = DecodingOptions(beamSize: 2, returnAttention: true)
        async let a = model.translate(srcs, options: options)
        async let b = model.score(sources: srcs, targets: srcs.map { $0.map { $0 % config.targetVocabSize } })
        let (translations, scores) = try await (a, b)
        let translator = Translator(model: model)
        #expect(translations == (try translator.translate(srcs, options: options)))
        #expect(scores == (try translator.score(sources: srcs, targets: srcs.map { $0.map { $0 % config.targetVocabSize } })))
    }

    @Test("A warmed-up translator allocates no more working memory for a batch of the same shape")
    func workspaceReuse() throws {
        let (_, config) = Self.configs[0]
        let dir = try makeRandomModel(config, seed: 3)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let translator = Translator(model: try Seq2SeqModel(directory: dir))
        let srcs = Self.sources(config.sourceVocabSize, seed: 1)
        let options = DecodingOptions(beamSize: 5, returnAttention: true)
        _ = try translator.translate(srcs, options: options)
        _ = try translator.translate(srcs, options: options)
        let reserved = translator.workspaceBytes
        _ = try translator.translate(srcs, options: options)
        #expect(translator.workspaceBytes == reserved)
    }
}

@Suite("Working-memory limit")
struct WorkspaceLimitTests {
    @Test("A beam as large as a big vocabulary is refused before anything is allocated")
    func hugeBeam() throws {
        let config = ModelConfig(cell: .gru, sourceVocabSize: 7, targetVocabSize: 40_000, embeddingSize: 2, hiddenSize: 2,
                                 bridge: .zeros, attention: .none)
        let dir = try makeRandomModel(config, seed: 9)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let translator = Translator(model: try Seq2SeqModel(directory: dir))
        #expect(throws: Seq2SeqError.self) {
            _ = try translator.translate([[4, 5]], options: DecodingOptions(beamSize: 30_000))
        }
        #expect(translator.workspaceBytes < 64 << 20)
        // A reasonable request on the same model still works.
        #expect(try translator.translate([[4, 5]], options: DecodingOptions(beamSize: 3, maxLength: 4))[0].best.ids.count <= 4)
    }
}
