import Seq2Seq
import Seq2SeqReference
import Testing

/// The engine against the naive reference (MODEL.md's equations as loops) on random-weight models: every
/// cell × attention × bridge × direction MODEL.md allows, with odd sizes and 1–3 layers, greedy, beam
/// (K = 1, 3, 5) and scoring, over batches of mixed lengths. Ids must match (near-ties excepted), log-probs and
/// attention agree within `ParityTolerance`. A failure names the combination and its seed.
@Suite("Parity: engine vs reference")
struct ParityTests {
    /// A batch of `count` sources of mixed lengths (one of length 1) and ids drawn from `rng`.
    static func sources(_ count: Int, _ c: ModelConfig, _ rng: inout SeededRandom) -> [[Int]] {
        (0..<count).map { i in
            let S = i == 1 ? 1 : Int.random(in: 2...7, using: &rng)
            return (0..<S).map { _ in Int.random(in: 0..<c.sourceVocabSize, using: &rng) }
        }
    }

    @Test("The grid covers every allowed cell × attention × bridge × direction")
    func gridCoversEverything() {
        let all = ParityCombination.all
        // 3 cells × (5 attentions × 3 bridges × 2 directions − 5 copy+bi − 2 luong_dot+bi)
        #expect(all.count == 3 * (30 - 5 - 2))
        for c in all { #expect(throws: Never.self, "\(c)") { try c.config.validate() } }
        let sizes = Set(all.flatMap { [$0.config.embeddingSize, $0.config.hiddenSize] + ($0.config.attentionSize.map { [$0] } ?? []) })
        #expect(sizes == [1, 3, 13, 33])
        #expect(Set(all.map(\.config.encoderLayers)) == [1, 2, 3])
        #expect(Set(all.map(\.config.decoderLayers)) == [1, 2, 3])
        #expect(all.contains { $0.config.tieTargetEmbeddings })
    }

    @Test("Scores agree", arguments: ParityCombination.all)
    func scores(_ combination: ParityCombination) throws {
        let check = try ParityCheck(combination)
        let c = combination.config
        var rng = SeededRandom(seed: combination.seed ^ 0x5C0)
        let sources = Self.sources(4, c, &rng)
        // Targets of mixed lengths, one empty, with the special ids among the draws.
        let targets = sources.indices.map { n in
            (0..<(n == 2 ? 0 : Int.random(in: 1...8, using: &rng))).map { _ in Int.random(in: 0..<c.targetVocabSize, using: &rng) }
        }
        try check.scores(sources, targets)
    }

    @Test("Greedy search agrees (K = 1, attention, min and max length)", arguments: ParityCombination.all)
    func greedy(_ combination: ParityCombination) throws {
        let check = try ParityCheck(combination)
        var rng = SeededRandom(seed: combination.seed ^ 0x96E)
        let sources = Self.sources(4, combination.config, &rng)
        try check.translations(sources, DecodingOptions(returnAttention: true), "greedy")
        try check.translations(sources, DecodingOptions(beamSize: 1, maxLength: 6, minLength: 3), "greedy min 3 max 6")
    }

    @Test("Beam search agrees (K = 3 and 5, n-best, length penalty, min length)", arguments: ParityCombination.all)
    func beam(_ combination: ParityCombination) throws {
        let check = try ParityCheck(combination)
        var rng = SeededRandom(seed: combination.seed ^ 0xBEA)
        let sources = Self.sources(3, combination.config, &rng)
        let alpha = [0.0, 0.6, 1.0, 1.3].randomElement(using: &rng)!
        try check.translations(sources, DecodingOptions(beamSize: 3, nBest: 3, lengthPenalty: alpha, maxLength: 12,
                                                        returnAttention: true), "beam 3 α \(alpha)")
        try check.translations(sources, DecodingOptions(beamSize: 5, nBest: 2, lengthPenalty: 1.0, maxLength: 8, minLength: 2),
                               "beam 5 min 2 max 8")
    }
}

extension ParityCombination: CustomTestStringConvertible {
    var testDescription: String { description }
}
