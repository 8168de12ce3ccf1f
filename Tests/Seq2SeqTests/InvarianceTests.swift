import Foundation
@testable import Seq2Seq
import Testing

/// Batch-invariant mode: a sentence's ids, log-probabilities and attention are the same bits alone, in any batch,
/// at any batch size, greedy or beam, in every compute type, and with any thread count.
@Suite("Batch invariance in bits")
struct InvarianceTests {
    /// Large enough that products are split across the pool and batches pass the kernel/GEMM threshold.
    static let configs: [(String, ModelConfig)] = [
        ("gru bahdanau copy", ModelConfig(cell: .gru, sourceVocabSize: 50, targetVocabSize: 300, embeddingSize: 32, hiddenSize: 64,
                                          bridge: .copy, attention: .bahdanau, attentionSize: 48)),
        ("lstm luong_general linear bi 2/2", ModelConfig(cell: .lstm, sourceVocabSize: 40, targetVocabSize: 260, embeddingSize: 24,
                                                         hiddenSize: 40, encoderLayers: 2, decoderLayers: 2, bidirectionalEncoder: true,
                                                         bridge: .linearTanh, attention: .luongGeneral)),
        ("gru luong_dot tied", ModelConfig(cell: .gru, sourceVocabSize: 30, targetVocabSize: 200, embeddingSize: 48, hiddenSize: 48,
                                           bridge: .copy, attention: .luongDot, tieTargetEmbeddings: true)),
    ]

    static func sources(_ vocab: Int, count: Int, seed: UInt64) -> [[Int]] {
        var rng = SeededRandom(seed: seed)
        return (0..<count).map { i in (0..<(1 + (i * 7) % 19)).map { _ in Int(rng.next() % UInt64(vocab)) } }
    }

    static func bits(_ t: Translation) -> [[UInt32]] {
        t.hypotheses.flatMap { h in
            [h.ids.map { UInt32(truncatingIfNeeded: $0) }, [Float(h.logProb).bitPattern, UInt32(truncatingIfNeeded: h.logProb.bitPattern >> 32)],
             h.tokenLogProbs.map(\.bitPattern), (h.attention ?? []).flatMap { $0.map(\.bitPattern) }]
        }
    }

    @Test("Alone, in batches of 2, 5, 16 and all 21, and at batch limits 1 and 3: the same bits",
          arguments: 0..<configs.count, [ComputeType.float32, .int8, .float16])
    func batches(_ index: Int, _ type: ComputeType) throws {
        let (name, config) = Self.configs[index]
        let dir = try makeRandomModel(config, seed: UInt64(500 + index))
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let model = try Seq2SeqModel(directory: dir, computeType: type)
        let srcs = Self.sources(config.sourceVocabSize, count: 21, seed: UInt64(index))
        let translator = Translator(model: model, batchInvariant: true)
        for options in [DecodingOptions(maxLength: 12, returnAttention: true),
                        DecodingOptions(beamSize: 4, nBest: 2, maxLength: 12, returnAttention: true)] {
            let alone = try srcs.map { try translator.translate([$0], options: options)[0] }
            for size in [2, 5, 16, 21] {
                var i = 0
                while i < srcs.count {
                    let chunk = Array(srcs[i..<min(i + size, srcs.count)])
                    let got = try translator.translate(chunk, options: options)
                    for (j, t) in got.enumerated() {
                        #expect(Self.bits(t) == Self.bits(alone[i + j]),
                                "\(name) \(type) K=\(options.beamSize): sentence \(i + j) in a batch of \(size) differs from alone")
                    }
                    i += size
                }
            }
            for limit in [1, 3] {
                let limited = Translator(model: model, maxBatchSize: limit, batchInvariant: true)
                let got = try limited.translate(srcs, options: options)
                for i in srcs.indices {
                    #expect(Self.bits(got[i]) == Self.bits(alone[i]), "\(name) \(type) K=\(options.beamSize) limit \(limit): sentence \(i)")
                }
            }
            // Scores too.
            let targets = alone.map { $0.best.ids }
            let scored = try translator.score(sources: srcs, targets: targets)
            for i in srcs.indices {
                let one = try translator.score(sources: [srcs[i]], targets: [targets[i]])[0]
                #expect(scored[i].tokenLogProbs.map(\.bitPattern) == one.tokenLogProbs.map(\.bitPattern), "\(name) \(type): score \(i)")
            }
        }
    }

    /// The bidirectional model runs its two encoder directions at once on two threads, each pass's products on its
    /// own thread (a pool thread has no task-local policy of its own: the pass carries the caller's).
    @Test("One thread and two threads print the same bytes (command line, jsonl with attention)", arguments: [0, 1])
    func threads(_ index: Int) throws {
        let (_, config) = Self.configs[index]
        let dir = try makeRandomModel(config, seed: UInt64(500 + index))
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = Self.sources(config.sourceVocabSize, count: 21, seed: 0)
            .map { "{\"source_ids\": \($0)}" }.joined(separator: "\n") + "\n"
        for extra in [["--beam-size", "1"], ["--beam-size", "4", "--compute-type", "int8"]] {
            var outputs: [String] = []
            for threads in ["1", "2"] {
                let r = try CLITests.run(["translate", "--model", dir, "--format", "jsonl", "--attention", "--batch-invariant",
                                          "--threads", threads, "--max-length", "12"] + extra, stdin: input)
                #expect(r.status == 0, "stderr: \(r.stderr)")
                outputs.append(r.stdout)
            }
            #expect(outputs[0] == outputs[1], "\(extra): 1 and 2 threads differ")
            #expect(!outputs[0].isEmpty)
        }
    }

    @Test("SEQ2SEQ_FORCE_ISA=avx512, avx2 and scalar print the same bytes as the widest kernels (command line, int8 and float32)")
    func forcedScalar() throws {
        let cli = try #require(Fixtures.cliPath, "the seq2seq executable was not found")
        let (_, config) = Self.configs[1]
        let dir = try makeRandomModel(config, seed: 501)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = Self.sources(config.sourceVocabSize, count: 9, seed: 1).map { "{\"source_ids\": \($0)}" }.joined(separator: "\n") + "\n"
        for type in ["float32", "int8", "int8_float16"] {
            var outputs: [String] = []
            for force in [nil, "avx2", "scalar", "avx512"] as [String?] {
                let p = Process()
                p.executableURL = URL(fileURLWithPath: cli)
                p.arguments = ["translate", "--model", dir, "--format", "jsonl", "--attention", "--batch-invariant",
                               "--beam-size", "3", "--max-length", "10", "--compute-type", type]
                var env = ProcessInfo.processInfo.environment
                env["SEQ2SEQ_FORCE_ISA"] = force
                p.environment = env
                let out = Pipe(), inp = Pipe()
                p.standardOutput = out
                p.standardInput = inp
                try p.run()
                inp.fileHandleForWriting.write(Data(input.utf8))
                try inp.fileHandleForWriting.close()
                let data = out.fileHandleForReading.readDataToEndOfFile()
                p.waitUntilExit()
                #expect(p.terminationStatus == 0)
                outputs.append(String(decoding: data, as: UTF8.self))
            }
            #expect(!outputs[0].isEmpty && outputs[0] == outputs[1], "\(type): AVX2 and the widest kernels differ")
            #expect(outputs[0] == outputs[2], "\(type): the scalar fallback and the widest kernels differ")
            #expect(outputs[0] == outputs[3], "\(type): AVX-512 without VNNI and the widest kernels differ")
        }
    }
}
