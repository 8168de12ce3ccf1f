import Foundation
@testable import Seq2Seq
import Testing

/// The decoding session: sentences join and leave between steps, and each gets what it gets alone.
@Suite("Decoding session")
struct SessionTests {
    /// Options for sentence `i`: greedy and beams of several sizes, n-best, length penalty, min/max length.
    static func options(_ i: Int, attention: Bool) -> DecodingOptions {
        switch i % 5 {
        case 0: return DecodingOptions(returnAttention: attention)
        case 1: return DecodingOptions(beamSize: 4, nBest: 3, lengthPenalty: 0.7, returnAttention: attention)
        case 2: return DecodingOptions(beamSize: 2, nBest: 2, maxLength: 5, returnAttention: attention)
        case 3: return DecodingOptions(minLength: 3, returnAttention: attention)
        default: return DecodingOptions(beamSize: 3, minLength: 2, returnAttention: attention)
        }
    }

    static func expectSame(_ a: Translation, _ b: Translation, _ what: String) {
        #expect(a.hypotheses.count == b.hypotheses.count, "\(what): n-best count")
        for (x, y) in zip(a.hypotheses, b.hypotheses) {
            #expect(x.ids == y.ids, "\(what): ids \(x.ids) in the session, \(y.ids) alone")
            guard x.ids == y.ids else { return }
            #expect(x.tokens == y.tokens && x.endedWithEOS == y.endedWithEOS, "\(what): tokens or eos differ")
            #expect(abs(x.logProb - y.logProb) <= 1e-5, "\(what): log_prob \(x.logProb) vs \(y.logProb)")
            #expect(abs(x.score - y.score) <= 1e-5, "\(what): score \(x.score) vs \(y.score)")
            #expect(x.tokenLogProbs.count == y.tokenLogProbs.count, "\(what): token log-probs")
            #expect((x.attention == nil) == (y.attention == nil), "\(what): attention presence")
            if let p = x.attention, let q = y.attention {
                #expect(p.count == q.count && zip(p, q).allSatisfy { $0.count == $1.count }, "\(what): attention shape")
                let d = zip(p.joined(), q.joined()).map { abs(Double($0) - Double($1)) }.max() ?? 0
                #expect(d <= 1e-5, "\(what): attention differs by \(d)")
            }
        }
    }

    /// Adds `sources` a few at a time between steps (sentence i at step `i / perStep`), runs to the end,
    /// and returns the results by sentence index, checking the row bound at every step.
    static func run(_ session: DecodingSession, _ sources: [[Int]], options: (Int) -> DecodingOptions,
                    perStep: Int, cancel: Set<Int> = []) throws -> [Int: Translation] {
        var ids: [Int: Int] = [:]  // session id -> sentence index
        var out: [Int: Translation] = [:]
        var added = 0
        var steps = 0
        while added < sources.count || !session.isIdle {
            for _ in 0..<perStep where added < sources.count {
                ids[try session.add(sources[added], options: options(added))] = added
                added += 1
            }
            // Cancel a sentence a step after it was added (it is then queued or live).
            for (id, i) in ids where cancel.contains(i) && out[i] == nil && i < added - perStep { session.cancel(id) }
            for c in session.step() { out[ids[c.id]!] = c.translation }
            #expect(session.lastStepRows <= session.maxRows)
            steps += 1
            try #require(steps < 10_000, "the session did not finish")
        }
        return out
    }

    @Test("Sentences joining at every step, greedy and beam mixed, equal translate alone", arguments: 0..<BatchTests.configs.count)
    func mixed(_ index: Int) throws {
        let (name, config) = BatchTests.configs[index]
        let dir = try makeRandomModel(config, seed: UInt64(100 + index))
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let model = try Seq2SeqModel(directory: dir)
        let sources = BatchTests.sources(config.sourceVocabSize, seed: UInt64(index))
            + BatchTests.sources(config.sourceVocabSize, seed: UInt64(index + 50))
        let translator = Translator(model: model)
        for attention in [false, true] {
            for (maxRows, perStep) in [(64, 3), (7, 2), (4, 18)] {
                let session = try DecodingSession(model: model, maxRows: maxRows, maxSourceLength: 32)
                let got = try Self.run(session, sources, options: { Self.options($0, attention: attention) }, perStep: perStep)
                #expect(got.count == sources.count)
                for (i, s) in sources.enumerated() {
                    let alone = try translator.translate([s], options: Self.options(i, attention: attention))[0]
                    guard let g = got[i] else { Issue.record("\(name): sentence \(i) never finished"); continue }
                    Self.expectSame(g, alone, "\(name) rows \(maxRows) sentence \(i) (K=\(Self.options(i, attention: attention).beamSize))")
                }
                #expect(session.isIdle && session.liveRows == 0)
            }
        }
    }

