import Foundation
@testable import Seq2Seq
import Seq2SeqReference
import Testing

/// Stored quantized models (docs/MODEL.md, "Stored quantized models"): written by `writeQuantized`, read in place,
/// bit-identical to quantizing the float model at load, dequantized by the reference, and refused with a clear
/// error when broken.
@Suite("Stored quantized models")
struct StoredQuantizationTests {
    /// A random model with a bidirectional GRU encoder, Bahdanau attention, a bridge, an output projection and a
    /// tied output weight: every family present.
    static func randomConfig(tied: Bool = true) -> ModelConfig {
        var c = ModelConfig(cell: .gru, sourceVocabSize: 19, targetVocabSize: 23, embeddingSize: 9, hiddenSize: 13,
                            encoderLayers: 2, decoderLayers: 2, bidirectionalEncoder: true, bridge: .linearTanh,
                            attention: .bahdanau, attentionSize: 11, tieTargetEmbeddings: tied)
        c.outputProjectionSize = tied ? 9 : nil
        c.formatVersion = tied ? 2 : 1
        return c
    }

    static let sources: [[Int]] = [[4, 5, 6, 7], [8], [9, 10, 11, 12, 13, 14, 15], [16, 17, 4, 18, 5]]

    static func temporary(_ label: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("seq2seq-\(label)-\(UUID().uuidString)").path
    }

    /// Ids, log-probs and attention of every hypothesis as bit patterns.
    static func bits(_ model: Seq2SeqModel, _ options: DecodingOptions) throws -> [[UInt32]] {
        try Translator(model: model, maxBatchSize: 4).translate(sources, options: options).flatMap { t in
            t.hypotheses.map { h in
                h.ids.map { UInt32($0) } + h.tokenLogProbs.map(\.bitPattern) + (h.attention ?? []).flatMap { $0.map(\.bitPattern) }
            }
        }
    }

