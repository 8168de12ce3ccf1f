// The engine's kernels one by one (EngineKernels.swift), the six workloads of the speed issue (B1/B2 × W1/W2/W3), the engine beside the naive reference, each
// verified (engine and reference agree on the first sentence) before it is timed; and the allocation check:
// decoding 64 tokens must not allocate more than decoding 32, apart from the results.
//   cd Benchmarks && swift package benchmark --target Workloads
import Benchmark
import Seq2Seq
import Seq2SeqReference

let S = 32, T = 32

struct Workload {
    let name: String
    let sentences: Int
    let batch: Int
    let beam: Int
}

let workloads = [Workload(name: "W1", sentences: 1, batch: 1, beam: 1),
                 Workload(name: "W2", sentences: 32, batch: 32, beam: 1),
                 Workload(name: "W3", sentences: 1, batch: 1, beam: 5)]

func options(_ w: Workload, tokens: Int = T) -> DecodingOptions {
    DecodingOptions(beamSize: w.beam, maxLength: tokens, minLength: tokens)
}

/// Engine and reference must give the same ids for the first sentence before either is timed.
func verify(_ model: Seq2SeqModel, _ w: Workload, _ source: [Int]) throws {
    let a = try Translator(model: model).translate([source], options: options(w))[0].best
    let b = try ReferenceTranslator(model: model).translate([source], options: options(w))[0].best
    precondition(a.ids.count == T && a.ids == b.ids && abs(a.logProb - b.logProb) < 1e-3,
                 "\(w.name): engine \(a.ids.prefix(8))… (\(a.logProb)) and reference \(b.ids.prefix(8))… (\(b.logProb)) disagree")
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput, .mallocCountTotal],
                                           timeUnits: .milliseconds, maxDuration: .seconds(5), maxIterations: 50)
    for name in ["b1", "b2"] {
        let model: Seq2SeqModel
        do { model = try BenchModels.load(name) } catch { fatalError("cannot load \(name): \(error)") }
        let sources = BenchModels.sources(32, length: S, vocabulary: model.config.sourceVocabSize)
        var typed: [ComputeType: Seq2SeqModel] = [:]
        for t in [ComputeType.int8, .float16, .bfloat16] {
            do { typed[t] = try BenchModels.load(name, computeType: t) } catch { fatalError("cannot load \(name) as \(t): \(error)") }
        }
        registerKernelBenchmarks(name, model)
        for w in workloads {
            do { try verify(model, w, sources[0]) } catch { fatalError("\(error)") }
            let batch = Array(sources.prefix(w.sentences))
            // throughput counts sentences; tokens/s = throughput × 32 (× sentences per iteration). Every compute
            // type and the batch-invariant mode, each with its roofline (see Roofline.swift).
            for config in engineConfigs {
                let m = config.type == .float32 ? model : typed[config.type]!
                let translator = Translator(model: m, maxBatchSize: w.batch, batchInvariant: config.invariant)
                let label = config.type == .float32 && !config.invariant ? "" : " \(config.label)"
                let roofline = Roofline(model: m, workload: w)
                Benchmark("\(name.uppercased()) \(w.name) engine\(label) (\(w.sentences) sentence\(w.sentences == 1 ? "" : "s") × \(T) tokens)",
                          configuration: .init(metrics: [.wallClock, .throughput, .mallocCountTotal, Roofline.metric])) { benchmark in
                    let t0 = ContinuousClock.now
                    for _ in benchmark.scaledIterations { blackHole(try translator.translate(batch, options: options(w))) }
                    roofline.record(benchmark, seconds: (ContinuousClock.now - t0) / .seconds(1),
                                    iterations: benchmark.scaledIterations.count)
                }
            }
            let reference = ReferenceTranslator(model: model)
            let refBatch = Array(batch.prefix(w.name == "W2" && name == "b2" ? 4 : w.sentences))
            Benchmark("\(name.uppercased()) \(w.name) reference (\(refBatch.count) sentence\(refBatch.count == 1 ? "" : "s") × \(T) tokens)",
                      configuration: .init(maxDuration: .seconds(5), maxIterations: 3)) { benchmark in
                for _ in benchmark.scaledIterations { blackHole(try reference.translate(refBatch, options: options(w))) }
            }
        }
    }

    // Allocations: 32 and 64 generated tokens must allocate the same (no allocation in the decode loop).
    let b1 = try! BenchModels.load("b1")
    let source = BenchModels.sources(1, length: S, vocabulary: 8000)
    let translator = Translator(model: b1)
    for tokens in [32, 64] {
        let o = DecodingOptions(beamSize: 5, maxLength: tokens, minLength: tokens)
        _ = try! translator.translate(source, options: DecodingOptions(beamSize: 5, maxLength: 64, minLength: 64))  // size the workspace
        Benchmark("B1 beam 5 allocations, \(tokens) tokens", configuration: .init(metrics: [.mallocCountTotal], maxIterations: 5)) { benchmark in
            for _ in benchmark.scaledIterations { blackHole(try translator.translate(source, options: o)) }
        }
    }
}
