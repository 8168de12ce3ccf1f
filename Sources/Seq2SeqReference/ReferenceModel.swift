import Seq2Seq

/// A model's weights in Double and the two things search needs: start a sentence, take a step.
struct ReferenceModel {
    let config: ModelConfig
    let parameters: Parameters
    let encoderWeights: EncoderWeights
    let decoderWeights: DecoderWeights
    /// `suppress_ids`: never chosen by greedy or beam search.
    let suppressed: Set<Int>

    init(_ model: Seq2SeqModel) {
        config = model.config
        parameters = Parameters(model: model)
        encoderWeights = EncoderWeights(parameters, config: config)
        decoderWeights = DecoderWeights(parameters, config: config)
        suppressed = Set(config.suppressIDs)
    }

    /// Encodes `src`, computes its attention keys, and returns the decoder's state before step 1:
    /// `s_0` from the bridge and `h̃_0 = 0`.
    func start(_ src: [Int]) -> (SentenceContext, DecoderState) {
        let enc = encode(src, config: config, weights: encoderWeights, parameters: parameters)
        let sentence = SentenceContext(encoder: enc, keys: attentionKeys(enc.m, decoderWeights.attention))
        let s_0 = bridge(enc, config: config, parameters: parameters)
        let hTilde_0 = [Double](repeating: 0, count: config.hiddenSize)
        return (sentence, DecoderState(s: s_0, hTilde: hTilde_0))
    }

    /// Decoder step: reads `y_{t−1}` and the previous state.
    func step(_ yPrev: Int, _ state: DecoderState, _ sentence: SentenceContext) -> StepOutput {
        decoderStep(yPrev: yPrev, state, sentence, config: config, weights: decoderWeights, parameters: parameters)
    }
}
