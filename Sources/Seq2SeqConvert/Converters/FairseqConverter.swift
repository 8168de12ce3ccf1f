import Seq2Seq

/// fairseq 0.x LSTM models (`--arch lstm`, `lstm_wiseman_iwslt_de_en`, `lstm_luong_wmt_en_de`, …) from a
/// checkpoint (`checkpoint_best.pt`) and the data directory holding `dict.SRC.txt` and `dict.TGT.txt`.
///
/// Mapping to MODEL.md (`../shared/notes/toolkits.md` §4): attention scores `m_j·(W_in h_t)`, which is
/// `luong_general` with `key.weight = input_projᵀ`, combined by `output_proj` over `[c; h]` without bias; the
/// decoder feeds `h̃_{t−1}` (or `h_{t−1}` without attention); each layer starts from the same encoder layer's
/// final state, through `encoder_hidden_proj`/`encoder_cell_proj` when `D ≠ H` (the `linear` bridge over
/// `layer` input with no activation); `additional_fc` is `output_projection_size`; sources get `</s>`
/// appended, the decoder starts from `</s>` (`bos = eos`), never emits `<pad>`, and `<s>` is left out of text.
enum FairseqConverter {
    static func convert(checkpoint path: String, dataDirectory data: String,
                        sourceLanguage: String? = nil, targetLanguage: String? = nil,
                        subwordOverrides: SubwordOverrides = .init()) throws -> ConvertedModel {
        let ckpt = try TorchCheckpoint(path: path)
        // Options: cfg.model (a Namespace for legacy architectures, or a dict), or the older top-level args.
        var optValue = ckpt.root["cfg"]?["model"]
        if optValue == nil || optValue!.isNone { optValue = ckpt.root["args"] }
        guard let optValue, !optValue.isNone else {
            throw Seq2SeqError.invalidModel("\(path): no cfg.model or args with the model options")
        }
        let opt = CheckpointOptions(value: optValue, origin: path)
        let arch = try opt.string("arch", default: "lstm")
        guard arch.hasPrefix("lstm") else { throw unsupported(path, "--arch \(arch)", "only fairseq's lstm architectures are") }
        if opt.has("adaptive_softmax_cutoff"), case .string(let s)? = opt.value["adaptive_softmax_cutoff"], !s.isEmpty,
           (try? opt.string("criterion", default: "")) == "adaptive_loss" {
            throw unsupported(path, "adaptive softmax", "the model format has one output layer")
        }
        let task = CheckpointOptions(value: ckpt.root["cfg"]?["task"] ?? .dict([]), origin: path)
        let src = try sourceLanguage ?? task.string("source_lang", default: opt.value["source_lang"]?.string ?? "src")
        let tgt = try targetLanguage ?? task.string("target_lang", default: opt.value["target_lang"]?.string ?? "tgt")
        let source = try dictionary("\(data)/dict.\(src).txt")
        let target = try dictionary("\(data)/dict.\(tgt).txt")

        var w = try ToolkitWeights(try ckpt.stateDict(at: ["model"]), origin: path)
        let srcEmb = try w.take("encoder.embed_tokens.weight", shape: [source.count, nil])
        let tgtEmb = try w.take("decoder.embed_tokens.weight", shape: [target.count, nil])
        let E = srcEmb.cols
        guard tgtEmb.cols == E else {
            throw unsupported(path, "--encoder-embed-dim \(E) ≠ --decoder-embed-dim \(tgtEmb.cols)", "the model format has one embedding size")
        }
        var Le = 0
        while w.has("encoder.lstm.weight_ih_l\(Le)") { Le += 1 }
        var Ld = 0
        while w.has("decoder.layers.\(Ld).weight_ih") { Ld += 1 }
        let bidirectional = w.has("encoder.lstm.weight_ih_l0_reverse")
        guard Le > 0, Ld > 0, let He = try w.shape("encoder.lstm.weight_hh_l0")?.last,
              let H = try w.shape("decoder.layers.0.weight_hh")?.last else {
            throw Seq2SeqError.invalidModel("\(path): no encoder.lstm / decoder.layers weights")
        }
        let D = He * (bidirectional ? 2 : 1)
        let G = 4
        let attention = w.has("decoder.attention.input_proj.weight")

        var out: [(String, DenseTensor)] = [("encoder.embedding.weight", srcEmb), ("decoder.embedding.weight", tgtEmb)]
        for k in 0..<Le {
            for suffix in bidirectional ? ["", "_reverse"] : [""] {
                out.append(("encoder.rnn.weight_ih_l\(k)\(suffix)", try w.take("encoder.lstm.weight_ih_l\(k)\(suffix)", shape: [G * He, k == 0 ? E : D])))
                out.append(("encoder.rnn.weight_hh_l\(k)\(suffix)", try w.take("encoder.lstm.weight_hh_l\(k)\(suffix)", shape: [G * He, He])))
                for b in ["bias_ih", "bias_hh"] {
                    if let t = try w.takeIfPresent("encoder.lstm.\(b)_l\(k)\(suffix)", shape: [G * He]) { out.append(("encoder.rnn.\(b)_l\(k)\(suffix)", t)) }
                }
            }
        }
        // Decoder cells read [e_t; h̃_{t−1}] (fairseq always feeds its previous output).
        for k in 0..<Ld {
            out.append(("decoder.rnn.weight_ih_l\(k)", try w.take("decoder.layers.\(k).weight_ih", shape: [G * H, k == 0 ? E + H : H])))
            out.append(("decoder.rnn.weight_hh_l\(k)", try w.take("decoder.layers.\(k).weight_hh", shape: [G * H, H])))
            for b in ["bias_ih", "bias_hh"] {
                if let t = try w.takeIfPresent("decoder.layers.\(k).\(b)", shape: [G * H]) { out.append(("decoder.rnn.\(b)_l\(k)", t)) }
            }
        }
        if attention {
            out.append(("decoder.attention.key.weight", try w.take("decoder.attention.input_proj.weight", shape: [D, H]).transposed()))
            out.append(("decoder.attention.combine.weight", try w.take("decoder.attention.output_proj.weight", shape: [H, D + H])))
            if let b = try w.takeIfPresent("decoder.attention.output_proj.bias", shape: [H]) { out.append(("decoder.attention.combine.bias", b)) }
        }

        // Initial state: the same layer's finals, projected when D ≠ H.
        var bridge = ModelConfig.Bridge.copy
        if w.has("decoder.encoder_hidden_proj.weight") {
            bridge = .linear
            guard Le == Ld else { throw unsupported(path, "encoder layers ≠ decoder layers", "fairseq itself requires them equal") }
            let ph = try w.take("decoder.encoder_hidden_proj.weight", shape: [H, D])
            let pb = try w.takeIfPresent("decoder.encoder_hidden_proj.bias", shape: [H])
            let ch = try w.take("decoder.encoder_cell_proj.weight", shape: [H, D])
            let cb = try w.takeIfPresent("decoder.encoder_cell_proj.bias", shape: [H])
            for k in 0..<Ld {
                out.append(("bridge.\(k).weight", ph))
                if let pb { out.append(("bridge.\(k).bias", pb)) }
                out.append(("bridge_cell.\(k).weight", ch))
                if let cb { out.append(("bridge_cell.\(k).bias", cb)) }
            }
        } else if D != H || Le != Ld {
            throw Seq2SeqError.invalidModel("\(path): encoder output \(D) ≠ decoder hidden \(H) but no encoder_hidden_proj")
        }

        // Output: additional_fc when H ≠ O, then fc_out (or the embeddings, without bias, when shared).
        var O: Int? = nil
        if let fc = try w.takeIfPresent("decoder.additional_fc.weight", shape: [nil, H]) {
            O = fc.rows
            out.append(("decoder.output_projection.weight", fc))
            if let b = try w.takeIfPresent("decoder.additional_fc.bias", shape: [fc.rows]) { out.append(("decoder.output_projection.bias", b)) }
        }
        let outputInput = O ?? H
        var tie = false
        if w.has("decoder.fc_out.weight") {
            out.append(("decoder.output.weight", try w.take("decoder.fc_out.weight", shape: [target.count, outputInput])))
            if let b = try w.takeIfPresent("decoder.fc_out.bias", shape: [target.count]) { out.append(("decoder.output.bias", b)) }
        } else {
            tie = true  // --share-decoder-input-output-embed: F.linear(x, embed_tokens.weight), no bias
        }
        try w.requireAllTaken { name in name.contains("adaptive_softmax") ? "adaptive softmax is not supported" : nil }

        // Dictionary: <s> 0, <pad> 1, </s> 2, <unk> 3; the decoder starts from </s>.
        var config = ModelConfig(
            cell: .lstm, sourceVocabSize: source.count, targetVocabSize: target.count, embeddingSize: E, hiddenSize: H,
            encoderLayers: Le, decoderLayers: Ld, bidirectionalEncoder: bidirectional, bridge: bridge,
            attention: attention ? .luongGeneral : .none, tieTargetEmbeddings: tie, tokenizer: .whitespace,
            specialTokens: .init(pad: 1, bos: 2, eos: 2, unk: 3),
            encoderHiddenSize: He == H ? nil : He, bridgeInput: .layer, bridgeActivation: .none,
            bridgeCell: .linear, decoderInputFeed: attention ? nil : .previousOutput,
            outputProjectionSize: O, sourceAppendEOS: true, suppressIDs: [1], detokenizeSkipIDs: [0],
            decodingDefaults: .init(beamSize: 5, minLength: 1))
        if bridge != .linear { config.bridgeInput = .summary; config.bridgeActivation = .tanh; config.bridgeCell = .zeros }
        config.formatVersion = 2
        try config.validate()
        let notes = ["fairseq-interactive decodes at most --max-len-b tokens (200 by default) then forces </s>; pass --max-length N and compare with --max-len-a 0 --max-len-b N",
                     "scores: fairseq prints base-2 log-probabilities; this engine reports natural logarithms"]
        // --bpe: cfg.bpe (a dict with _name) or the legacy args; the same model on both sides.
        var subwords: [SubwordFile] = []
        let bpe = ckpt.root["cfg"]?["bpe"].flatMap { $0.isNone ? nil : CheckpointOptions(value: $0, origin: path) }
        let bpeName = try bpe?.string("_name", default: "") ?? (try opt.string("bpe", default: ""))
        let bpeOptions = bpe ?? opt
        if !bpeName.isEmpty {
            let tokenizer: ModelConfig.TokenizerConfig
            let recorded: String?
            switch bpeName {
            case "sentencepiece":
                tokenizer = .fairseqSentencePiece(model: "")
                recorded = bpeOptions.value["sentencepiece_model"]?.string
            case "subword_nmt":
                tokenizer = .fairseqBPE(codes: "", separator: try bpeOptions.string("bpe_separator", default: "@@"))
                recorded = bpeOptions.value["bpe_codes"]?.string
            default:
                throw unsupported(path, "--bpe \(bpeName)", "sentencepiece and subword_nmt are")
            }
            for side in [ModelConfig.Side.source, .target] {
                subwords.append(try SubwordFile.locate(side: side, recorded: recorded, tokenizer: tokenizer, overrides: subwordOverrides,
                                                       searchDirectories: [directoryOf(path), data], what: "\(path) (--bpe \(bpeName))"))
            }
        }
        return ConvertedModel(toolkit: "fairseq", origin: path, config: config, tensors: out,
                              sourceVocabulary: source, targetVocabulary: target, notes: notes, subwordFiles: subwords)
    }

    /// A fairseq dictionary: the four specials, then the first field of each `token count [flags]` line.
    static func dictionary(_ path: String) throws -> [String] {
        let lines = try Vocabulary(contentsOf: path).tokens
        var tokens = ["<s>", "<pad>", "</s>", "<unk>"]
        for (i, line) in lines.enumerated() {
            var fields = line.split(separator: " ", omittingEmptySubsequences: false)
            let overwrite = fields.last == "#fairseq:overwrite"
            if overwrite { fields.removeLast() }
            guard fields.count >= 2, Int(fields.last!) != nil else {
                throw Seq2SeqError.invalidModel("\(path): line \(i + 1) is not \"token count\"")
            }
            let token = fields.dropLast().joined(separator: " ")
            if tokens.contains(token) {
                // fairseq keeps the existing id with #fairseq:overwrite and refuses a duplicate otherwise.
                guard overwrite else {
                    throw Seq2SeqError.invalidModel("\(path): line \(i + 1) repeats the token \"\(token)\" without #fairseq:overwrite")
                }
                continue
            }
            tokens.append(token)
        }
        return tokens
    }
}