    @Test("A stored model decodes bit for bit like the float model quantized at load, read in place",
          arguments: [ComputePrecision(.int8), ComputePrecision(.float16), ComputePrecision(.bfloat16),
                      ComputePrecision(.int8, otherFamilies: .float16)], [true, false])
    func bitIdentical(_ precision: ComputePrecision, tied: Bool) throws {
        let type = precision.type, other = precision.otherFamilies
        let floatDir = try makeRandomModel(Self.randomConfig(tied: tied), seed: tied ? 71 : 72)
        let out = Self.temporary("stored")
        defer { try? FileManager.default.removeItem(atPath: floatDir); try? FileManager.default.removeItem(atPath: out) }
        let float = try Seq2SeqModel(directory: floatDir)
        for families in [Set(WeightFamily.allCases), [.output, .attention]] as [Set<WeightFamily>] {
            try float.writeQuantized(to: out, type: type, families: families, otherFamilies: other, overwrite: true)
            let stored = try Seq2SeqModel(directory: out)
            let atLoad = try Seq2SeqModel(directory: floatDir, computeType: type, families: families, otherFamilies: other)
            let quantization = StoredQuantization(type: type, families: families, otherFamilies: other)
            #expect(stored.config.quantization == quantization)
            #expect(stored.computeTypes == atLoad.computeTypes)
            // Zero-copy: every quantized weight points into the mapped file.
            let expected = stored.config.quantizableWeights.filter { quantization.storedType(of: $0.family) != .float32 }
            #expect(Set(stored.store.packed.keys) == Set(expected.map(\.name)))
            for w in expected { #expect(stored.storedType(of: w.name) == quantization.storedType(of: w.family)) }
            for (name, w) in stored.store.packed {
                #expect(stored.store.isMapped(w.base), "\(name) was copied")
                #expect(Int(bitPattern: w.base) % 64 == 0, "\(name) is not 64-byte aligned")
            }
            // int8 or bfloat16 output: re-scored from float32 rows on both, the same rows: `.rescore` in place
            // (untied) or the embedding (tied).
            let rescored = (type == .int8 || type == .bfloat16) && families.contains(.output)
            #expect((stored.weights.outputRescoring != nil) == rescored && (atLoad.weights.outputRescoring != nil) == rescored)
            let rescore = stored.tensor("decoder.output.weight.rescore")
            #expect((rescore != nil) == (rescored && !tied))
            if let rescore, let rows = stored.weights.outputRescoring?.weight {
                #expect(stored.store.isMapped(rescore) && Int(bitPattern: rescore.base) % 64 == 0)
                #expect(rows.base == rescore.base)
                #expect(rescore.scalars.map(\.bitPattern) == float.tensor("decoder.output.weight")!.scalars.map(\.bitPattern))
            }
            if rescored && tied {
                #expect(stored.weights.outputRescoring?.weight.base == stored.tensor("decoder.embedding.weight")!.base)
            }
            for options in [DecodingOptions(returnAttention: true), DecodingOptions(beamSize: 3, nBest: 2, returnAttention: true)] {
                let a = try Self.bits(stored, options), b = try Self.bits(atLoad, options)
                #expect(a == b, "\(type) \(families.map(\.rawValue).sorted()) beam \(options.beamSize): stored and at-load differ")
            }
        }
    }

    @Test("Compute types on a stored model: stored by default, float32 dequantizes, another reduced type is refused")
    func computeTypeChoices() throws {
        let floatDir = try makeRandomModel(Self.randomConfig(), seed: 73)
        let out = Self.temporary("choices")
        defer { try? FileManager.default.removeItem(atPath: floatDir); try? FileManager.default.removeItem(atPath: out) }
        try Seq2SeqModel(directory: floatDir).writeQuantized(to: out, type: .int8, families: [.output, .recurrent])
        let stored = try Seq2SeqModel(directory: out)
        #expect(stored.computeTypes[.output] == .int8 && stored.computeTypes[.recurrent] == .int8 && stored.computeTypes[.encoder] == .float32)
        let f32 = try Seq2SeqModel(directory: out, computeType: .float32)
        #expect(Set(f32.computeTypes.values) == [.float32])
        #expect(f32.store.packed.count == stored.store.packed.count)  // the stored codes stay, dequantized beside them
        // The int8 output weight runs from its float32 rows (tied: the embedding), not dequantized.
        #expect(f32.weights.output.weight.float32?.base == f32.tensor("decoder.embedding.weight")!.base)
        // Float32 over the dequantized weights and the output's float32 rows: the same ids as int8 (re-scored) on
        // these sentences, close log-probs.
        let a = try Translator(model: f32).translate(Self.sources), b = try Translator(model: stored).translate(Self.sources)
        for (x, y) in zip(a, b) {
            #expect(x.best.ids == y.best.ids)
            for (p, q) in zip(x.best.tokenLogProbs, y.best.tokenLogProbs) { #expect(abs(p - q) < 1e-4) }
        }
        // int8 with an extra family quantizes the float-stored encoder at load.
        let more = try Seq2SeqModel(directory: out, computeType: .int8, families: Set(WeightFamily.allCases))
        #expect(Set(more.computeTypes.values) == [.int8])
        let error = #expect(throws: Seq2SeqError.self) { try Seq2SeqModel(directory: out, computeType: .float16) }
        #expect("\(error!)".contains("round them a second time"), "\(error!)")
        let again = #expect(throws: Seq2SeqError.self) { try stored.writeQuantized(to: Self.temporary("again"), type: .int8) }
        #expect("\(again!)".contains("already a stored int8 model"), "\(again!)")
        let own = #expect(throws: Seq2SeqError.self) { try Seq2SeqModel(directory: floatDir).writeQuantized(to: floatDir, type: .int8, overwrite: true) }
        #expect("\(own!)".contains("own directory"), "\(own!)")
        let full = #expect(throws: Seq2SeqError.self) { try Seq2SeqModel(directory: floatDir).writeQuantized(to: out, type: .int8) }
        #expect("\(full!)".contains("not empty"), "\(full!)")
    }

    @Test("The reference dequantizes a stored model and agrees with the engine within the parity tolerances",
          arguments: [ComputeType.int8, .float16, .bfloat16])
    func referenceParity(_ type: ComputeType) throws {
        let picks = ParityCombination.all.enumerated().filter { $0.offset % 9 == 0 || $0.element.config.tieTargetEmbeddings }.map(\.element)
        for combination in picks.prefix(12) {
            let floatDir = try makeRandomModel(combination.config, seed: combination.seed)
            let out = Self.temporary("parity")
            defer { try? FileManager.default.removeItem(atPath: floatDir); try? FileManager.default.removeItem(atPath: out) }
            let stored = try Seq2SeqModel(directory: floatDir).writeQuantized(to: out, type: type, families: Set(WeightFamily.allCases))
            let check = ParityCheck(combination, model: stored)
            var rng = SeededRandom(seed: combination.seed ^ 0x51)
            let sources = ParityTests.sources(3, combination.config, &rng)
            try check.translations(sources, DecodingOptions(returnAttention: true), "\(type) greedy")
            try check.translations(sources, DecodingOptions(beamSize: 3, nBest: 2, maxLength: 10), "\(type) beam")
            try check.scores(sources, sources.map { Array($0.map { $0 % combination.config.targetVocabSize }.prefix(4)) })
        }
    }
}
