import Foundation
import Seq2Seq
import Seq2SeqReference
import Testing

/// Tolerances of engine-vs-reference parity: the engine computes in Float32, the reference in Double.
enum ParityTolerance {
    /// Per-token log-probabilities.
    static let logProb = 1e-4
    /// Attention weights.
    static let attention = 1e-4
    /// Two choices whose log-probabilities (or scores) are this close may be taken either way: the sequences
    /// are accepted as they are and not compared further.
    static let tieGap = 1e-3
    /// A sum of `n` per-token log-probabilities (and its normalized score) may drift by `n` times the per-token bound.
    static func sum(_ n: Int) -> Double { logProb * Double(max(1, n)) }
}

/// The largest `|a_i − b_i|` and where it is.
struct MaxDifference: CustomStringConvertible {
    let index: Int
    let value: Double
    var description: String { "max |difference| \(value) at index \(index)" }

    /// nil when `a` and `b` are both empty; `a` and `b` must have the same count (check the shape first).
    init?(_ a: [Double], _ b: [Double]) {
        precondition(a.count == b.count, "compare shapes before values")
        guard !a.isEmpty else { return nil }
        var index = 0
        var value = -1.0
        for i in 0..<a.count {
            let d = abs(a[i] - b[i])
            if d > value || d.isNaN { index = i; value = d; if d.isNaN { break } }
        }
        self.index = index
        self.value = value
    }
}

/// Compares the engine (`Translator`) with the reference on one combination, recording an issue that names the
/// combination, the request and the field, the index and the size of the largest difference.
struct ParityCheck {
    let combination: ParityCombination
    let model: Seq2SeqModel
    let engine: Translator
    let reference: ReferenceTranslator

    init(_ combination: ParityCombination) throws {
        self.combination = combination
        let dir = try makeRandomModel(combination.config, seed: combination.seed)
        model = try Seq2SeqModel(directory: dir)
        // Loaded (the weights are mapped, the vocabularies read): the files are no longer needed.
        try? FileManager.default.removeItem(atPath: dir)
        engine = Translator(model: model, maxBatchSize: 3)
        reference = ReferenceTranslator(model: model)
    }

    /// The check on a model already loaded (a stored quantized one, say) made for `combination`.
    init(_ combination: ParityCombination, model: Seq2SeqModel) {
        self.combination = combination
        self.model = model
        engine = Translator(model: model, maxBatchSize: 3)
        reference = ReferenceTranslator(model: model)
    }

    private func fail(_ what: String, _ message: String, _ location: SourceLocation) {
        Issue.record("\(combination) — \(what): \(message)", sourceLocation: location)
    }

    /// `values` within `tolerance` of `expected`, shapes first; returns false after recording an issue.
    @discardableResult
    func close(_ what: String, _ values: [Double], _ expected: [Double], tolerance: Double,
               sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        guard values.count == expected.count else {
            fail(what, "engine has \(values.count) values, reference \(expected.count)", sourceLocation)
            return false
        }
        guard let d = MaxDifference(values, expected), !(d.value <= tolerance) else { return true }
        fail(what, "\(d) of \(values.count) (engine \(values[d.index]), reference \(expected[d.index]), tolerance \(tolerance))",
             sourceLocation)
        return false
    }

    /// Teacher-forced scores of `targets` given `sources`, batched in the engine, one by one in the reference.
    func scores(_ sources: [[Int]], _ targets: [[Int]], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let e = try engine.score(sources: sources, targets: targets)
        let r = try reference.score(sources: sources, targets: targets)
        for n in sources.indices {
            let what = "score of sentence \(n) (S \(sources[n].count), target \(targets[n].count))"
            close(what + " token log-probs", e[n].tokenLogProbs, r[n].tokenLogProbs, tolerance: ParityTolerance.logProb,
                  sourceLocation: sourceLocation)
            close(what + " log-prob", [e[n].logProb], [r[n].logProb], tolerance: ParityTolerance.sum(targets[n].count),
                  sourceLocation: sourceLocation)
        }
    }

