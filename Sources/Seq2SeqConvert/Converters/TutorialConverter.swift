import Seq2Seq

/// The PyTorch tutorial "Translation with a Sequence to Sequence Network and Attention" (`EncoderRNN` with
/// `AttnDecoderRNN` and `BahdanauAttention`, or the plain `DecoderRNN`), saved with the recipe the README gives:
///
/// ```python
/// torch.save({"encoder": encoder.state_dict(), "decoder": decoder.state_dict(),
///             "source_vocab": [input_lang.index2word[i] for i in range(input_lang.n_words)],
///             "target_vocab": [output_lang.index2word[i] for i in range(output_lang.n_words)]}, "model.pt")
/// ```
///
/// `AttnDecoderRNN` is exactly MODEL.md's `bahdanau` (query from the previous state, `[e_t; c_t]` into the GRU)
/// with `Wa` as the query, `Ua` as the key and `Va` as the energy layer; `DecoderRNN` reads `relu(e_t)` alone.
/// Ids 0 and 1 are SOS and EOS; sources get EOS appended; there is no pad and no unk (an unknown word is an
/// error for its line, as it is a `KeyError` in the tutorial).
enum TutorialConverter {
    static func convert(checkpoint path: String) throws -> ConvertedModel {
        let ckpt = try TorchCheckpoint(path: path)
        let source = try tokens(ckpt.root["source_vocab"], "source_vocab", path)
        let target = try tokens(ckpt.root["target_vocab"], "target_vocab", path)
        guard target.count >= 2, source.count >= 2 else {
            throw Seq2SeqError.invalidModel("\(path): the vocabularies must hold at least SOS and EOS")
        }
        var enc = try ToolkitWeights(try ckpt.stateDict(at: ["encoder"]), origin: path + " (encoder)")
        var dec = try ToolkitWeights(try ckpt.stateDict(at: ["decoder"]), origin: path + " (decoder)")
        let srcEmb = try enc.take("embedding.weight", shape: [source.count, nil])
        let H = srcEmb.cols
        let tgtEmb = try dec.take("embedding.weight", shape: [target.count, H])
        let attention = dec.has("attention.Wa.weight")
        var out: [(String, DenseTensor)] = [("encoder.embedding.weight", srcEmb), ("decoder.embedding.weight", tgtEmb)]
        func gru(_ w: inout ToolkitWeights, _ prefix: String, input: Int) throws {
            out.append(("\(prefix).weight_ih_l0", try w.take("gru.weight_ih_l0", shape: [3 * H, input])))
            out.append(("\(prefix).weight_hh_l0", try w.take("gru.weight_hh_l0", shape: [3 * H, H])))
            for b in ["bias_ih_l0", "bias_hh_l0"] {
                if let t = try w.takeIfPresent("gru.\(b)", shape: [3 * H]) { out.append(("\(prefix).\(b)", t)) }
            }
        }
        try gru(&enc, "encoder.rnn", input: H)
        try gru(&dec, "decoder.rnn", input: attention ? 2 * H : H)
        if attention {
            for (theirs, ours, shape) in [("Wa", "query", [H, H]), ("Ua", "key", [H, H]), ("Va", "energy", [1, H])] {
                out.append(("decoder.attention.\(ours).weight", try dec.take("attention.\(theirs).weight", shape: shape)))
                if let b = try dec.takeIfPresent("attention.\(theirs).bias", shape: [shape[0]]) { out.append(("decoder.attention.\(ours).bias", b)) }
            }
        }
        out.append(("decoder.output.weight", try dec.take("out.weight", shape: [target.count, H])))
        if let b = try dec.takeIfPresent("out.bias", shape: [target.count]) { out.append(("decoder.output.bias", b)) }
        try enc.requireAllTaken { _ in "not part of the tutorial's EncoderRNN (a single-layer GRU)" }
        try dec.requireAllTaken { _ in "not part of the tutorial's AttnDecoderRNN or DecoderRNN" }

        var config = ModelConfig(
            cell: .gru, sourceVocabSize: source.count, targetVocabSize: target.count, embeddingSize: H, hiddenSize: H,
            bridge: .copy, attention: attention ? .bahdanau : .none, attentionSize: attention ? H : nil,
            tokenizer: .whitespace, specialTokens: .init(pad: nil, bos: 0, eos: 1, unk: nil),
            decoderInputFeed: attention ? nil : .embeddingOnly,
            decoderEmbeddingActivation: attention ? .none : .relu,
            sourceAppendEOS: true, decodingDefaults: .init(beamSize: 1))
        config.formatVersion = 2
        try config.validate()
        let notes = ["the tutorial's evaluate() decodes MAX_LENGTH steps (10 in the tutorial): pass --max-length 10",
                     "input text must be normalized as the tutorial's normalizeString does (lowercase, accents stripped, spaces around punctuation)"]
        return ConvertedModel(toolkit: "pytorch-tutorial", origin: path, config: config, tensors: out,
                              sourceVocabulary: source, targetVocabulary: target, notes: notes)
    }
}
