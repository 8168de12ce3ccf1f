import Benchmark
import Seq2Seq

/// The engine configurations each workload runs in: every compute type, and batch-invariant float32 and int8.
let engineConfigs: [(type: ComputeType, invariant: Bool, label: String)] = [
    (.float32, false, "float32"), (.int8, false, "int8"), (.float16, false, "float16"), (.bfloat16, false, "bfloat16"),
    (.float32, true, "float32 invariant"), (.int8, true, "int8 invariant"),
]

/// The machine's limits, measured once per suite run (a few seconds), before the first roofline is recorded.
let machineLimits = MachineLimits.measure(shapes: [(32000, 512)])

/// The fraction of the machine's limit a workload reaches, recorded per mille as the custom metric
/// "roofline ‰": for one sentence at a time (W1, W3) the weight bytes streamed per token (`WeightTraffic`)
/// times tokens per second over the measured memory read bandwidth; for batches (W2) the product FLOPs per
/// second over the measured batch-32 sgemm rate.
struct Roofline {
    static let metric = BenchmarkMetric.custom("roofline ‰", polarity: .prefersLarger, useScalingFactor: false)
    let bytesPerToken: Double
    let flopsPerToken: Double
    let tokensPerIteration: Double
    let batch: Bool

    init(model: Seq2SeqModel, workload w: Workload) {
        let c = model.config
        bytesPerToken = WeightTraffic(config: c, types: model.computeTypes, sourceLength: S, targetLength: T).bytesPerToken
        // Decoder products per hypothesis and step (the batch-32 rate is what W2 is read against).
        let H = Double(c.hiddenSize), G = Double(c.cell.gates) * H
        var step = 2 * Double(c.targetVocabSize) * Double(c.outputInputSize)
        for l in 0..<c.decoderLayers { step += 2 * G * ((l == 0 ? Double(c.decoderInputSize) : H) + H) }
        flopsPerToken = step * Double(w.beam)
        tokensPerIteration = Double(w.sentences * T)
        batch = w.batch > 1
    }

    func record(_ benchmark: Benchmark, seconds: Double, iterations: Int) {
        guard seconds > 0, iterations > 0 else { return }
        let tokensPerSecond = tokensPerIteration * Double(iterations) / seconds
        let fraction = batch
            ? flopsPerToken * tokensPerSecond / 1e9 / (machineLimits.sgemmBatch.first?.gflops ?? machineLimits.sgemmLarge)
            : bytesPerToken * tokensPerSecond / (machineLimits.memoryRead * 1e9)
        benchmark.measurement(Self.metric, Int((fraction * 1000).rounded()))
    }
}
