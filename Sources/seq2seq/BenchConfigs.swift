import ArgumentParser
import Seq2Seq

/// One engine configuration of `seq2seq bench --configs`: a compute type, batch-invariant or not.
struct BenchConfig {
    let name: String
    let computeType: ComputePrecision
    let invariant: Bool

    /// `float32`, `int8`, `float16`, `bfloat16`, `int8_float16`, `int8_bfloat16`, each optionally followed by `-inv` (batch-invariant mode).
    init(parsing text: String) throws {
        var base = Substring(text)
        invariant = base.hasSuffix("-inv")
        if invariant { base = base.dropLast(4) }
        guard let type = ComputePrecision(String(base)) else {
            throw ValidationError("--configs: unknown configuration \(text) (\(ComputePrecision.spellings), each optionally with -inv)")
        }
        computeType = type
        name = text
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
