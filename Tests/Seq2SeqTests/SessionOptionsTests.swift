import Foundation
@testable import Seq2Seq
import Testing

/// The session with every decoding option (MODEL.md "Decoding options"), and in batch-invariant mode bit for bit
/// what `Translator(batchInvariant: true)` gives each sentence alone.
@Suite("Decoding session: options and batch invariance")
struct SessionOptionsTests {
    /// Sentence `i`'s options and target prefix: sampling (top-k, top-p, temperature, several samples), a prefix,
    /// the repetition controls, the length kinds and limits, max_input_length, beams and greedy.
    static func case_(_ i: Int, attention: Bool) -> (DecodingOptions, [Int]) {
        var o = DecodingOptions(returnAttention: attention)
        var prefix: [Int] = []
        switch i % 9 {
        case 0: o.samplingTopK = 0; o.seed = 7
        case 1: o.samplingTopK = 5; o.samplingTopP = 0.8; o.samplingTemperature = 0.7; o.nBest = 3; o.seed = 3
        case 2: o.beamSize = 3; o.nBest = 2; prefix = [5, 4]
        case 3: prefix = [6]; o.repetitionPenalty = 1.5
        case 4: o.beamSize = 2; o.noRepeatNgramSize = 2; o.suppressSequences = [[4, 5], [7]]; o.disableUnk = true
        case 5: o.beamSize = 4; o.nBest = 4; o.lengthPenaltyKind = .wu; o.lengthPenalty = 0.6; o.suppressIDs = [8]
        case 6: o.maxLengthA = 0.5; o.maxLengthB = 3; o.lengthPenaltyKind = .none
        case 7: o.beamSize = 2; o.maxInputLength = 3; o.minLength = 2
        default: o.beamSize = 5; o.nBest = 3; o.repetitionPenalty = 0.8; o.maxLength = 7
        }
        return (o, prefix)
    }

