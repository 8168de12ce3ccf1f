extension ModelConfig {
    /// Checks sizes, special token ids and MODEL.md's `requires` rules; errors name the key.
    public func validate() throws {
        func bad(_ m: String) -> Seq2SeqError { .invalidModel("config.json: \(m)") }
        guard formatVersion == 1 || formatVersion == 2 else {
            throw bad("format_version \(formatVersion) is not supported (expected 1 or 2)")
        }
        if formatVersion == 1 && usesFormat2 {
            throw bad("\(format2Uses.joined(separator: ", ")) need\(format2Uses.count == 1 ? "s" : "") \"format_version\": 2")
        }
        var sizes = [("source_vocab_size", sourceVocabSize), ("target_vocab_size", targetVocabSize),
                     ("embedding_size", embeddingSize), ("hidden_size", hiddenSize)]
        if let he = encoderHiddenSize { sizes.append(("encoder_hidden_size", he)) }
        if let o = outputProjectionSize { sizes.append(("output_projection_size", o)) }
        for (key, v) in sizes + [("encoder_layers", encoderLayers), ("decoder_layers", decoderLayers)] where v < 1 {
            throw bad("\(key) must be at least 1, found \(v)")
        }
        let limit = 1 << 24
        for (key, v) in sizes where v > limit {
            throw bad("\(key) \(v) exceeds the engine's limit of \(limit)")
        }
        for (key, v) in [("encoder_layers", encoderLayers), ("decoder_layers", decoderLayers)] where v > 64 {
            throw bad("\(key) \(v) exceeds the engine's limit of 64")
        }
        if attention == .bahdanau || attention == .luongConcat {
            guard let a = attentionSize else { throw bad("attention_size is required for attention \(attention.rawValue)") }
            guard a >= 1 && a <= limit else { throw bad("attention_size must be between 1 and \(limit), found \(a)") }
        }
        let D = encoderOutputSize, H = hiddenSize
        switch bridge {
        case .copy:
            if encoderLayers != decoderLayers {
                throw bad("bridge copy requires encoder_layers = decoder_layers, found \(encoderLayers) and \(decoderLayers)")
            }
            if bidirectionalEncoder && formatVersion == 1 {
                throw bad("bridge copy requires a unidirectional encoder, but bidirectional_encoder is true (format 2 allows it when D = hidden_size)")
            }
            if D != H {
                throw bad("bridge copy requires the encoder output size D (\(D)) to equal hidden_size (\(H))")
            }
        case .linear:
            if bridgeInput == .layer && encoderLayers != decoderLayers {
                throw bad("bridge_input layer requires encoder_layers = decoder_layers, found \(encoderLayers) and \(decoderLayers)")
            }
            if bridgeCell != .zeros && cell != .lstm {
                throw bad("bridge_cell \(bridgeCell.rawValue) applies to lstm cells only (cell is \(cell.rawValue))")
            }
        case .linearTanh, .zeros:
            if bridgeInput != .summary || bridgeActivation != .tanh || bridgeCell != .zeros {
                throw bad("bridge_input, bridge_activation and bridge_cell apply to bridge linear only (bridge is \(bridge.rawValue))")
            }
        }
        if attention == .luongDot && D != H {
            throw bad("attention luong_dot requires the encoder output size D (\(D)) to equal hidden_size (\(H))")
        }
        if let feed = decoderInputFeed {
            let allowed: [InputFeed]
            switch attention {
            case .bahdanau: allowed = [.context]
            case .luongDot, .luongGeneral, .luongConcat: allowed = [.previousOutput, .embeddingOnly]
            case .none: allowed = [.summary, .previousOutput, .embeddingOnly]
            }
            guard allowed.contains(feed) else {
                throw bad("decoder_input_feed \(feed.rawValue) is not allowed with attention \(attention.rawValue) (allowed: \(allowed.map(\.rawValue).joined(separator: ", ")))")
            }
        }
        if combineActivation != .tanh && !attention.isLuong {
            throw bad("combine_activation applies to Luong attention only (attention is \(attention.rawValue))")
        }
        if combineActivation == .relu { throw bad("combine_activation must be tanh or none, found relu") }
        if decoderEmbeddingActivation == .tanh {
            throw bad("decoder_embedding_activation must be none or relu, found tanh")
        }
        if tieTargetEmbeddings && embeddingSize != outputInputSize {
            let what = outputProjectionSize == nil ? "hidden_size" : "output_projection_size"
            throw bad("tie_target_embeddings requires embedding_size = \(what), found \(embeddingSize) and \(outputInputSize)")
        }
        let s = specialTokens
        for (key, v) in [("pad", s.pad), ("bos", s.bos), ("eos", s.eos), ("unk", s.unk)] {
            guard let v else { continue }
            guard v >= 0 && v < targetVocabSize else {
                throw bad("special_tokens.\(key) = \(v) is outside the target vocabulary (0..<\(targetVocabSize))")
            }
        }
        for (key, v) in [("unk", s.unk), ("pad", s.pad)] {
            guard let v else { continue }
            guard v < sourceVocabSize else {
                throw bad("special_tokens.\(key) (\(v)) must be inside the source vocabulary (0..<\(sourceVocabSize))")
            }
        }
        if sourceAppendEOS && s.eos >= sourceVocabSize {
            throw bad("source_append_eos requires special_tokens.eos (\(s.eos)) inside the source vocabulary (0..<\(sourceVocabSize))")
        }
        for (key, ids) in [("suppress_ids", suppressIDs), ("detokenize_skip_ids", detokenizeSkipIDs)] {
            if let b = ids.first(where: { $0 < 0 || $0 >= targetVocabSize }) {
                throw bad("\(key) holds \(b), outside the target vocabulary (0..<\(targetVocabSize))")
            }
            if Set(ids).count != ids.count { throw bad("\(key) holds an id twice") }
        }
        if Set(suppressIDs).union([s.eos]).count >= targetVocabSize {
            throw bad("suppress_ids leaves no token but eos to choose")
        }
        if let k = decodingDefaults.beamSize, k < 1 || k > targetVocabSize {
            throw bad("decoding_defaults.beam_size must be between 1 and the target vocabulary size, found \(k)")
        }
        if let t = sourceTokenizer { try t.validate(key: Side.source.key) }
        if let t = targetTokenizer { try t.validate(key: Side.target.key) }
        // MODEL.md: with suppressed ids the beam may not exceed the ids a search can choose; a default beam that
        // breaks this could never be used.
        if let k = decodingDefaults.beamSize, !suppressIDs.isEmpty, k > choosableTokens {
            throw bad("decoding_defaults.beam_size \(k) exceeds the \(choosableTokens) ids a search may choose (the target vocabulary less suppress_ids and eos)")
        }
        if let m = decodingDefaults.minLength, m < 0 || m > DecodingOptions.maxGeneratedLength {
            throw bad("decoding_defaults.min_length must be between 0 and \(DecodingOptions.maxGeneratedLength), found \(m)")
        }
    }

    /// What this configuration uses that format 1 does not have, named as in config.json (for the error
    /// when a format-1 file uses it).
    var format2Uses: [String] {
        var uses: [String] = []
        if let he = encoderHiddenSize { uses.append("encoder_hidden_size \(he)") }
        if bridge == .linear { uses.append("bridge linear") }
        if bridgeInput != .summary { uses.append("bridge_input \(bridgeInput.rawValue)") }
        if bridgeActivation != .tanh { uses.append("bridge_activation \(bridgeActivation.rawValue)") }
        if bridgeCell != .zeros { uses.append("bridge_cell \(bridgeCell.rawValue)") }
        if let f = decoderInputFeed { uses.append("decoder_input_feed \(f.rawValue)") }
        if combineActivation != .tanh { uses.append("combine_activation \(combineActivation.rawValue)") }
        if decoderEmbeddingActivation != .none { uses.append("decoder_embedding_activation \(decoderEmbeddingActivation.rawValue)") }
        if let o = outputProjectionSize { uses.append("output_projection_size \(o)") }
        if sourceAppendEOS { uses.append("source_append_eos") }
        if !suppressIDs.isEmpty { uses.append("suppress_ids") }
        if !detokenizeSkipIDs.isEmpty { uses.append("detokenize_skip_ids") }
        if specialTokens.pad == nil { uses.append("special_tokens without pad") }
        if specialTokens.unk == nil { uses.append("special_tokens without unk") }
        if specialTokens.bos == specialTokens.eos { uses.append("special_tokens with bos = eos") }
        if decodingDefaults != DecodingDefaults() { uses.append("decoding_defaults") }
        if let t = sourceTokenizer { uses.append("source_tokenizer \(t.kind.rawValue)") }
        if let t = targetTokenizer { uses.append("target_tokenizer \(t.kind.rawValue)") }
        return uses
    }

    /// The largest beam this model allows: the tokens a search may choose (all but the suppressed ids and `eos`).
    var choosableTokens: Int { targetVocabSize - Set(suppressIDs).union([specialTokens.eos]).count }
}
