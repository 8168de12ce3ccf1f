import Seq2Seq
import Seq2SeqReference
import Testing

/// The engine against the naive reference on the format-2 grid (`ParityCombination.format2`): every value of
/// every format-2 key with every attention and cell it is allowed with, through the same checks as format 1's
/// grid (scores, greedy with attention and with min/max length, beam K = 3 and 5 with n-best, length penalty
/// and min length, over batches of mixed lengths). Beam sizes are capped at the ids `suppress_ids` leave
/// choosable, so some combinations search with exactly that many.
@Suite("Parity: engine vs reference, format 2")
struct ParityTests2 {
    /// Every (key value, attention) and (key value, cell) pair that MODEL.md allows.
    static func requiredPairs() -> Set<String> {
        let attentions = ModelConfig.Attention.allCases, cells = ModelConfig.Cell.allCases
        var features: [(String, (ModelConfig.Attention) -> Bool, (ModelConfig.Cell) -> Bool)] = []
        func add(_ f: String, attention: @escaping (ModelConfig.Attention) -> Bool = { _ in true },
                 cell: @escaping (ModelConfig.Cell) -> Bool = { _ in true }) {
            features.append((f, attention, cell))
        }
        add("encoder_hidden_size=other")
        add("bridge=copy_bidirectional")
        for v in ModelConfig.BridgeInput.allCases { add("bridge_input=\(v.rawValue)") }
        for v in ModelConfig.Activation.allCases { add("bridge_activation=\(v.rawValue)") }
        for v in ModelConfig.BridgeCell.allCases { add("bridge_cell=\(v.rawValue)", cell: { $0 == .lstm }) }
        add("decoder_input_feed=context", attention: { $0 == .bahdanau })
        add("decoder_input_feed=previous_output", attention: { $0 != .bahdanau })
        add("decoder_input_feed=summary", attention: { $0 == .none })
        add("decoder_input_feed=none", attention: { $0 != .bahdanau })
        for v in ["tanh", "none"] { add("combine_activation=\(v)", attention: { $0.isLuong }) }
        for v in ["none", "relu"] { add("decoder_embedding_activation=\(v)") }
        for v in ["none", "untied", "tied"] { add("output_projection=\(v)") }
        for v in ["true", "false"] { add("source_append_eos=\(v)") }
        for v in ["none", "some"] { add("suppress_ids=\(v)") }
        for v in ["bos_eq_eos", "no_pad", "no_unk"] { add("special_tokens=\(v)") }
        var pairs = Set<String>()
        for (f, attentionOK, cellOK) in features {
            for a in attentions where attentionOK(a) { pairs.insert("\(f) with \(a.rawValue)") }
            for c in cells where cellOK(c) { pairs.insert("\(f) with \(c.rawValue)") }
        }
        return pairs
    }

    @Test("The format-2 grid covers every key value with every attention and every cell")
    func gridCoversEverything() {
        let all = ParityCombination.format2
        #expect(all.count == 5 * 3 * 4)
        for c in all {
            #expect(throws: Never.self, "\(c)") { try c.config.validate() }
            #expect(c.config.usesFormat2, "\(c)")
        }
        var present = Set<String>()
        for c in all {
            for f in c.format2Features {
                present.insert("\(f) with \(c.config.attention.rawValue)")
                present.insert("\(f) with \(c.config.cell.rawValue)")
            }
        }
        let missing = Self.requiredPairs().subtracting(present)
        #expect(missing.isEmpty, "pairs the grid lacks: \(missing.sorted())")
        // Searches at the limit of what suppress_ids leave choosable, and eos itself suppressed.
        #expect(all.contains { !$0.config.suppressIDs.isEmpty && $0.config.choosableIDs <= 5 })
        #expect(all.contains { $0.config.suppressIDs.contains($0.config.specialTokens.eos) })
        #expect(Set(all.map(\.config.encoderLayers)) == [1, 2, 3] && Set(all.map(\.config.decoderLayers)) == [1, 2, 3])
        #expect(all.contains { $0.config.tieTargetEmbeddings && $0.config.outputProjectionSize == nil })
    }

    /// A beam size no larger than the ids the model lets a search choose.
    static func beam(_ k: Int, _ c: ModelConfig) -> Int { c.suppressIDs.isEmpty ? k : min(k, c.choosableIDs) }

    @Test("Scores agree (format 2)", arguments: ParityCombination.format2)
    func scores(_ combination: ParityCombination) throws {
        let check = try ParityCheck(combination)
        let c = combination.config
        var rng = SeededRandom(seed: combination.seed ^ 0x5C0)
        let sources = ParityTests.sources(4, c, &rng)
        let targets = sources.indices.map { n in
            (0..<(n == 2 ? 0 : Int.random(in: 1...8, using: &rng))).map { _ in Int.random(in: 0..<c.targetVocabSize, using: &rng) }
        }
        try check.scores(sources, targets)
    }

    @Test("Greedy search agrees (format 2)", arguments: ParityCombination.format2)
    func greedy(_ combination: ParityCombination) throws {
        let check = try ParityCheck(combination)
        var rng = SeededRandom(seed: combination.seed ^ 0x96E)
        let sources = ParityTests.sources(4, combination.config, &rng)
        try check.translations(sources, DecodingOptions(returnAttention: true), "greedy")
        try check.translations(sources, DecodingOptions(beamSize: 1, maxLength: 6, minLength: 3), "greedy min 3 max 6")
    }

    @Test("Beam search agrees (format 2)", arguments: ParityCombination.format2)
    func beam(_ combination: ParityCombination) throws {
        let check = try ParityCheck(combination)
        let c = combination.config
        var rng = SeededRandom(seed: combination.seed ^ 0xBEA)
        let sources = ParityTests.sources(3, c, &rng)
        let alpha = [0.0, 0.6, 1.0, 1.3].randomElement(using: &rng)!
        let k3 = Self.beam(3, c), k5 = Self.beam(5, c)
        try check.translations(sources, DecodingOptions(beamSize: k3, nBest: k3, lengthPenalty: alpha, maxLength: 12,
                                                        returnAttention: true), "beam \(k3) α \(alpha)")
        try check.translations(sources, DecodingOptions(beamSize: k5, nBest: min(2, k5), lengthPenalty: 1.0, maxLength: 8,
                                                        minLength: 2), "beam \(k5) min 2 max 8")
    }
}

extension ModelConfig {
    /// MODEL.md: the ids a search may choose, `Vt` less `suppress_ids` and `eos`.
    var choosableIDs: Int { targetVocabSize - Set(suppressIDs).union([specialTokens.eos]).count }
}
