import Foundation
@testable import Seq2Seq
import Testing

/// MODEL.md "Decoding options" through the library: reproducible sampling, prefixes, repetition controls, length
/// rules, and validation that names the option.
@Suite("Decoding options")
struct DecodingOptionsTests {
    static let config = ModelConfig(cell: .gru, sourceVocabSize: 23, targetVocabSize: 41, embeddingSize: 12, hiddenSize: 16,
                                    bridge: .linearTanh, attention: .bahdanau, attentionSize: 8)

    static func model(_ config: ModelConfig = config, seed: UInt64 = 7) throws -> Seq2SeqModel {
        let dir = try makeRandomModel(config, seed: seed)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        return try Seq2SeqModel(directory: dir)
    }

    static func sources(_ count: Int, seed: UInt64) -> [[Int]] {
        var rng = SeededRandom(seed: seed)
        return (0..<count).map { _ in (0..<Int.random(in: 1...12, using: &rng)).map { _ in Int.random(in: 0..<23, using: &rng) } }
    }

    @Test("Sampling is reproducible whatever the batch, its size and order, the thread count and the other sentences")
    func samplingReproducible() throws {
        let model = try Self.model()
        let sources = Self.sources(12, seed: 3)
        let inputs = sources.enumerated().map { TranslationInput(source: $1, index: $0) }
        let options = DecodingOptions(nBest: 3, samplingTopK: 0, samplingTemperature: 1.2, seed: 2024)
        let reference = try Translator(model: model).translate(inputs: inputs, options: options)
        let saved = BLASThreads.count
        defer { BLASThreads.count = saved }
        var rng = SeededRandom(seed: 11)
        for (batch, threads) in [(1, 1), (2, 2), (5, 1), (64, 2)] {
            BLASThreads.count = threads
            let translator = Translator(model: model, maxBatchSize: batch)
            // A shuffled subset, with sentences the reference run never saw in between.
            var mixed = inputs.shuffled(using: &rng).prefix(8).map { $0 }
            mixed.insert(TranslationInput(source: [1, 2, 3, 4, 5, 6, 7], index: 99), at: 3)
            let out = try translator.translate(inputs: mixed, options: options)
            for (input, t) in zip(mixed, out) where input.index! < inputs.count {
                let want = reference[input.index!]
                #expect(t.hypotheses.map(\.ids) == want.hypotheses.map(\.ids),
                        "batch \(batch), threads \(threads): sentence \(input.index!) sampled differently")
                #expect(zip(t.hypotheses, want.hypotheses).allSatisfy { abs($0.logProb - $1.logProb) < 1e-4 })
            }
        }
        // The position in the request seeds the stream: without explicit indices, position i is sentence i.
        let plain = try Translator(model: model).translate(sources, options: options)
        #expect(plain.map { $0.hypotheses.map(\.ids) } == reference.map { $0.hypotheses.map(\.ids) })
        // Another seed gives other samples; n-best 1 gives one of the samples of n-best 3.
        var other = options
        other.seed = 2025
        let changed = try Translator(model: model).translate(inputs: inputs, options: other)
        #expect(changed.map { $0.hypotheses.map(\.ids) } != reference.map { $0.hypotheses.map(\.ids) })
        var single = options
        single.nBest = 1
        let one = try Translator(model: model).translate(inputs: inputs, options: single)
        for (a, b) in zip(one, reference) { #expect(b.hypotheses.map(\.ids).contains(a.best.ids)) }
    }

    @Test("A tiny top-p keeps only the best token: sampling then equals greedy decoding")
    func tinyTopPIsGreedy() throws {
        let model = try Self.model()
        let sources = Self.sources(6, seed: 5)
        let greedy = try Translator(model: model).translate(sources, options: .greedy)
        let sampled = try Translator(model: model).translate(sources, options: DecodingOptions(samplingTopK: 0, samplingTopP: 1e-9))
        #expect(greedy.map(\.best.ids) == sampled.map(\.best.ids))
        let top1 = try Translator(model: model).translate(sources, options: DecodingOptions(samplingTopK: 1, seed: 9))
        #expect(greedy.map(\.best.ids) == top1.map(\.best.ids))
    }

