import Seq2Seq

/// OpenNMT-py 3.x RNN models (`-encoder_type rnn|brnn -decoder_type rnn`, LSTM or GRU, `-global_attention
/// dot|general|mlp|none`, `-input_feed 0|1`, `-bridge`, shared embeddings) from a `model_step_N.pt`.
///
/// The checkpoint is a dict `{"model", "generator", "vocab", "opt", "optim"}`. Mapping to MODEL.md
/// (`../shared/notes/toolkits.md` §1, checked against `onmt_translate`):
/// - `brnn` has `He = H/2` per direction and starts each decoder layer from `[fwd_k; bwd_k]`: the `copy`
///   bridge with `encoder_hidden_size = H/2`;
/// - `general` scores `(W_in h_t)·m_j = h_t·(W_inᵀ m_j)`: `luong_general` with `key.weight = W_inᵀ`;
/// - `mlp` is `luong_concat` (`A = H`, `linear_context` without bias) whose combine has a bias and no tanh;
/// - `-bridge` (one `Linear(L·He, L·He)` + ReLU applied per direction chunk of the stacked finals) is the
///   `linear` bridge over `stacked` input with `relu`: row block `k` of `diag(W, W)`, and `bridge.1` for cells;
/// - `-input_feed 0` is `decoder_input_feed: none`; `-global_attention none` feeds `o_{t−1}` (or nothing).
enum OpenNMTConverter {
    static func convert(checkpoint path: String, subwordOverrides: SubwordOverrides = .init()) throws -> ConvertedModel {
        let ckpt = try TorchCheckpoint(path: path)
        let opt = CheckpointOptions(value: try ckpt.value(at: ["opt"]), origin: path)
        try refuseUnsupported(opt, ckpt: ckpt, path: path)

        var entries = try ckpt.stateDict(at: ["model"])
        for (name, t) in try ckpt.stateDict(at: ["generator"]) {
            // Version 2 checkpoints name the generator's Linear "0".
            entries.append(("generator." + (name.hasPrefix("0.") ? String(name.dropFirst(2)) : name), t))
        }
        var w = try ToolkitWeights(entries, origin: path)

        // Vocabularies: lists of tokens; specials by their tokens.
        let vocab = try ckpt.value(at: ["vocab"])
        let source = try tokens(vocab["src"], "vocab.src", path)
        let target = try tokens(vocab["tgt"], "vocab.tgt", path)
        func id(_ token: String, _ list: [String]) -> Int? { list.firstIndex(of: token) }
        let startToken = vocab["decoder_start_token"]?.string ?? "<s>"
        guard let bos = id(startToken, target), let eos = id("</s>", target) else {
            throw Seq2SeqError.invalidModel("\(path): the target vocabulary has no \(startToken) or </s>")
        }

        // Sizes from the tensors themselves.
        let srcEmb = try w.take("encoder.embeddings.make_embedding.emb_luts.0.weight", shape: [source.count, nil])
        let tgtEmb = try w.take("decoder.embeddings.make_embedding.emb_luts.0.weight", shape: [target.count, nil])
        let E = srcEmb.cols
        guard tgtEmb.cols == E else {
            throw unsupported(path, "src_word_vec_size \(E) ≠ tgt_word_vec_size \(tgtEmb.cols)", "the model format has one embedding size")
        }
        let rnnType = try opt.string("rnn_type", default: "LSTM")
        let cell: ModelConfig.Cell = rnnType == "LSTM" ? .lstm : .gru
        var Le = 0
        while w.has("encoder.rnn.weight_ih_l\(Le)") { Le += 1 }
        let bidirectional = w.has("encoder.rnn.weight_ih_l0_reverse")
        guard Le > 0, let He = try w.shape("encoder.rnn.weight_hh_l0")?.last else {
            throw Seq2SeqError.invalidModel("\(path): no encoder.rnn weights (is this an RNN model? encoder_type \(try opt.string("encoder_type", default: "?")))")
        }
        let inputFeed = w.has("decoder.rnn.layers.0.weight_ih")
        func decoderName(_ k: Int, _ kind: String) -> String {
            inputFeed ? "decoder.rnn.layers.\(k).\(kind)" : "decoder.rnn.\(kind)_l\(k)"
        }
        var Ld = 0
        while w.has(decoderName(Ld, "weight_ih")) { Ld += 1 }
        guard Ld > 0, let H = try w.shape(decoderName(0, "weight_hh"))?.last else {
            throw Seq2SeqError.invalidModel("\(path): no decoder.rnn weights")
        }
        let D = He * (bidirectional ? 2 : 1)
        let G = cell.gates

        var out: [(String, DenseTensor)] = [("encoder.embedding.weight", srcEmb)]
        for k in 0..<Le {
            for suffix in bidirectional ? ["", "_reverse"] : [""] {
                let input = k == 0 ? E : D
                out.append(("encoder.rnn.weight_ih_l\(k)\(suffix)", try w.take("encoder.rnn.weight_ih_l\(k)\(suffix)", shape: [G * He, input])))
                out.append(("encoder.rnn.weight_hh_l\(k)\(suffix)", try w.take("encoder.rnn.weight_hh_l\(k)\(suffix)", shape: [G * He, He])))
                for b in ["bias_ih", "bias_hh"] {
                    if let t = try w.takeIfPresent("encoder.rnn.\(b)_l\(k)\(suffix)", shape: [G * He]) { out.append(("encoder.rnn.\(b)_l\(k)\(suffix)", t)) }
                }
            }
        }

        // Attention.
        let attentionType = opt.has("global_attention") ? try opt.string("global_attention") : "general"
        let attention: ModelConfig.Attention
        var attentionSize: Int? = nil
        var combineActivation = ModelConfig.Activation.tanh
        switch attentionType {
        case "dot": attention = .luongDot
        case "general":
            attention = .luongGeneral
            let Win = try w.take("decoder.attn.linear_in.weight", shape: [H, D])
            out.append(("decoder.attention.key.weight", Win.transposed()))
        case "mlp":
            attention = .luongConcat
            attentionSize = H
            out.append(("decoder.attention.key.weight", try w.take("decoder.attn.linear_context.weight", shape: [H, D])))
            out.append(("decoder.attention.query.weight", try w.take("decoder.attn.linear_query.weight", shape: [H, H])))
            if let b = try w.takeIfPresent("decoder.attn.linear_query.bias", shape: [H]) { out.append(("decoder.attention.query.bias", b)) }
            out.append(("decoder.attention.energy.weight", try w.take("decoder.attn.v.weight", shape: [1, H])))
            combineActivation = .none
        case "none": attention = .none
        default: throw unsupported(path, "global_attention \(attentionType)", "expected dot, general, mlp or none")
        }
        if attention != .none {
            out.append(("decoder.attention.combine.weight", try w.take("decoder.attn.linear_out.weight", shape: [H, D + H])))
            if let b = try w.takeIfPresent("decoder.attn.linear_out.bias", shape: [H]) { out.append(("decoder.attention.combine.bias", b)) }
        }
        let feed: ModelConfig.InputFeed = inputFeed ? .previousOutput : .embeddingOnly

        // Decoder RNN: layer 0 reads [e_t; h̃_{t−1}] with input feeding, e_t alone without.
        out.append(("decoder.embedding.weight", tgtEmb))
        for k in 0..<Ld {
            let input = k > 0 ? H : (inputFeed ? E + H : E)
            out.append(("decoder.rnn.weight_ih_l\(k)", try w.take(decoderName(k, "weight_ih"), shape: [G * H, input])))
            out.append(("decoder.rnn.weight_hh_l\(k)", try w.take(decoderName(k, "weight_hh"), shape: [G * H, H])))
            for b in ["bias_ih", "bias_hh"] {
                if let t = try w.takeIfPresent(decoderName(k, b), shape: [G * H]) { out.append(("decoder.rnn.\(b)_l\(k)", t)) }
            }
        }

        // Bridge.
        var bridge = ModelConfig.Bridge.copy
        if try opt.bool("bridge") {
            bridge = .linear
            let L = Le, dirs = bidirectional ? 2 : 1
            guard Le == Ld else { throw unsupported(path, "-bridge with enc_layers ≠ dec_layers", "the decoder reads one bridged state per encoder layer") }
            // OpenNMT-py's bridge keeps the size of the stacked finals, so each layer's slice below is the decoder's
            // state only when D = H (a hostile checkpoint could make the slice run past the end).
            guard D == H else {
                throw Seq2SeqError.invalidModel("\(path): -bridge: the encoder's final states have size \(D) (\(He) per direction) but the decoder's hidden size is \(H); OpenNMT-py's bridge keeps the size, so they must be equal")
            }
            for (index, prefix) in Array((cell == .lstm ? ["bridge", "bridge_cell"] : ["bridge"]).enumerated()) {
                let W = try w.take("encoder.bridge.\(index).weight", shape: [L * He, L * He])
                let b = try w.takeIfPresent("encoder.bridge.\(index).bias", shape: [L * He])
                let full = W.blockDiagonal(copies: dirs)  // (L·H, L·D): one Linear per direction chunk
                let fullBias = b?.repeated(dirs)
                for k in 0..<Ld {
                    out.append(("\(prefix).\(k).weight", full.rows(k * H..<(k + 1) * H)))
                    if let fb = fullBias { out.append(("\(prefix).\(k).bias", fb.rows(k * H..<(k + 1) * H))) }
                }
            }
        } else if Le != Ld {
            throw unsupported(path, "enc_layers \(Le) ≠ dec_layers \(Ld) without -bridge", "the decoder would start from only some encoder layers")
        }

        // Output: the generator, or the target embeddings when shared.
        var tie = false
        if try opt.bool("share_decoder_embeddings") && w.areTied("generator.weight", "decoder.embeddings.make_embedding.emb_luts.0.weight") {
            tie = true
            w.skip("generator.weight")
        } else {
            out.append(("decoder.output.weight", try w.take("generator.weight", shape: [target.count, H])))
        }
        if let b = try w.takeIfPresent("generator.bias", shape: [target.count]) { out.append(("decoder.output.bias", b)) }

        try w.requireAllTaken { name in
            if name.contains("coverage") || name.contains("linear_cover") { return "coverage attention is not supported" }
            if name.contains("context_gate") { return "the context gate is not supported" }
            if name.contains("copy") { return "copy attention is not supported" }
            return nil
        }

        var config = ModelConfig(
            cell: cell, sourceVocabSize: source.count, targetVocabSize: target.count, embeddingSize: E, hiddenSize: H,
            encoderLayers: Le, decoderLayers: Ld, bidirectionalEncoder: bidirectional, bridge: bridge,
            attention: attention, attentionSize: attentionSize, tieTargetEmbeddings: tie, tokenizer: .whitespace,
            specialTokens: .init(pad: id("<blank>", target), bos: bos, eos: eos, unk: id("<unk>", target)),
            encoderHiddenSize: He == H ? nil : He, bridgeInput: .stacked, bridgeActivation: .relu,
            bridgeCell: cell == .lstm ? .linear : .zeros,
            decoderInputFeed: feed == ModelConfig.InputFeed.defaultFor(attention) ? nil : feed,
            combineActivation: combineActivation)
        if bridge != .linear { config.bridgeInput = .summary; config.bridgeActivation = .tanh; config.bridgeCell = .zeros }
        // The source's unk must be the target's id too (MODEL.md has one special-token set).
        if let u = config.specialTokens.unk, source.indices.contains(u), source[u] != "<unk>" {
            throw Seq2SeqError.invalidModel("\(path): <unk> has id \(u) in the target vocabulary but not in the source vocabulary")
        }
        config.formatVersion = config.usesFormat2 ? 2 : 1
        try config.validate()
        var notes = ["onmt_translate counts -max_length from the padded batch (-max_length_ratio); pass --max-length N and compare with -max_length N -max_length_ratio 0"]
        if bridge == .linear {
            notes.append("-bridge: OpenNMT-py applies it to a view of the whole batch, so its own result depends on the batch; this model gives its batch-size-1 result for every sentence")
        }
        let subwords = try subwordFiles(opt, path: path, overrides: subwordOverrides)
        return ConvertedModel(toolkit: "opennmt-py", origin: path, config: config, tensors: out,
                              sourceVocabulary: source, targetVocabulary: target, notes: notes, subwordFiles: subwords)
    }