    /// Translates `sources` with both and compares every hypothesis of every sentence.
    /// Returns how many sequences were accepted at a near-tie and not compared further.
    @discardableResult
    func translations(_ sources: [[Int]], _ options: DecodingOptions, _ label: String,
                      sourceLocation: SourceLocation = #_sourceLocation) throws -> Int {
        let e = try engine.translate(sources, options: options)
        let r = try reference.translate(sources, options: options)
        var ties = 0
        sentences: for n in sources.indices {
            let what = "\(label) sentence \(n) (S \(sources[n].count))"
            guard e[n].hypotheses.count == r[n].hypotheses.count else {
                fail(what, "engine has \(e[n].hypotheses.count) hypotheses, reference \(r[n].hypotheses.count)", sourceLocation)
                continue
            }
            for k in r[n].hypotheses.indices {
                let (he, hr) = (e[n].hypotheses[k], r[n].hypotheses[k])
                let hypothesis = "\(what) hypothesis \(k)"
                if he.ids != hr.ids || he.endedWithEOS != hr.endedWithEOS {
                    if try nearTie(source: sources[n], he, hr, beam: options.beamSize > 1) {
                        ties += 1
                        continue sentences
                    }
                    fail(hypothesis, "ids differ: engine \(he.ids)\(he.endedWithEOS ? " eos" : "") (score \(he.score)), "
                         + "reference \(hr.ids)\(hr.endedWithEOS ? " eos" : "") (score \(hr.score))", sourceLocation)
                    continue sentences
                }
                let steps = hr.tokenLogProbs.count
                close(hypothesis + " token log-probs", he.tokenLogProbs.map(Double.init), hr.tokenLogProbs.map(Double.init),
                      tolerance: ParityTolerance.logProb, sourceLocation: sourceLocation)
                close(hypothesis + " log-prob and score", [he.logProb, he.score], [hr.logProb, hr.score],
                      tolerance: ParityTolerance.sum(steps), sourceLocation: sourceLocation)
                #expect(he.tokens == hr.tokens, "\(combination) — \(hypothesis): tokens differ", sourceLocation: sourceLocation)
                // Attention rows span the source as encoded: with source_append_eos, S + 1.
                let encodedLength = sources[n].count + (model.config.sourceAppendEOS ? 1 : 0)
                compareAttention(hypothesis, he.attention, hr.attention, sourceLength: encodedLength,
                                 steps: steps, expected: options.returnAttention && model.config.attention != .none,
                                 sourceLocation: sourceLocation)
            }
        }
        return ties
    }

    private func compareAttention(_ what: String, _ e: [[Float]]?, _ r: [[Float]]?, sourceLength S: Int, steps: Int,
                                  expected: Bool, sourceLocation: SourceLocation) {
        guard expected else {
            if e != nil || r != nil { fail(what, "attention returned though not asked for or none", sourceLocation) }
            return
        }
        guard let e, let r else { return fail(what, "attention missing (engine \(e != nil), reference \(r != nil))", sourceLocation) }
        guard e.count == steps, r.count == steps else {
            return fail(what, "attention rows: engine \(e.count), reference \(r.count), steps \(steps)", sourceLocation)
        }
        for t in 0..<steps {
            guard e[t].count == S, r[t].count == S else {
                return fail(what, "attention row \(t) lengths: engine \(e[t].count), reference \(r[t].count), S \(S)", sourceLocation)
            }
        }
        close(what + " attention (flattened steps × S)", e.flatMap { $0.map(Double.init) }, r.flatMap { $0.map(Double.init) },
              tolerance: ParityTolerance.attention, sourceLocation: sourceLocation)
    }

    /// Whether differing hypotheses are explained by a near-tie.
    ///
    /// Greedy: at the first step where the two differ, the reference's log-probabilities of the two choices are
    /// within `tieGap`. Beam: the two hypotheses' scores are within `tieGap` (a ranking near-tie).
    private func nearTie(source: [Int], _ he: Hypothesis, _ hr: Hypothesis, beam: Bool) throws -> Bool {
        let eos = model.config.specialTokens.eos
        let te = he.ids + (he.endedWithEOS ? [eos] : [])
        let tr = hr.ids + (hr.endedWithEOS ? [eos] : [])
        if beam { return abs(he.score - hr.score) <= ParityTolerance.tieGap }
        var p = 0
        while p < te.count && p < tr.count && te[p] == tr[p] { p += 1 }
        guard p < te.count && p < tr.count else { return false }
        let prefix = Array(te[..<p])
        let both = try reference.score(sources: [source, source], targets: [prefix + [te[p]], prefix + [tr[p]]])
        return abs(both[0].tokenLogProbs[p] - both[1].tokenLogProbs[p]) <= ParityTolerance.tieGap
    }
}
