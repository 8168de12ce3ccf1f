import ArgumentParser
import Seq2Seq

/// One engine configuration of `seq2seq bench --configs`: a compute type, batch-invariant or not.
struct BenchConfig {
    let name: String
    let computeType: ComputeType
    let invariant: Bool

    /// `float32`, `int8`, `float16`, `bfloat16`, each optionally followed by `-inv` (batch-invariant mode).
    init(parsing text: String) throws {
        var base = Substring(text)
        invariant = base.hasSuffix("-inv")
        if invariant { base = base.dropLast(4) }
        guard let type = ComputeType(rawValue: String(base)) else {
            throw ValidationError("--configs: unknown configuration \(text) (float32, float16, bfloat16, int8, each optionally with -inv)")
        }
        computeType = type
        name = text
    }
}

/// Bytes of weights the engine reads per generated token of one sentence decoded alone (W1; W3's hypotheses
/// share each weight read): the decoder step's products once per step, the encoder's recurrent weights once
/// per source position, its input weights, the keys and the bridge once per sentence, spread over the
/// generated tokens. Elements count at their family's compute type (int8 adds 4 bytes of scale per row).
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
        bytesPerToken = sentence / Double(max(T, 1)) + step
    }
}

/// The fraction of the machine's limit a workload reached: weight bytes streamed per second over the measured
/// memory read bandwidth for one sentence at a time (W1, W3), GFLOP/s over the measured sgemm rate at the
/// output product's batch-32 shape for batches (W2).
func rooflineFraction(workload: Workload, tokensPerSecond: Double, gflops: Double, traffic: WeightTraffic,
                      limits: MachineLimits) -> (fraction: Double, of: String) {
    if workload.batch == 1 {
        return (traffic.bytesPerToken * tokensPerSecond / (limits.memoryRead * 1e9), "memory read \(fmt(limits.memoryRead, 1)) GB/s")
    }
    let sgemm = limits.sgemmBatch.first?.gflops ?? limits.sgemmLarge
    return (gflops / sgemm, "sgemm \(limits.sgemmBatch.first?.shape ?? "2048³") \(fmt(sgemm, 1)) GFLOP/s")
}