    /// The `sentencepiece` or `bpe` transform's models (`src_subword_model`, `tgt_subword_model`), applied
    /// as `onmt_translate -transforms ...` applies them.
    private static func subwordFiles(_ opt: CheckpointOptions, path: String, overrides: SubwordOverrides) throws -> [SubwordFile] {
        var transforms = Set<String>()
        for key in ["transforms", "_all_transform"] {
            for v in opt.value[key]?.elements ?? [] { if let s = v.string { transforms.insert(s) } }
        }
        if transforms.contains("onmt_tokenize") {
            throw unsupported(path, "the onmt_tokenize transform", "pyonmttok's tokenization is not reproduced; the sentencepiece and bpe transforms are")
        }
        let kinds = transforms.intersection(["sentencepiece", "bpe"])
        guard let kind = kinds.first else { return [] }
        guard kinds.count == 1 else { throw unsupported(path, "both the sentencepiece and the bpe transform", "one subword transform is") }
        return try [ModelConfig.Side.source, .target].map { side in
            let key = side == .source ? "src_subword_model" : "tgt_subword_model"
            let recorded = opt.value[key]?.string
            let tokenizer: ModelConfig.TokenizerConfig = kind == "sentencepiece"
                ? .openNMTSentencePiece(model: "") : .openNMTBPE(codes: "")
            return try SubwordFile.locate(side: side, recorded: recorded, tokenizer: tokenizer, overrides: overrides,
                                          searchDirectories: [directoryOf(path)], what: "\(path) (-\(key))")
        }
    }

