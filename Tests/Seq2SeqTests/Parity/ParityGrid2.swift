import Seq2Seq

/// The format-2 parity grid (MODEL.md "Format version 2"): not the cross product of every key, but a covering
/// design in which every value of every format-2 key meets every attention and every cell it is allowed with.
///
/// For each attention × cell there are four variants. Variants 0–2 use the `linear` bridge with
/// `bridge_input` summary, layer, stacked (in that order), `bridge_activation` and (lstm) `bridge_cell`
/// rotated so that each (attention, cell) sees all three of each; variant 3 is the `copy` bridge from a
/// bidirectional encoder with `He = H/2`. The other keys rotate over the four variants with offsets that
/// depend on the attention and the cell (some on `variant / 2`, so that two-valued keys do not move in
/// lockstep with the direction), so every (value, attention) and (value, cell) pair occurs
/// (`ParityTests2.gridCoversEverything` checks it). Sizes and the ids that `suppress_ids` and
/// `detokenize_skip_ids` hold are drawn from the combination's seed.
extension ParityCombination {
    static let format2: [ParityCombination] = {
        var out: [ParityCombination] = []
        for (a, attention) in ModelConfig.Attention.allCases.enumerated() {
            for (c, cell) in ModelConfig.Cell.allCases.enumerated() {
                for variant in 0..<4 {
                    let index = out.count
                    let seed = 0x5EED_2000 + UInt64(index)
                    out.append(ParityCombination(index: index, config: draw2(cell, c, attention, a, variant, seed: seed),
                                                 seed: seed))
                }
            }
        }
        return out
    }()

    /// The special-token layouts the grid rotates over: format 1's default; `bos = eos` without pad and unk;
    /// `bos = eos = 0` with unk but no pad; no unk with every id moved.
    static let specialLayouts: [ModelConfig.SpecialTokens] = [
        ModelConfig.SpecialTokens(),
        ModelConfig.SpecialTokens(pad: nil, bos: 1, eos: 1, unk: nil),
        ModelConfig.SpecialTokens(pad: nil, bos: 0, eos: 0, unk: 3),
        ModelConfig.SpecialTokens(pad: 3, bos: 2, eos: 4, unk: nil),
    ]