    /// Every bit of two translations: ids, tokens, log-probabilities, scores, token log-probabilities, attention.
    static func expectBits(_ a: Translation, _ b: Translation, _ what: String) {
        #expect(a.hypotheses.count == b.hypotheses.count && a.warnings == b.warnings, "\(what): n-best count or warnings")
        for (x, y) in zip(a.hypotheses, b.hypotheses) {
            #expect(x.ids == y.ids && x.tokens == y.tokens && x.endedWithEOS == y.endedWithEOS, "\(what): ids \(x.ids) vs \(y.ids)")
            #expect(x.logProb.bitPattern == y.logProb.bitPattern && x.score.bitPattern == y.score.bitPattern,
                    "\(what): log_prob \(x.logProb) vs \(y.logProb), score \(x.score) vs \(y.score)")
            #expect(x.tokenLogProbs.map(\.bitPattern) == y.tokenLogProbs.map(\.bitPattern), "\(what): token log-probs")
            #expect(x.attention?.map { $0.map(\.bitPattern) } == y.attention?.map { $0.map(\.bitPattern) }, "\(what): attention")
        }
    }

    /// Adds sentence `i` at step `i / perStep`, runs to the end; results by sentence.
    static func run(_ session: DecodingSession, _ inputs: [TranslationInput], options: (Int) -> DecodingOptions,
                    perStep: Int) throws -> [Int: Translation] {
        var owner: [Int: Int] = [:]
        var out: [Int: Translation] = [:]
        var added = 0
        var steps = 0
        while added < inputs.count || !session.isIdle {
            for _ in 0..<perStep where added < inputs.count {
                owner[try session.add(inputs[added], options: options(added))] = added
                added += 1
            }
            for c in session.step() { out[owner[c.id]!] = c.translation }
            #expect(session.lastStepRows <= session.maxRows)
            steps += 1
            try #require(steps < 10_000, "the session did not finish")
        }
        return out
    }

    static func inputs(_ vocab: Int, seed: UInt64) -> [TranslationInput] {
        (BatchTests.sources(vocab, seed: seed) + BatchTests.sources(vocab, seed: seed + 50)).enumerated().map { i, s in
            TranslationInput(source: s, targetPrefix: case_(i, attention: false).1, index: i)
        }
    }

    @Test("Batch-invariant mode: every option, sentences joining at every step, the same bits as alone", arguments: 0..<BatchTests.configs.count)
    func invariantBits(_ index: Int) throws {
        let (name, config) = BatchTests.configs[index]
        let dir = try makeRandomModel(config, seed: UInt64(300 + index))
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let model = try Seq2SeqModel(directory: dir)
        let inputs = Self.inputs(config.sourceVocabSize, seed: UInt64(index))
        let alone = Translator(model: model, batchInvariant: true)
        for attention in [false, true] {
            // The last: newcomers wait (up to 3 steps) to be encoded four at a time.
            for (maxRows, perStep, group) in [(64, 18, 1), (9, 2, 1), (16, 1, 4)] {
                let session = try DecodingSession(model: model, maxRows: maxRows, maxSourceLength: 32, batchInvariant: true)
                session.minAdmission = group
                session.maxAdmissionWait = group > 1 ? 3 : 0
                let got = try Self.run(session, inputs, options: { Self.case_($0, attention: attention).0 }, perStep: perStep)
                for (i, input) in inputs.enumerated() {
                    let expected = try alone.translate(inputs: [input], options: Self.case_(i, attention: attention).0)[0]
                    guard let g = got[i] else { Issue.record("\(name): sentence \(i) never finished"); continue }
                    Self.expectBits(g, expected, "\(name) rows \(maxRows) sentence \(i) (case \(i % 9))")
                }
            }
        }
    }

    @Test("Default mode: every option gives what translate alone gives (within float tolerance)", arguments: 0..<BatchTests.configs.count)
    func options(_ index: Int) throws {
        let (name, config) = BatchTests.configs[index]
        let dir = try makeRandomModel(config, seed: UInt64(400 + index))
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let model = try Seq2SeqModel(directory: dir)
        let inputs = Self.inputs(config.sourceVocabSize, seed: UInt64(index + 7))
        let session = try DecodingSession(model: model, maxRows: 16, maxSourceLength: 32, batchInvariant: false)
        let got = try Self.run(session, inputs, options: { Self.case_($0, attention: true).0 }, perStep: 3)
        let translator = Translator(model: model, batchInvariant: false)
        for (i, input) in inputs.enumerated() {
            let expected = try translator.translate(inputs: [input], options: Self.case_(i, attention: true).0)[0]
            // Sampling draws compare a uniform against cumulative weights: a last-bit difference in a logit could
            // flip a draw, so sampled sentences are compared in the batch-invariant test only.
            guard !Self.case_(i, attention: true).0.isSampling else { continue }
            SessionTests.expectSame(got[i]!, expected, "\(name) sentence \(i) (case \(i % 9))")
        }
        #expect(got.count == inputs.count && session.isIdle)
    }

    @Test("Options the session refuses: more samples or beam than rows, a bad prefix; the message names them")
    func refusals() throws {
        let model = try Seq2SeqModel.embeddedDateModel()
        let session = try DecodingSession(model: model, maxRows: 4, maxSourceLength: 16, batchInvariant: true)
        let source = try model.sourceIDs(for: "1.2.03")
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "" } catch let e as Seq2SeqError { return e.message } catch { return "\(error)" }
        }
        #expect(message { try session.add(TranslationInput(source: source), options: DecodingOptions(nBest: 5, samplingTopK: 0)) }
            .contains("n_best 5"))
        #expect(message { try session.add(TranslationInput(source: source, targetPrefix: [model.config.specialTokens.eos]), options: .greedy) }
            .contains("target_prefix"))
        #expect(message { try session.add(TranslationInput(source: source), options: DecodingOptions(samplingTopP: 2)) }
            .contains("sampling_topp"))
        let id = try session.add(TranslationInput(source: source), options: DecodingOptions(maxInputLength: 2))
        var done: [DecodingSession.Completed] = []
        for _ in 0..<100 where !session.isIdle { done += session.step() }
        #expect(done.map(\.id) == [id] && done[0].translation.warnings.count == 1)
    }
}