    @Test("Samples of the first token follow the model's distribution (and top-k keeps only the k best)")
    func samplingFrequencies() throws {
        let model = try Self.model(ModelConfig(cell: .gru, sourceVocabSize: 9, targetVocabSize: 6, embeddingSize: 4, hiddenSize: 4,
                                               bridge: .zeros, attention: .none), seed: 3)
        let source = [1, 2, 3]
        let n = 4000
        // Four sentences (positions 0–3, four streams) of 1,000 samples each.
        let options = DecodingOptions(nBest: 1000, maxLength: 1, samplingTopK: 0, seed: 1)
        let out = try Translator(model: model).translate(Array(repeating: source, count: 4), options: options)
        let eos = model.config.specialTokens.eos
        var counts = [Int](repeating: 0, count: 6)
        for h in out.flatMap(\.hypotheses) { counts[h.endedWithEOS ? eos : h.ids[0]] += 1 }
        let p = try (0..<6).map { y in exp(try Translator(model: model).score(sources: [source], targets: [[y]])[0].logProb) }
        for y in 0..<6 {
            let expected = Double(n) * p[y]
            let sd = (Double(n) * p[y] * (1 - p[y])).squareRoot()
            #expect(abs(Double(counts[y]) - expected) <= 4 * sd + 1, "token \(y): \(counts[y]) draws, expected \(expected) ± \(sd)")
        }
        var topK = options
        topK.samplingTopK = 2
        let best2 = Set(p.indices.sorted { p[$0] > p[$1] }.prefix(2))
        let limited = try Translator(model: model).translate([source], options: topK)[0]
        #expect(Set(limited.hypotheses.map { $0.endedWithEOS ? eos : $0.ids[0] }) == best2)
    }

