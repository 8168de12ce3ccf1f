/// One tensor MODEL.md names for a configuration: its shape and whether it may be absent (biases: zeros).
public struct TensorSpec: Sendable, Equatable {
    /// MODEL.md's name for the tensor.
    public let name: String
    /// The expected shape, outermost first.
    public let shape: [Int]
    /// Whether the tensor may be absent (a bias: zeros).
    public let optional: Bool
}

extension ModelConfig {
    /// Every tensor MODEL.md names for this configuration, in a stable order.
    public var tensorSpecs: [TensorSpec] {
        var specs: [TensorSpec] = []
        func weight(_ name: String, _ shape: [Int]) { specs.append(TensorSpec(name: name, shape: shape, optional: false)) }
        func bias(_ name: String, _ shape: [Int]) { specs.append(TensorSpec(name: name, shape: shape, optional: true)) }
        func linear(_ prefix: String, out: Int, in: Int) {
            weight("\(prefix).weight", [out, `in`])
            bias("\(prefix).bias", [out])
        }
        let E = embeddingSize, H = hiddenSize, D = encoderOutputSize

        func rnn(_ prefix: String, layers: Int, input: Int, hidden: Int, bidirectional: Bool) {
            let G = cell.gates * hidden
            for k in 0..<layers {
                let inSize = k == 0 ? input : (bidirectional ? 2 * hidden : hidden)
                for suffix in bidirectional ? ["", "_reverse"] : [""] {
                    weight("\(prefix).weight_ih_l\(k)\(suffix)", [G, inSize])
                    weight("\(prefix).weight_hh_l\(k)\(suffix)", [G, hidden])
                    bias("\(prefix).bias_ih_l\(k)\(suffix)", [G])
                    bias("\(prefix).bias_hh_l\(k)\(suffix)", [G])
                }
            }
        }

        weight("encoder.embedding.weight", [sourceVocabSize, E])
        rnn("encoder.rnn", layers: encoderLayers, input: E, hidden: encoderHidden, bidirectional: bidirectionalEncoder)
        switch bridge {
        case .linearTanh:
            for k in 0..<decoderLayers { linear("bridge.\(k)", out: H, in: D) }
        case .linear:
            for k in 0..<decoderLayers { linear("bridge.\(k)", out: H, in: bridgeInputSize) }
            if bridgeCell == .linear {
                for k in 0..<decoderLayers { linear("bridge_cell.\(k)", out: H, in: bridgeInputSize) }
            }
        case .copy, .zeros:
            break
        }
        weight("decoder.embedding.weight", [targetVocabSize, E])
        rnn("decoder.rnn", layers: decoderLayers, input: decoderInputSize, hidden: H, bidirectional: false)
        let A = attentionSize ?? 0
        switch attention {
        case .none, .luongDot:
            break
        case .bahdanau:
            linear("decoder.attention.key", out: A, in: D)
            linear("decoder.attention.query", out: A, in: H)
            linear("decoder.attention.energy", out: 1, in: A)
        case .luongGeneral:
            linear("decoder.attention.key", out: H, in: D)
        case .luongConcat:
            linear("decoder.attention.query", out: A, in: H)
            linear("decoder.attention.key", out: A, in: D)
            linear("decoder.attention.energy", out: 1, in: A)
        }
        if attention.isLuong { linear("decoder.attention.combine", out: H, in: D + H) }
        if let O = outputProjectionSize { linear("decoder.output_projection", out: O, in: H) }
        if !tieTargetEmbeddings { weight("decoder.output.weight", [targetVocabSize, outputInputSize]) }
        bias("decoder.output.bias", [targetVocabSize])
        return specs
    }

    /// The number of parameters MODEL.md's tensors hold for this configuration (biases included).
    public var parameterCount: Int { tensorSpecs.reduce(0) { $0 + $1.shape.reduce(1, *) } }
}
