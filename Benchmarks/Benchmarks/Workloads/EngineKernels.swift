import Benchmark
@_spi(Benchmarks) import Seq2Seq

/// The engine's kernels one at a time, on the B1 and B2 models: one hypothesis (W1), a beam of 5 (W3) and
/// 32 rows (W2's batch), over a source of 32 tokens.
func registerKernelBenchmarks(_ name: String, _ model: Seq2SeqModel) {
    for rows in [1, 5, 32] {
        let k = _KernelBench(model: model, rows: rows, sourceLength: 32)
        k.decoderStep()
        k.outputAndLogSoftmax()
        let label = "\(name.uppercased()) kernel"
        let config = Benchmark.Configuration(metrics: [.wallClock, .mallocCountTotal], timeUnits: .microseconds,
                                             maxDuration: .seconds(1), maxIterations: 2_000)
        Benchmark("\(label) cell step, \(rows) row(s)", configuration: config) { benchmark in
            for _ in benchmark.scaledIterations { k.cellStep() }
        }
        Benchmark("\(label) attention step, \(rows) row(s)", configuration: config) { benchmark in
            for _ in benchmark.scaledIterations { k.attentionStep() }
        }
        Benchmark("\(label) output projection + log-softmax, \(rows) row(s)", configuration: config) { benchmark in
            for _ in benchmark.scaledIterations { k.outputAndLogSoftmax() }
        }
        if rows > 1 {
            Benchmark("\(label) beam step (rank, select, reorder), \(rows) row(s)", configuration: config) { benchmark in
                for _ in benchmark.scaledIterations { k.beamStep() }
            }
        }
        Benchmark("\(label) whole decoder step, \(rows) row(s)", configuration: config) { benchmark in
            for _ in benchmark.scaledIterations { k.decoderStep() }
        }
    }
}