    @Test("A target prefix is forced, scored like any other token, and decoding continues from it")
    func targetPrefix() throws {
        let model = try Self.model()
        let translator = Translator(model: model)
        let source = [4, 9, 2, 17]
        let prefix = [5, 5, 30]
        for options in [DecodingOptions(), DecodingOptions(beamSize: 4, nBest: 2), DecodingOptions(nBest: 2, samplingTopK: 5)] {
            let t = try translator.translate(inputs: [TranslationInput(source: source, targetPrefix: prefix)], options: options)[0]
            for h in t.hypotheses {
                #expect(Array(h.ids.prefix(3)) == prefix)
                let scored = try translator.score(sources: [source], targets: [Array(h.ids.prefix(3))])[0]
                for i in 0..<3 { #expect(abs(Double(h.tokenLogProbs[i]) - scored.tokenLogProbs[i]) < 1e-5) }
            }
        }
        #expect(throws: Seq2SeqError.self) {
            try translator.translate(inputs: [TranslationInput(source: source, targetPrefix: [model.config.specialTokens.eos])])
        }
        #expect(throws: Seq2SeqError.self) {
            try translator.translate(inputs: [TranslationInput(source: source, targetPrefix: [1, 2, 41])])
        }
        #expect(throws: Seq2SeqError.self) {
            try translator.translate(inputs: [TranslationInput(source: source, targetPrefix: [5, 5, 5])],
                                     options: DecodingOptions(maxLength: 2))
        }
    }

    @Test("No n-gram of the size given repeats, the penalty and suppressed ids hold, unk is not chosen")
    func repetitionControls() throws {
        let model = try Self.model()
        let translator = Translator(model: model)
        let sources = Self.sources(8, seed: 9)
        for n in 1...3 {
            for K in [1, 3] {
                let out = try translator.translate(sources, options: DecodingOptions(beamSize: K, maxLength: 30, minLength: 10,
                                                                                     noRepeatNgramSize: n))
                for t in out {
                    let ids = t.best.ids
                    var seen = Set<[Int]>()
                    if ids.count >= n {
                        for j in 0...(ids.count - n) {
                            #expect(seen.insert(Array(ids[j..<(j + n)])).inserted, "n \(n) K \(K): \(ids) repeats \(ids[j..<(j + n)])")
                        }
                    }
                }
            }
        }
        let unk = model.config.specialTokens.unk!
        let plain = try translator.translate(sources, options: DecodingOptions(maxLength: 20))
        let common = Dictionary(plain.flatMap(\.best.ids).map { ($0, 1) }, uniquingKeysWith: +).max { $0.value < $1.value }!.key
        let suppressed = try translator.translate(sources, options: DecodingOptions(maxLength: 20, disableUnk: true, suppressIDs: [common],
                                                                                    suppressSequences: [[7, 8]]))
        for t in suppressed {
            #expect(!t.best.ids.contains(common) && !t.best.ids.contains(unk))
            #expect(!zip(t.best.ids, t.best.ids.dropFirst()).contains { $0 == 7 && $1 == 8 })
        }
    }

    @Test("Length penalty kinds, max length a·S + b, and cut sources")
    func lengthRules() throws {
        let model = try Self.model()
        let translator = Translator(model: model)
        let sources = Self.sources(6, seed: 13)
        for kind in LengthPenaltyKind.allCases {
            let out = try translator.translate(sources, options: DecodingOptions(beamSize: 3, lengthPenalty: 0.8, lengthPenaltyKind: kind))
            for t in out {
                let L = Double(t.best.tokenLogProbs.count)
                let want: Double = switch kind {
                case .avg: t.best.logProb / pow(L, 0.8)
                case .wu: t.best.logProb / pow((5 + L) / 6, 0.8)
                case .none: t.best.logProb
                }
                #expect(abs(t.best.score - want) < 1e-9)
            }
        }
        let relative = DecodingOptions(minLength: 100, maxLengthA: 0.5, maxLengthB: 3)
        for (s, t) in zip(sources, try translator.translate(sources, options: relative)) {
            #expect(t.best.ids.count == s.count / 2 + 3)
        }
        let long = Array(repeating: 3, count: DecodingOptions.maxSourceLength + 10)
        #expect(throws: Seq2SeqError.self) { try translator.translate([long]) }
        let cut = try translator.translate([long, [1, 2]], options: DecodingOptions(maxLength: 3, maxInputLength: 5))
        #expect(cut[0].warnings.count == 1 && cut[0].warnings[0].contains("max_input_length"))
        #expect(cut[1].warnings.isEmpty)
        #expect(cut[0].best.ids == (try translator.translate([Array(long.prefix(5))], options: DecodingOptions(maxLength: 3)))[0].best.ids)
    }

    @Test("Each invalid option is refused with a message naming it")
    func validation() throws {
        let model = try Self.model()
        let translator = Translator(model: model)
        let eos = model.config.specialTokens.eos
        let cases: [(DecodingOptions, String)] = [
            (DecodingOptions(samplingTopK: -1), "sampling_topk"),
            (DecodingOptions(samplingTopK: 0, samplingTopP: 0), "sampling_topp"),
            (DecodingOptions(samplingTopK: 0, samplingTopP: 1.5), "sampling_topp"),
            (DecodingOptions(samplingTopK: 0, samplingTemperature: 0), "sampling_temperature"),
            (DecodingOptions(samplingTemperature: .infinity), "sampling_temperature"),
            (DecodingOptions(beamSize: 2, samplingTopK: 5), "beam_size"),
            (DecodingOptions(nBest: 5000, samplingTopK: 5), "n_best"),
            (DecodingOptions(noRepeatNgramSize: -2), "no_repeat_ngram_size"),
            (DecodingOptions(repetitionPenalty: 0), "repetition_penalty"),
            (DecodingOptions(repetitionPenalty: .nan), "repetition_penalty"),
            (DecodingOptions(suppressIDs: [41]), "suppress_ids"),
            (DecodingOptions(suppressIDs: [eos]), "suppress_ids"),
            (DecodingOptions(suppressSequences: [[]]), "suppress_sequences"),
            (DecodingOptions(suppressSequences: [[1, -1]]), "suppress_sequences"),
            (DecodingOptions(suppressSequences: [[1, eos]]), "suppress_sequences"),
            (DecodingOptions(beamSize: 40, suppressIDs: [4, 5]), "beam size"),
            (DecodingOptions(maxLengthA: -1), "max_length_a"),
            (DecodingOptions(maxLengthB: -1), "max_length_b"),
            (DecodingOptions(maxInputLength: 0), "max_input_length"),
        ]
        for (options, name) in cases {
            do {
                _ = try translator.translate([[1, 2]], options: options)
                Issue.record("\(name): accepted")
            } catch let e as Seq2SeqError {
                #expect(e.description.contains(name), "\(name): message \(e.description)")
            }
        }
    }

    @Test("The random stream is MODEL.md's SplitMix64")
    func randomStream() {
        // SplitMix64 from state 0 gives 0xE220A8397B1DCDAF first (the published reference value).
        var s = RandomStream(state: 0)
        #expect(s.next() == 0xE220_A839_7B1D_CDAF)
        var a = RandomStream(seed: 42, sentence: 3, sample: 1)
        let b = RandomStream(seed: 42, sentence: 3, sample: 1)
        #expect(a.state == b.state)
        #expect(a.state == RandomStream.mix(RandomStream.mix(RandomStream.mix(42) &+ 3) &+ 1))
        let u = a.uniform()
        #expect(u >= 0 && u < 1)
    }
}
