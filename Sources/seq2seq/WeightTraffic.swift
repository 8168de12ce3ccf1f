// Also compiled into the Workloads benchmark suite (Benchmarks/Benchmarks/Workloads/WeightTraffic.swift is a
// symbolic link to this file): it may use only the Seq2Seq library.
import Seq2Seq

/// Bytes of weights the engine reads per generated token of one sentence decoded alone (W1; W3's hypotheses
/// share each weight read): the decoder step's products once per step, the encoder's recurrent weights once
/// per source position, its input weights, the keys and the bridge once per sentence, spread over the
/// generated tokens. Elements count at their family's compute type (int8 adds 4 bytes of scale per row, and an
/// int8 or bfloat16 output weight the 16 float32 rows it re-scores with).
struct WeightTraffic {
    let bytesPerToken: Double

    init(config c: ModelConfig, types: [WeightFamily: ComputeType], sourceLength S: Int, targetLength T: Int) {
        func bytes(_ rows: Int, _ cols: Int, _ family: WeightFamily) -> Double {
            switch types[family] ?? .float32 {
            case .float32: Double(rows * cols * 4)
            case .float16, .bfloat16: Double(rows * cols * 2)
            case .int8: Double(rows * cols + rows * 4)
            }
        }
        let H = c.hiddenSize, He = c.encoderHidden, D = c.encoderOutputSize, G = c.cell.gates
        let dirs = c.bidirectionalEncoder ? 2 : 1
        var sentence = 0.0
        for l in 0..<c.encoderLayers {
            let input = l == 0 ? c.embeddingSize : D
            sentence += Double(dirs) * (bytes(G * He, input, .encoder) + Double(S) * bytes(G * He, He, .encoder))
        }
        switch c.attention {
        case .bahdanau, .luongConcat: sentence += bytes(c.attentionSize ?? 0, D, .attention)
        case .luongGeneral: sentence += bytes(H, D, .attention)
        default: break
        }
        if c.bridge == .linearTanh || c.bridge == .linear { sentence += Double(c.decoderLayers) * bytes(H, D, .bridge) }
        var step = 0.0
        for l in 0..<c.decoderLayers {
            step += bytes(G * H, l == 0 ? c.decoderInputSize : H, .recurrent) + bytes(G * H, H, .recurrent)
        }
        switch c.attention {
        case .bahdanau: step += bytes(c.attentionSize ?? 0, H, .attention)
        case .luongConcat: step += bytes(c.attentionSize ?? 0, H, .attention) + bytes(H, D + H, .attention)
        case .luongDot, .luongGeneral: step += bytes(H, D + H, .attention)
        case .none: break
        }
        if let o = c.outputProjectionSize { step += bytes(o, H, .output) }
        step += bytes(c.targetVocabSize, c.outputInputSize, .output)
        // int8 or bfloat16 output: 16 float32 rows re-score the best logits (docs/MODEL.md, "Compute types").
        if types[.output]?.rescoresOutput == true { step += Double(16 * c.outputInputSize * 4) }
        bytesPerToken = sentence / Double(max(T, 1)) + step
    }
}