    private static func draw2(_ cell: ModelConfig.Cell, _ c: Int, _ attention: ModelConfig.Attention, _ a: Int,
                              _ variant: Int, seed: UInt64) -> ModelConfig {
        var rng = SeededRandom(seed: seed ^ 0xF2F2_0000)
        let copyBridge = variant == 3
        let bidirectional = copyBridge || (variant + a + c) % 2 == 0
        // luong_dot needs D = H, and so does copy: a bidirectional encoder then has He = H/2.
        let halve = copyBridge || (attention == .luongDot && bidirectional)
        let H = halve ? [2, 6, 14].randomElement(using: &rng)! : [1, 3, 13, 33].randomElement(using: &rng)!
        var He: Int? = nil
        if halve {
            He = H / 2
        } else if (variant + c) % 2 == 1 && attention != .luongDot {
            He = [1, 3, 7, 13].filter { $0 != H }.randomElement(using: &rng)!
        }
        let maxLayers = H >= 13 ? 2 : 3
        let encoderLayers = Int.random(in: 1...maxLayers, using: &rng)
        let bridgeInput = ModelConfig.BridgeInput.allCases[variant % 3]
        let sameLayers = copyBridge || bridgeInput == .layer
        let decoderLayers = sameLayers ? encoderLayers : Int.random(in: 1...maxLayers, using: &rng)

        let feeds: [ModelConfig.InputFeed]
        switch attention {
        case .bahdanau: feeds = [.context]
        case .none: feeds = [.summary, .previousOutput, .embeddingOnly]
        case .luongDot, .luongGeneral, .luongConcat: feeds = [.previousOutput, .embeddingOnly]
        }
        // Output projection: none, untied O, or tied (E = O); without one, sometimes tied with E = H.
        let projection = (variant + a) % 3
        let O = projection == 0 ? nil : [1, 5, 13].randomElement(using: &rng)!
        var E = [1, 3, 13].randomElement(using: &rng)!
        var tie = false
        if projection == 2 {
            E = O!
            tie = true
        } else if projection == 0 && Bool.random(using: &rng) {
            E = H
            tie = true
        }
        let special = specialLayouts[(variant + a + 2 * c) % 4]
        let suppress = (variant / 2 + a) % 2 == 0
        let vocabularies = suppress ? [13, 33] : [5, 13, 33]
        let Vs = vocabularies.randomElement(using: &rng)!, Vt = vocabularies.randomElement(using: &rng)!
        var suppressIDs: [Int] = []
        if suppress {
            // A few ids, or so many that exactly 3 to 5 stay choosable (beam sizes at the limit); eos among
            // them now and then (no hypothesis can end before max_length).
            let many = Int.random(in: 0..<3, using: &rng) == 0
            var pool = Array(0..<Vt)
            if many || Bool.random(using: &rng) { pool.removeAll { $0 == special.eos } }
            pool.shuffle(using: &rng)
            // With `many`, eos stays out and Vt − count − 1 = 3…5 ids stay choosable.
            let count = many ? Vt - 1 - Int.random(in: 3...5, using: &rng) : Int.random(in: 1...3, using: &rng)
            suppressIDs = Array(pool.prefix(count)).sorted()
        }
        let skip = (0..<Int.random(in: 0...2, using: &rng)).map { _ in Int.random(in: 0..<Vt, using: &rng) }
        let defaults = Bool.random(using: &rng)
            ? ModelConfig.DecodingDefaults(beamSize: Int.random(in: 1...3, using: &rng), minLength: Int.random(in: 0...2, using: &rng))
            : ModelConfig.DecodingDefaults()
        return ModelConfig(
            cell: cell, sourceVocabSize: Vs, targetVocabSize: Vt, embeddingSize: E, hiddenSize: H,
            encoderLayers: encoderLayers, decoderLayers: decoderLayers, bidirectionalEncoder: bidirectional,
            bridge: copyBridge ? .copy : .linear, attention: attention,
            attentionSize: attention == .bahdanau || attention == .luongConcat ? [1, 3, 13].randomElement(using: &rng)! : nil,
            tieTargetEmbeddings: tie, specialTokens: special, encoderHiddenSize: He,
            bridgeInput: copyBridge ? .summary : bridgeInput,
            bridgeActivation: copyBridge ? .tanh : ModelConfig.Activation.allCases[(variant + a + c) % 3],
            bridgeCell: !copyBridge && cell == .lstm ? ModelConfig.BridgeCell.allCases[(variant + a) % 3] : .zeros,
            decoderInputFeed: feeds[(variant + c) % feeds.count],
            combineActivation: attention.isLuong ? [.tanh, .none][(variant / 2 + c) % 2] : .tanh,
            decoderEmbeddingActivation: [.none, .relu][(variant / 2 + a + c) % 2],
            outputProjectionSize: O, sourceAppendEOS: (variant + c) % 2 == 1, suppressIDs: suppressIDs,
            detokenizeSkipIDs: Array(Set(skip)).sorted(), decodingDefaults: defaults)
    }

    /// The format-2 key values a configuration uses, as `key=value` labels (for the coverage test).
    var format2Features: Set<String> {
        let c = config
        var f: Set<String> = [
            "decoder_input_feed=\(c.inputFeed.rawValue)",
            "decoder_embedding_activation=\(c.decoderEmbeddingActivation.rawValue)",
            "source_append_eos=\(c.sourceAppendEOS)",
            "output_projection=\(c.outputProjectionSize == nil ? "none" : c.tieTargetEmbeddings ? "tied" : "untied")",
            "suppress_ids=\(c.suppressIDs.isEmpty ? "none" : "some")",
        ]
        if c.encoderHiddenSize != nil && c.encoderHiddenSize != c.hiddenSize { f.insert("encoder_hidden_size=other") }
        if c.attention.isLuong { f.insert("combine_activation=\(c.combineActivation.rawValue)") }
        if c.bridge == .copy && c.bidirectionalEncoder { f.insert("bridge=copy_bidirectional") }
        if c.bridge == .linear {
            f.insert("bridge_input=\(c.bridgeInput.rawValue)")
            f.insert("bridge_activation=\(c.bridgeActivation.rawValue)")
            if c.cell == .lstm { f.insert("bridge_cell=\(c.bridgeCell.rawValue)") }
        }
        let s = c.specialTokens
        if s.bos == s.eos { f.insert("special_tokens=bos_eq_eos") }
        if s.pad == nil { f.insert("special_tokens=no_pad") }
        if s.unk == nil { f.insert("special_tokens=no_unk") }
        return f
    }
}
