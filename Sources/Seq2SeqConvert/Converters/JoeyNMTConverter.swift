import Foundation
import Seq2Seq
import Yams

/// JoeyNMT 2.x recurrent models (`encoder.type: recurrent`, `decoder.type: recurrent`; LSTM or GRU; `luong`
/// or `bahdanau` attention; input feeding on or off; `init_hidden` bridge, last or zero) from a model
/// directory holding `config.yaml`, `src_vocab.txt`, `trg_vocab.txt` and a checkpoint (`best.ckpt`).
///
/// Mapping to MODEL.md (`../shared/notes/toolkits.md` §2): `luong` is `luong_general` with
/// `key.weight = key_layer.weight`; JoeyNMT's `bahdanau` scores from the new state and combines, which is
/// `luong_concat` with `A = H` and no biases; the combine layer reads `[h; c]`, so its columns are permuted to
/// MODEL.md's `[c; h]`; the bridge is `linear` over the summary with `tanh`, the same for every layer, LSTM cells
/// starting equal to the hidden state; `embeddings.scale` is folded into the embedding tables; the source gets
/// `</s>` appended; greedy and beam search never emit `<s>` or `<pad>` (nor `<unk>` with `generate_unk: false`).
enum JoeyNMTConverter {
    static func convert(modelDirectory dir: String, checkpoint: String? = nil,
                        subwordOverrides: SubwordOverrides = .init()) throws -> ConvertedModel {
        let configPath = dir + "/config.yaml"
        guard FileManager.default.fileExists(atPath: configPath) else {
            throw Seq2SeqError.invalidModel("\(dir) has no config.yaml: a JoeyNMT model directory holds config.yaml, its vocabularies and best.ckpt")
        }
        let cfg = try yamlOptions(configPath)
        let model = cfg.section("model"), data = cfg.section("data"), testing = cfg.section("testing")
        let enc = model.section("encoder"), dec = model.section("decoder")
        for (part, section) in [("encoder", enc), ("decoder", dec)] {
            let type = try section.string("type", default: part == "encoder" ? "recurrent" : "transformer")
            guard type == "recurrent" else {
                throw unsupported(configPath, "model.\(part).type \(type)", "only recurrent encoders and decoders are (use CTranslate2 for Transformers)")
            }
        }
        let ckptPath = checkpoint ?? dir + "/best.ckpt"
        let ckpt = try TorchCheckpoint(path: ckptPath)
        var w = try ToolkitWeights(try ckpt.stateDict(at: ["model_state"]), origin: ckptPath)

        // Vocabularies and text level.
        let level = try data.section("src").string("level", default: "word")
        let targetLevel = try data.section("trg").string("level", default: "word")
        guard level == targetLevel, ["word", "char", "bpe"].contains(level) else {
            throw unsupported(configPath, "data.src.level \(level) / data.trg.level \(targetLevel)", "word, char and bpe levels (the same on both sides) are")
        }
        func readVocab(_ name: String) throws -> [String] {
            let tokens = try Vocabulary(contentsOf: dir + "/" + name).tokens
            // Character level marks a space as "▁"; MODEL.md's characters tokenizer has the space itself.
            return level == "char" ? tokens.map { $0 == "▁" ? " " : $0 } : tokens
        }
        let source = try readVocab("src_vocab.txt")
        let target = try readVocab("trg_vocab.txt")
        let specials = data.section("special_symbols")
        func special(_ key: String, _ fallback: String) throws -> Int? {
            target.firstIndex(of: try specials.string(key, default: fallback))
        }
        guard let bos = try special("bos_token", "<s>"), let eos = try special("eos_token", "</s>") else {
            throw Seq2SeqError.invalidModel("\(dir)/trg_vocab.txt has no bos or eos token")
        }
        let pad = try special("pad_token", "<pad>"), unk = try special("unk_token", "<unk>")

        // Sizes.
        let srcEmb = try w.take("src_embed.lut.weight", shape: [source.count, nil])
        var tgtEmb = try w.take("trg_embed.lut.weight", shape: [target.count, nil])
        let E = srcEmb.cols
        guard tgtEmb.cols == E else {
            throw unsupported(configPath, "different source and target embedding sizes (\(E), \(tgtEmb.cols))", "the model format has one embedding size")
        }
        let cell: ModelConfig.Cell = try enc.string("rnn_type", default: "gru").lowercased() == "gru" ? .gru : .lstm
        let decoderCell: ModelConfig.Cell = try dec.string("rnn_type", default: "gru").lowercased() == "gru" ? .gru : .lstm
        guard cell == decoderCell else { throw unsupported(configPath, "different encoder and decoder rnn_type", "the model format has one cell type") }
        let G = cell.gates
        var Le = 0
        while w.has("encoder.rnn.weight_ih_l\(Le)") { Le += 1 }
        var Ld = 0
        while w.has("decoder.rnn.weight_ih_l\(Ld)") { Ld += 1 }
        let bidirectional = w.has("encoder.rnn.weight_ih_l0_reverse")
        guard Le > 0, Ld > 0, let He = try w.shape("encoder.rnn.weight_hh_l0")?.last, let H = try w.shape("decoder.rnn.weight_hh_l0")?.last else {
            throw Seq2SeqError.invalidModel("\(ckptPath): no encoder.rnn / decoder.rnn weights")
        }
        let D = He * (bidirectional ? 2 : 1)

        // Embeddings, scaled by √E where the config says so (folded into the tables).
        var srcTable = srcEmb
        if try enc.section("embeddings").bool("scale") { srcTable = srcTable.scaled(by: Float(E).squareRoot()) }
        let unscaledTarget = tgtEmb
        if try dec.section("embeddings").bool("scale") { tgtEmb = tgtEmb.scaled(by: Float(E).squareRoot()) }
        var out: [(String, DenseTensor)] = [("encoder.embedding.weight", srcTable), ("decoder.embedding.weight", tgtEmb)]
        func recurrent(_ prefix: String, layers: Int, hidden: Int, input: (Int) -> Int, directions: [String]) throws {
            for k in 0..<layers {
                for suffix in directions {
                    out.append(("\(prefix).weight_ih_l\(k)\(suffix)", try w.take("\(prefix).weight_ih_l\(k)\(suffix)", shape: [G * hidden, input(k)])))
                    out.append(("\(prefix).weight_hh_l\(k)\(suffix)", try w.take("\(prefix).weight_hh_l\(k)\(suffix)", shape: [G * hidden, hidden])))
                    for b in ["bias_ih", "bias_hh"] {
                        if let t = try w.takeIfPresent("\(prefix).\(b)_l\(k)\(suffix)", shape: [G * hidden]) { out.append(("\(prefix).\(b)_l\(k)\(suffix)", t)) }
                    }
                }
            }
        }
        try recurrent("encoder.rnn", layers: Le, hidden: He, input: { $0 == 0 ? E : D }, directions: bidirectional ? ["", "_reverse"] : [""])
        let inputFeeding = try dec.bool("input_feeding", default: true)
        try recurrent("decoder.rnn", layers: Ld, hidden: H, input: { $0 == 0 ? (inputFeeding ? E + H : E) : H }, directions: [""])

        // Attention and the combine layer ([h; c] in JoeyNMT, [c; h] in MODEL.md).
        let attentionType = try dec.string("attention", default: "bahdanau")
        let attention: ModelConfig.Attention
        switch attentionType {
        case "luong":
            attention = .luongGeneral
            out.append(("decoder.attention.key.weight", try w.take("decoder.attention.key_layer.weight", shape: [H, D])))
        case "bahdanau":
            attention = .luongConcat
            out.append(("decoder.attention.key.weight", try w.take("decoder.attention.key_layer.weight", shape: [H, D])))
            out.append(("decoder.attention.query.weight", try w.take("decoder.attention.query_layer.weight", shape: [H, H])))
            out.append(("decoder.attention.energy.weight", try w.take("decoder.attention.energy_layer.weight", shape: [1, H])))
        default:
            throw unsupported(configPath, "model.decoder.attention \(attentionType)", "luong and bahdanau are")
        }
        let combine = try w.take("decoder.att_vector_layer.weight", shape: [H, H + D])
        out.append(("decoder.attention.combine.weight", DenseTensor.hcat([combine.columns(H..<(H + D)), combine.columns(0..<H)])))
        if let b = try w.takeIfPresent("decoder.att_vector_layer.bias", shape: [H]) { out.append(("decoder.attention.combine.bias", b)) }

        // Initial state.
        let initHidden = try dec.string("init_hidden", default: "bridge")
        var bridge = ModelConfig.Bridge.zeros
        var bridgeActivation = ModelConfig.Activation.tanh
        switch initHidden {
        case "bridge":
            bridge = .linear
            let W = try w.take("decoder.bridge_layer.weight", shape: [H, D])
            let b = try w.takeIfPresent("decoder.bridge_layer.bias", shape: [H])
            for k in 0..<Ld {
                out.append(("bridge.\(k).weight", W))
                if let b { out.append(("bridge.\(k).bias", b)) }
            }
        case "last":
            // s_0 = u[:H] when D = 2H, else u (D = H): a fixed selection, no activation.
            guard D == H || D == 2 * H else { throw unsupported(configPath, "init_hidden last with D = \(D), H = \(H)", "JoeyNMT itself needs D = H or 2H") }
            bridge = .linear
            bridgeActivation = .none
            for k in 0..<Ld { out.append(("bridge.\(k).weight", DenseTensor.identity(rows: H, cols: D))) }
        default:
            bridge = .zeros
        }

        // Output layer (no bias); with tied_softmax it is the target embedding, unscaled.
        let tiedSoftmax = try model.bool("tied_softmax")
        var tie = false
        if tiedSoftmax || w.areTied("decoder.output_layer.weight", "trg_embed.lut.weight") {
            w.skip("decoder.output_layer.weight")
            if tgtEmb == unscaledTarget { tie = true } else { out.append(("decoder.output.weight", unscaledTarget)) }
        } else {
            out.append(("decoder.output.weight", try w.take("decoder.output_layer.weight", shape: [target.count, H])))
        }
        if try model.bool("tied_embeddings") { w.skip("src_embed.lut.weight") }
        try w.requireAllTaken { _ in nil }

        var suppress = [bos] + (pad.map { [$0] } ?? [])
        if let sep = try? specials.string("sep_token"), let id = target.firstIndex(of: sep) { suppress.append(id) }
        if !(try testing.bool("generate_unk", default: true)), let unk { suppress.append(unk) }
        var config = ModelConfig(
            cell: cell, sourceVocabSize: source.count, targetVocabSize: target.count, embeddingSize: E, hiddenSize: H,
            encoderLayers: Le, decoderLayers: Ld, bidirectionalEncoder: bidirectional, bridge: bridge,
            attention: attention, attentionSize: attention == .luongConcat ? H : nil, tieTargetEmbeddings: tie,
            tokenizer: level == "char" ? .characters : .whitespace,
            specialTokens: .init(pad: pad, bos: bos, eos: eos, unk: unk),
            encoderHiddenSize: He == H ? nil : He, bridgeActivation: bridgeActivation,
            bridgeCell: bridge == .linear && cell == .lstm ? .hidden : .zeros,
            decoderInputFeed: inputFeeding ? nil : .embeddingOnly,
            sourceAppendEOS: true, suppressIDs: Array(Set(suppress)).sorted(),
            decodingDefaults: .init(beamSize: try testing.int("beam_size", default: 1),
                                    minLength: try testing.int("min_output_length", default: 1)))
        config.formatVersion = 2
        if let u = unk, source.indices.contains(u) == false || source[u] != target[u] {
            throw Seq2SeqError.invalidModel("\(dir): the unk token has id \(u) in trg_vocab.txt but not in src_vocab.txt")
        }
        try config.validate()
        var notes: [String] = ["python -m joeynmt translate decodes up to 1.5 × the longest source of its batch when max_output_length is unset; pass --max-length N and compare with max_output_length: N"]
        for side in ["src", "trg"] where try data.section(side).bool("lowercase") {
            notes.append("data.\(side).lowercase is true: JoeyNMT lowercases \(side == "src" ? "its input" : "references"); lowercase the input yourself")
        }
        var subwords: [SubwordFile] = []
        if level == "bpe" {
            for side in [ModelConfig.Side.source, .target] {
                let section = data.section(side == .source ? "src" : "trg")
                let kind = try section.string("tokenizer_type", default: "sentencepiece")
                let tcfg = section.section("tokenizer_cfg")
                if try tcfg.string("pretokenizer", default: "none") != "none" {
                    throw unsupported(configPath, "tokenizer_cfg.pretokenizer", "Moses pre-tokenization is not reproduced")
                }
                let tokenizer: ModelConfig.TokenizerConfig
                let recorded: String?
                switch kind {
                case "sentencepiece":
                    tokenizer = .joeyNMTSentencePiece(model: "")
                    recorded = tcfg.value["model_file"]?.string
                case "subword-nmt":
                    tokenizer = .joeyNMTBPE(codes: "", separator: try tcfg.string("separator", default: "@@"))
                    recorded = tcfg.value["codes"]?.string
                default:
                    throw unsupported(configPath, "tokenizer_type \(kind)", "sentencepiece and subword-nmt are")
                }
                subwords.append(try SubwordFile.locate(side: side, recorded: recorded, tokenizer: tokenizer,
                                                       overrides: subwordOverrides, searchDirectories: [dir],
                                                       what: "\(configPath) (data.\(side == .source ? "src" : "trg").tokenizer_cfg)"))
            }
        }
        return ConvertedModel(toolkit: "joeynmt", origin: dir, config: config, tensors: out,
                              sourceVocabulary: source, targetVocabulary: target, notes: notes, subwordFiles: subwords)
    }

    /// `config.yaml` as options (Yams parses; values become plain data).
    static func yamlOptions(_ path: String) throws -> CheckpointOptions {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw Seq2SeqError.invalidModel("cannot read \(path): \(error.localizedDescription)")
        }
        let node: Any?
        do { node = try Yams.load(yaml: text) } catch {
            throw Seq2SeqError.invalidModel("\(path) is not valid YAML: \(error)")
        }
        return CheckpointOptions(value: plain(node), origin: path)
    }

    /// A YAML value as the same plain data a pickle gives.
    private static func plain(_ v: Any?) -> PickleValue {
        switch v {
        case nil: return .none
        case let b as Bool: return .bool(b)
        case let i as Int: return .int(i)
        case let d as Double: return .float(d)
        case let s as String: return .string(s)
        case let a as [Any?]: return .list(a.map(plain))
        case let m as [String: Any?]: return .dict(m.keys.sorted().map { (.string($0), plain(m[$0] ?? nil)) })
        case let m as [AnyHashable: Any?]: return .dict(m.map { (.string("\($0.key)"), plain($0.value)) })
        default: return .string("\(v!)")
        }
    }
}