    private static func refuseUnsupported(_ opt: CheckpointOptions, ckpt: TorchCheckpoint, path: String) throws {
        let names = ["copy_attn": "copy attention", "coverage_attn": "coverage attention", "context_gate": "context gate",
                     "position_encoding": "position encoding", "lambda_coverage": "coverage loss"]
        for flag in ["copy_attn", "coverage_attn", "context_gate", "position_encoding", "lambda_coverage"] {
            let on: Bool
            switch opt.value[flag] {
            case .string(let s)?: on = !s.isEmpty && s != "none"
            case .float(let d)?: on = d != 0
            case let v?: on = (try? opt.bool(flag)) ?? !v.isNone
            case nil: on = false
            }
            if on { throw unsupported(path, "-\(flag)", "the model format has no \(names[flag]!)") }
        }
        let rnnType = try opt.string("rnn_type", default: "LSTM")
        guard rnnType == "LSTM" || rnnType == "GRU" else { throw unsupported(path, "rnn_type \(rnnType)", "only LSTM and GRU cells are") }
        let encoder = try opt.string("encoder_type", default: "rnn")
        guard encoder == "rnn" || encoder == "brnn" else { throw unsupported(path, "encoder_type \(encoder)", "only rnn and brnn encoders are") }
        let decoder = try opt.string("decoder_type", default: "rnn")
        guard decoder == "rnn" else { throw unsupported(path, "decoder_type \(decoder)", "only the rnn decoder is") }
        let function = try opt.string("global_attention_function", default: "softmax")
        guard function == "softmax" else { throw unsupported(path, "global_attention_function \(function)", "only softmax is") }
        if let feats = ckpt.root["vocab"]?["src_feats"], let list = feats.elements, !list.isEmpty {
            throw unsupported(path, "source features (src_feats)", "the model format reads token ids only")
        }
    }
}

/// A list of strings from a pickled vocabulary, or an error naming `what`.
func tokens(_ value: PickleValue?, _ what: String, _ origin: String) throws -> [String] {
    guard let items = value?.elements else {
        throw Seq2SeqError.invalidModel("\(origin): \(what) is \(value?.kindName ?? "missing"), expected a list of tokens")
    }
    return try items.enumerated().map { i, v in
        guard let s = v.string else { throw Seq2SeqError.invalidModel("\(origin): \(what)[\(i)] is \(v.kindName), expected a string") }
        return s
    }
}