    @Test("The embedded date model in a session gives the offline translations")
    func dates() throws {
        let model = try Seq2SeqModel.embeddedDateModel()
        let texts = ["Tuesday, 24 November 2026", "24/11/2026", "nov 24 2026", "24.11.26", "2026 11 24",
                     "the 24th of November, 2026", "1 Jan 1999", "12.3.04"]
        let sources = try texts.map { try model.sourceIDs(for: $0) }
        let session = try DecodingSession(model: model, maxRows: 16, maxSourceLength: 64)
        let got = try Self.run(session, sources, options: { Self.options($0, attention: $0 % 2 == 0) }, perStep: 2)
        let translator = Translator(model: model)
        for (i, s) in sources.enumerated() {
            Self.expectSame(got[i]!, try translator.translate([s], options: Self.options(i, attention: i % 2 == 0))[0], texts[i])
        }
        #expect(model.detokenize(got[1]!.best.ids) == "2026-11-24")
    }

    @Test("Cancelled sentences leave, and the others are unaffected")
    func cancellation() throws {
        let (_, config) = BatchTests.configs[0]
        let dir = try makeRandomModel(config, seed: 100)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let model = try Seq2SeqModel(directory: dir)
        let sources = BatchTests.sources(config.sourceVocabSize, seed: 9)
        let session = try DecodingSession(model: model, maxRows: 12, maxSourceLength: 32)
        let cancel: Set<Int> = [1, 4, 6]
        let options = { (i: Int) in DecodingOptions(beamSize: 1 + i % 3, maxLength: 12, minLength: 6) }
        let got = try Self.run(session, sources, options: options, perStep: 2, cancel: cancel)
        let translator = Translator(model: model)
        for i in sources.indices where !cancel.contains(i) {
            Self.expectSame(got[i]!, try translator.translate([sources[i]], options: options(i))[0], "sentence \(i)")
        }
        for i in cancel { #expect(got[i] == nil, "cancelled sentence \(i) finished") }
        #expect(session.isIdle && session.liveRows == 0)
        #expect(!session.cancel(12345))
    }

    @Test("Bad requests are refused with a message; the session stays usable")
    func refusals() throws {
        let model = try Seq2SeqModel.embeddedDateModel()
        let session = try DecodingSession(model: model, maxRows: 4, maxSourceLength: 8)
        #expect(throws: Seq2SeqError.self) { try session.add([], options: .greedy) }
        #expect(throws: Seq2SeqError.self) { try session.add([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], options: .greedy) }
        #expect(throws: Seq2SeqError.self) { try session.add([4], options: DecodingOptions(beamSize: 5)) }
        #expect(throws: Seq2SeqError.self) { try session.add([-1], options: .greedy) }
        #expect(throws: Seq2SeqError.self) { try session.add([4], options: DecodingOptions(beamSize: 2, nBest: 3)) }
        #expect(throws: Seq2SeqError.self) { try DecodingSession(model: model, maxRows: 0) }
        let id = try session.add(try model.sourceIDs(for: "1.2.03"), options: DecodingOptions(beamSize: 4))
        var done: [DecodingSession.Completed] = []
        for _ in 0..<100 where !session.isIdle { done += session.step() }
        #expect(done.map(\.id) == [id])
        #expect(model.detokenize(done[0].translation.best.ids) == "2003-02-01")
    }

    @Test("A warmed-up session allocates no more working memory")
    func memoryBound() throws {
        let model = try Seq2SeqModel.embeddedDateModel()
        let session = try DecodingSession(model: model, maxRows: 8, maxSourceLength: 40)
        let sources = try ["24/11/2026", "Tuesday, 24 November 2026", "nov 24 2026"].map { try model.sourceIDs(for: $0) }
        _ = try Self.run(session, sources, options: { _ in DecodingOptions(beamSize: 2) }, perStep: 3)
        let held = session.workspaceBytes
        for _ in 0..<3 { _ = try Self.run(session, sources, options: { _ in DecodingOptions(beamSize: 2) }, perStep: 3) }
        #expect(session.workspaceBytes == held)
    }
}
