import ArgumentParser
import Seq2Seq

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time the standard workloads on a model (tokens per second, medians).",
        discussion: """
            W1: greedy, one sentence at a time. W2: greedy, batches of 32. W3: beam 5, one sentence at a time. \
            Every sentence has --source-length random tokens and generates exactly --target-length tokens \
            (min_length = max_length), so every contender does the same work. Prints one line per workload, \
            or JSON with --json.
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .long, help: "Comma-separated workloads: W1, W2, W3.")
    var workloads = "W1,W2,W3"

    @Option(name: .long, help: "Sentences per timed run (default: W1 20, W2 64, W3 10).")
    var sentences: Int?

    @Option(name: .long, help: "Source tokens per sentence.")
    var sourceLength = 32

    @Option(name: .long, help: "Generated tokens per sentence.")
    var targetLength = 32

    @Option(name: .long, help: "Timed runs per workload (the median is reported).")
    var repeats = 5

    @Option(name: .long, help: "engine (OpenBLAS) or reference (the naive Swift equations).")
    var backend: BackendKind = .engine

    @Flag(name: .long, help: "Print one JSON object per workload.")
    var json = false

    @Flag(name: .long, help: "Measure the machine's limits (sgemm, sgemv, memory bandwidth) first, in the same run.")
    var limits = false

    func validate() throws {
        if repeats < 1 || sourceLength < 1 || targetLength < 1 { throw ValidationError("sizes must be at least 1") }
        if let s = sentences, s < 1 { throw ValidationError("--sentences must be at least 1") }
    }

    @Option(name: .long, help: ArgumentHelp("Comma-separated engine configurations timed alternately within each repeat: float32, float16, bfloat16, int8, int8_float16, int8_bfloat16, each optionally with -inv (batch-invariant), e.g. float32,int8,float32-inv. Overrides --compute-type and --batch-invariant."))
    var configs: String?

    func run() throws {
        let configs = try self.configs.map { try $0.split(separator: ",").map { try BenchConfig(parsing: String($0)) } }
            ?? [BenchConfig(parsing: (modelOptions.computeType ?? ComputePrecision(.float32)).description + (modelOptions.batchInvariant ? "-inv" : ""))]
        if configs.isEmpty { throw ValidationError("--configs: no configuration") }
        if backend == .reference && configs.count > 1 { throw ValidationError("--configs applies to the engine backend only") }
        var models: [ComputePrecision: Seq2SeqModel] = [:]
        for t in configs.map(\.computeType) where models[t] == nil {
            var o = modelOptions
            o.computeType = t
            models[t] = o.load()
        }
        let model = models[configs[0].computeType]!
        let c = model.config
        var machine: MachineLimits?
        if limits {
            let shapes = [(c.targetVocabSize, c.hiddenSize), (c.cell.gates * c.hiddenSize, c.hiddenSize)]
            let m = MachineLimits.measure(shapes: shapes)
            machine = m
            if json {
                let batch = m.sgemmBatch.map { "\"sgemm \($0.shape)\": \($0.gflops)" }
                let gemv = m.sgemv.map { "\"sgemv \($0.shape)\": \($0.gbPerSecond)" }
                print("{\"limits\": {\"threads\": \(m.threads), \"sgemm 2048\": \(m.sgemmLarge), " + (batch + gemv).joined(separator: ", ") + ", \"memory_read_gbs\": \(m.memoryRead)}}")
            } else {
                print(m)
            }
        }
        for w in workloads.split(separator: ",").map({ String($0).filter { $0 != " " } }) {
            guard let spec = Workload(rawValue: w) else { throw ValidationError("unknown workload \(w)") }
            let n = sentences ?? spec.defaultSentences
            var rng = UInt64(12345)
            let sources: [[Int]] = (0..<n).map { _ in
                (0..<sourceLength).map { _ in
                    rng = rng &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    return 4 + Int((rng >> 33) % UInt64(max(1, c.sourceVocabSize - 4)))
                }
            }
            let options = DecodingOptions(beamSize: spec.beam, maxLength: targetLength, minLength: targetLength)
            let backends: [Backend] = configs.map { cfg in
                backend == .reference ? makeBackend(.reference, model: model, batchSize: spec.batch)
                    : Translator(model: models[cfg.computeType]!, maxBatchSize: spec.batch, batchInvariant: cfg.invariant)
            }
            func once(_ backend: Backend) throws -> Int {
                var generated = 0
                var i = 0
                while i < n {
                    let chunk = Array(sources[i..<min(i + spec.batch, n)])
                    for t in try backend.translate(chunk, options: options) { generated += t.best.ids.count }
                    i += chunk.count
                }
                return generated
            }
            for b in backends { _ = try b.translate([sources[0]], options: options) }  // warm-up
            var times = [[Double]](repeating: [], count: configs.count)
            var generated = 0
            for r in 0..<repeats {
                // Configurations alternate within each repeat (in reverse order every other repeat), so drift on a
                // shared machine spreads over all of them.
                for k in (r % 2 == 0 ? Array(configs.indices) : configs.indices.reversed()) {
                    let t0 = now()
                    generated = try once(backends[k])
                    times[k].append(now() - t0)
                }
            }
            precondition(generated == n * targetLength, "generated \(generated) tokens, expected \(n * targetLength)")
            let flops = Double(n) * FlopCount(config: c, sourceLength: sourceLength, targetLength: targetLength,
                                               hypotheses: spec.beam).total
            let name = URL_lastComponent(model.directory)
            for (k, cfg) in configs.enumerated() {
                let sorted = times[k].sorted()
                let median = sorted[sorted.count / 2]
                let tps = Double(generated) / median, gflops = flops / median / 1e9
                let traffic = WeightTraffic(config: c, types: models[cfg.computeType]!.computeTypes, sourceLength: sourceLength,
                                            targetLength: targetLength)
                let roof = machine.map { rooflineFraction(workload: spec, tokensPerSecond: tps, gflops: gflops, traffic: traffic, limits: $0) }
                let backendName = backend == .reference ? "reference" : "engine"
                if json {
                    let roofJSON = roof.map { ", \"roofline\": \($0.fraction), \"roofline_of\": \"\($0.of)\"" } ?? ""
                    print("{\"model\": \"\(name)\", \"workload\": \"\(w)\", \"backend\": \"\(backendName)\", \"config\": \"\(cfg.name)\", \"compute_type\": \"\(cfg.computeType)\", \"batch_invariant\": \(cfg.invariant), \"threads\": \(BLASThreads.count), \"sentences\": \(n), \"S\": \(sourceLength), \"T\": \(targetLength), \"median_s\": \(median), \"tok_per_s\": \(tps), \"gflops\": \(gflops), \"weight_mb_per_token\": \(traffic.bytesPerToken / 1e6)\(roofJSON), \"times\": [\(sorted.map { "\($0)" }.joined(separator: ", "))]}")
                } else {
                    let roofText = roof.map { ", \(fmt($0.fraction * 100, 1))% of \($0.of)" } ?? ""
                    print("\(name) \(w) \(backendName) \(cfg.name) threads=\(BLASThreads.count) n=\(n): median \(fmt(median, 4)) s, \(fmt(tps, 1)) tok/s, \(fmt(gflops, 2)) GFLOP/s, \(fmt(traffic.bytesPerToken / 1e6, 2)) MB weights/token\(roofText)")
                }
            }
        }
    }
}

enum Workload: String {
    case W1, W2, W3
    var beam: Int { self == .W3 ? 5 : 1 }
    var batch: Int { self == .W2 ? 32 : 1 }
    var defaultSentences: Int { self == .W1 ? 20 : self == .W2 ? 64 : 10 }
}

/// FLOPs of the matrix products for one sentence (2 per multiply-add), as ../shared/peers/roofline.py counts them.
struct FlopCount {
    let total: Double

    init(config c: ModelConfig, sourceLength S: Int, targetLength T: Int, hypotheses K: Int) {
        let E = Double(c.embeddingSize), H = Double(c.hiddenSize), D = Double(c.encoderOutputSize)
        let G = Double(c.cell.gates) * H, s = Double(S), dirs = c.bidirectionalEncoder ? 2.0 : 1.0
        var enc = 0.0
        for l in 0..<c.encoderLayers {
            let input = l == 0 ? E : D
            enc += dirs * s * 2 * G * (input + H)
        }
        let A = Double(c.attentionSize ?? 0)
        switch c.attention {
        case .bahdanau, .luongConcat: enc += s * 2 * A * D
        case .luongGeneral: enc += s * 2 * H * D
        default: break
        }
        if c.bridge == .linearTanh { enc += Double(c.decoderLayers) * 2 * H * D }
        var step = 0.0
        let I = Double(c.decoderInputSize)
        for l in 0..<c.decoderLayers { step += 2 * G * ((l == 0 ? I : H) + H) }
        switch c.attention {
        case .none: break
        case .bahdanau: step += 2 * A * H + s * 2 * A + s * 2 * D
        case .luongDot, .luongGeneral: step += s * 2 * D + s * 2 * D + 2 * H * (D + H)
        case .luongConcat: step += 2 * A * H + s * 2 * A + s * 2 * D + 2 * H * (D + H)
        }
        step += 2 * H * Double(c.targetVocabSize)
        total = enc + Double(T) * Double(K) * step
    }
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

func fmt(_ x: Double, _ digits: Int) -> String {
    var p = 1.0
    for _ in 0..<digits { p *= 10 }
    let r = (x * p).rounded() / p
    return "\(r)"
}

func URL_lastComponent(_ path: String) -> String { path.split(separator: "/").last.map(String.init) ?? path }
