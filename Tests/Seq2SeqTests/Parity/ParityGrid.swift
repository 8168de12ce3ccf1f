import Seq2Seq

/// One point of the parity grid: a configuration, drawn from a seed, and the seed of its weights and inputs.
/// Its description names everything needed to replay it.
struct ParityCombination: Sendable, CustomStringConvertible {
    let index: Int
    let config: ModelConfig
    let seed: UInt64

    var description: String {
        let c = config
        return "#\(index) \(c.cell.rawValue)/\(c.attention.rawValue)/\(c.bridge.rawValue)/"
            + (c.bidirectionalEncoder ? "bi" : "uni")
            + " layers \(c.encoderLayers)-\(c.decoderLayers)"
            + " E \(c.embeddingSize) H \(c.hiddenSize) A \(c.attentionSize.map(String.init) ?? "-")"
            + " Vs \(c.sourceVocabSize) Vt \(c.targetVocabSize)"
            + (c.tieTargetEmbeddings ? " tied" : "")
            + " eos \(c.specialTokens.eos)" + (c.usesFormat2 ? " " + format2Summary : "") + " seed \(seed)"
    }

    /// The format-2 keys that differ from their defaults (MODEL.md "Format version 2").
    var format2Summary: String {
        let c = config
        var parts: [String] = []
        if let he = c.encoderHiddenSize { parts.append("He \(he)") }
        if c.bridge == .linear {
            parts.append("bridge \(c.bridgeInput.rawValue)/\(c.bridgeActivation.rawValue)" + (c.cell == .lstm ? "/cell \(c.bridgeCell.rawValue)" : ""))
        }
        parts.append("feed \(c.inputFeed.rawValue)")
        if c.attention.isLuong { parts.append("combine \(c.combineActivation.rawValue)") }
        if c.decoderEmbeddingActivation != .none { parts.append("emb \(c.decoderEmbeddingActivation.rawValue)") }
        if let o = c.outputProjectionSize { parts.append("O \(o)") }
        if c.sourceAppendEOS { parts.append("+eos") }
        if !c.suppressIDs.isEmpty { parts.append("suppress \(c.suppressIDs)") }
        let s = c.specialTokens
        parts.append("special pad \(s.pad.map(String.init) ?? "-") bos \(s.bos) unk \(s.unk.map(String.init) ?? "-")")
        return parts.joined(separator: " ")
    }

    /// Every cell × attention × bridge × direction MODEL.md allows (copy needs a unidirectional encoder and
    /// equal layers; luong_dot needs `D = H`, so a unidirectional encoder), each with sizes drawn from its
    /// seed: layers 1–3, `E`, `H`, `A` among 1, 3, 13, 33, vocabularies among 5, 13, 33.
    static let all: [ParityCombination] = {
        var out: [ParityCombination] = []
        for cell in ModelConfig.Cell.allCases {
            for attention in ModelConfig.Attention.allCases {
                for bridge in ModelConfig.Bridge.allCases where bridge != .linear {  // format 1's bridges
                    for bidirectional in [false, true] {
                        if bridge == .copy && bidirectional { continue }
                        if attention == .luongDot && bidirectional { continue }
                        let index = out.count
                        let seed = 0x5EED_0000 + UInt64(index)
                        out.append(ParityCombination(index: index, config: draw(cell, attention, bridge, bidirectional, seed: seed),
                                                     seed: seed))
                    }
                }
            }
        }
        return out
    }()

    private static func draw(_ cell: ModelConfig.Cell, _ attention: ModelConfig.Attention, _ bridge: ModelConfig.Bridge,
                             _ bidirectional: Bool, seed: UInt64) -> ModelConfig {
        var rng = SeededRandom(seed: seed ^ 0xC0FF_EE00)
        let sizes = [1, 3, 13, 33]
        let vocabularies = [5, 13, 33]
        let H = sizes.randomElement(using: &rng)!
        // Keep the big sizes shallow, so that the whole grid runs in seconds in a debug build.
        let maxLayers = H == 33 ? 2 : 3
        let encoderLayers = Int.random(in: 1...maxLayers, using: &rng)
        let decoderLayers = bridge == .copy ? encoderLayers : Int.random(in: 1...maxLayers, using: &rng)
        var E = sizes.randomElement(using: &rng)!
        let tie = Bool.random(using: &rng)
        if tie { E = H }
        var special = ModelConfig.SpecialTokens()
        if Int.random(in: 0..<4, using: &rng) == 0 {
            special = ModelConfig.SpecialTokens(pad: 3, bos: 2, eos: 4, unk: 0)
        }
        return ModelConfig(
            cell: cell,
            sourceVocabSize: vocabularies.randomElement(using: &rng)!,
            targetVocabSize: vocabularies.randomElement(using: &rng)!,
            embeddingSize: E, hiddenSize: H,
            encoderLayers: encoderLayers, decoderLayers: decoderLayers,
            bidirectionalEncoder: bidirectional, bridge: bridge, attention: attention,
            attentionSize: attention == .bahdanau || attention == .luongConcat ? sizes.randomElement(using: &rng)! : nil,
            tieTargetEmbeddings: tie, specialTokens: special)
    }
}
