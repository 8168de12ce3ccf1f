import Foundation
import Seq2Seq
import Seq2SeqReference
import Testing

/// The decoding options of MODEL.md "Decoding options" on the parity grid: the engine against the reference for
/// sampling (ids compared exactly, the same random streams), target prefixes, repetition controls, length
/// penalty kinds, relative max lengths and cut sources, every combination with its own drawn settings.
@Suite("Parity: decoding options, engine vs reference")
struct OptionsParityTests {
    /// Inputs: `ParityTests.sources` with target prefixes of 0–3 ids (never eos) and positions 10, 11, ….
    static func inputs(_ count: Int, _ c: ModelConfig, _ rng: inout SeededRandom, prefixes: Bool) -> [TranslationInput] {
        let eos = c.specialTokens.eos
        return ParityTests.sources(count, c, &rng).enumerated().map { i, s in
            let n = prefixes ? Int.random(in: 0...3, using: &rng) : 0
            let prefix = (0..<n).map { _ in
                var y = Int.random(in: 0..<c.targetVocabSize, using: &rng)
                if y == eos { y = (y + 1) % c.targetVocabSize }
                return y
            }
            return TranslationInput(source: s, targetPrefix: prefix, index: 10 + i)
        }
    }

    /// An id to suppress that is not eos, when the vocabulary leaves room for a beam of `K` after it.
    static func suppressible(_ c: ModelConfig, K: Int, _ rng: inout SeededRandom) -> [Int] {
        guard c.targetVocabSize - 3 >= K else { return [] }
        var y = Int.random(in: 0..<c.targetVocabSize, using: &rng)
        if y == c.specialTokens.eos { y = (y + 1) % c.targetVocabSize }
        return [y]
    }

    @Test("Sampling agrees: top-k, top-p, temperature, n samples, prefixes", arguments: ParityCombination.all)
    func sampling(_ combination: ParityCombination) throws {
        let check = try ParityCheck(combination)
        let c = combination.config
        var rng = SeededRandom(seed: combination.seed ^ 0x5A3)
        let inputs = Self.inputs(4, c, &rng, prefixes: true)
        let topK = [0, 2, 3, 8].randomElement(using: &rng)!
        let topP = [1.0, 0.9, 0.6].randomElement(using: &rng)!
        let temperature = [1.0, 0.7, 1.5].randomElement(using: &rng)!
        let options = DecodingOptions(nBest: 3, maxLength: 10, samplingTopK: topK, samplingTopP: topP,
                                      samplingTemperature: temperature, seed: combination.seed)
        try check.optionTranslations(inputs, options, "sampling k \(topK) p \(topP) T \(temperature)")
        // With repetition controls and min length too.
        var controlled = options
        controlled.nBest = 2
        controlled.samplingTopK = 0
        controlled.minLength = 2
        controlled.repetitionPenalty = 1.4
        controlled.noRepeatNgramSize = 2
        try check.optionTranslations(inputs, controlled, "sampling with penalty 1.4, no-repeat 2, min 2")
    }

    @Test("Greedy agrees with prefixes and repetition controls", arguments: ParityCombination.all)
    func greedy(_ combination: ParityCombination) throws {
        let check = try ParityCheck(combination)
        let c = combination.config
        var rng = SeededRandom(seed: combination.seed ^ 0x6C7)
        let inputs = Self.inputs(4, c, &rng, prefixes: true)
        let options = DecodingOptions(maxLength: 9, noRepeatNgramSize: [1, 2, 3].randomElement(using: &rng)!,
                                      repetitionPenalty: [1.0, 1.3, 0.8].randomElement(using: &rng)!,
                                      disableUnk: Bool.random(using: &rng),
                                      suppressIDs: Self.suppressible(c, K: 1, &rng),
                                      suppressSequences: [[Int.random(in: 0..<c.targetVocabSize, using: &rng),
                                                           Int.random(in: 0..<c.targetVocabSize, using: &rng)]]
                                          .filter { !$0.contains(c.specialTokens.eos) },
                                      lengthPenaltyKind: [.avg, .wu, .none].randomElement(using: &rng)!)
        try check.optionTranslations(inputs, options, "greedy \(options.shortDescription)")
    }

    @Test("Beam search agrees with prefixes, repetition controls and length penalty kinds", arguments: ParityCombination.all)
    func beam(_ combination: ParityCombination) throws {
        let check = try ParityCheck(combination)
        let c = combination.config
        var rng = SeededRandom(seed: combination.seed ^ 0xBE2)
        let inputs = Self.inputs(3, c, &rng, prefixes: true)
        let K = 3
        let options = DecodingOptions(beamSize: K, nBest: 2, lengthPenalty: [0.6, 1.0].randomElement(using: &rng)!,
                                      noRepeatNgramSize: [0, 2].randomElement(using: &rng)!,
                                      repetitionPenalty: [1.0, 1.5].randomElement(using: &rng)!,
                                      suppressIDs: Self.suppressible(c, K: K, &rng),
                                      lengthPenaltyKind: [.avg, .wu, .none].randomElement(using: &rng)!,
                                      maxLengthA: 1.5, maxLengthB: 2)
        try check.optionTranslations(inputs, options, "beam 3 \(options.shortDescription)")
    }

    @Test("Cut sources agree (max_input_length) and carry a warning", arguments: ParityCombination.all.prefix(12))
    func cutSources(_ combination: ParityCombination) throws {
        let check = try ParityCheck(combination)
        var rng = SeededRandom(seed: combination.seed ^ 0xC07)
        let inputs = Self.inputs(3, combination.config, &rng, prefixes: false)
        let options = DecodingOptions(maxInputLength: 3)
        try check.optionTranslations(inputs, options, "max input length 3")
        let out = try check.engine.translate(inputs: inputs, options: options)
        for (input, t) in zip(inputs, out) {
            #expect(t.warnings.isEmpty == (input.source.count <= 3), "\(combination): warnings \(t.warnings) for a source of \(input.source.count)")
        }
    }
}

extension DecodingOptions {
    /// The options' settings that differ from the defaults, for test labels.
    var shortDescription: String {
        var parts: [String] = []
        if noRepeatNgramSize > 0 { parts.append("no-repeat \(noRepeatNgramSize)") }
        if repetitionPenalty != 1 { parts.append("penalty \(repetitionPenalty)") }
        if disableUnk { parts.append("disable-unk") }
        if !suppressIDs.isEmpty { parts.append("suppress \(suppressIDs)") }
        if !suppressSequences.isEmpty { parts.append("sequences \(suppressSequences)") }
        parts.append("length penalty \(lengthPenaltyKind) \(lengthPenalty)")
        return parts.joined(separator: ", ")
    }
}

/// The tolerance of a sampling draw: a draw whose reference margin is below this may go either way (float32
/// logits against Double ones).
let samplingGap = 1e-4

extension ParityCheck {
    /// Translates `inputs` with both and compares every hypothesis of every sentence. Ids differing are accepted
    /// (and not compared further) when the reference's margin at the first differing step is a near-tie (greedy:
    /// `tieGap`; sampling: `samplingGap`), or, for beams and sample lists, when two scores are within `tieGap`.
    @discardableResult
    func optionTranslations(_ inputs: [TranslationInput], _ options: DecodingOptions, _ label: String,
                            sourceLocation: SourceLocation = #_sourceLocation) throws -> Int {
        let e = try engine.translate(inputs: inputs, options: options)
        let r = try reference.translateWithMargins(inputs, options: options)
        let eos = model.config.specialTokens.eos
        var ties = 0
        sentences: for n in inputs.indices {
            let what = "\(combination) — \(label) sentence \(n) (S \(inputs[n].source.count), prefix \(inputs[n].targetPrefix))"
            let (he, hr) = (e[n].hypotheses, r[n].translation.hypotheses)
            guard he.count == hr.count else {
                Issue.record("\(what): engine has \(he.count) hypotheses, reference \(hr.count)", sourceLocation: sourceLocation)
                continue
            }
            #expect(e[n].warnings == r[n].translation.warnings, "\(what): warnings differ", sourceLocation: sourceLocation)
            for k in hr.indices {
                let (a, b) = (he[k], hr[k])
                if a.ids != b.ids || a.endedWithEOS != b.endedWithEOS {
                    let te = a.ids + (a.endedWithEOS ? [eos] : []), tr = b.ids + (b.endedWithEOS ? [eos] : [])
                    var p = 0
                    while p < te.count && p < tr.count && te[p] == tr[p] { p += 1 }
                    let margins = r[n].margins[k]
                    let gap = options.isSampling ? samplingGap : ParityTolerance.tieGap
                    let drawTie = p < margins.count && margins[p] <= gap
                    let anyDrawTie = options.isSampling && r[n].margins.contains { $0.contains { $0 <= samplingGap } }
                    let scores = hr.map(\.score)
                    let scoreTie = hr.count > 1 && scores.indices.contains { i in
                        scores.indices.contains { j in i != j && abs(scores[i] - scores[j]) <= ParityTolerance.tieGap }
                    }
                    if drawTie || anyDrawTie || ((options.beamSize > 1 || options.isSampling) && scoreTie)
                        || (options.beamSize > 1 && abs(a.score - b.score) <= ParityTolerance.tieGap) {
                        ties += 1
                        continue sentences
                    }
                    let engineText = "\(a.ids)\(a.endedWithEOS ? " eos" : "") (score \(a.score))"
                    let referenceText = "\(b.ids)\(b.endedWithEOS ? " eos" : "") (score \(b.score))"
                    Issue.record("\(what) hypothesis \(k): ids differ at step \(p + 1): engine \(engineText), reference \(referenceText); reference margins \(margins)",
                                 sourceLocation: sourceLocation)
                    continue sentences
                }
                let steps = b.tokenLogProbs.count
                close("\(label) sentence \(n) hypothesis \(k) token log-probs", a.tokenLogProbs.map(Double.init),
                      b.tokenLogProbs.map(Double.init), tolerance: ParityTolerance.logProb, sourceLocation: sourceLocation)
                close("\(label) sentence \(n) hypothesis \(k) log-prob and score", [a.logProb, a.score], [b.logProb, b.score],
                      tolerance: ParityTolerance.sum(steps), sourceLocation: sourceLocation)
                let prefix = inputs[n].targetPrefix
                #expect(Array(a.ids.prefix(prefix.count)) == Array(prefix.prefix(a.ids.count)),
                        "\(what) hypothesis \(k): does not start with the prefix", sourceLocation: sourceLocation)
            }
        }
        if ProcessInfo.processInfo.environment["PARITY_VERBOSE"] != nil {
            print("PARITY \(combination.index) \(label): ties \(ties) engine \(e.map { $0.hypotheses.map(\.ids) })")
        }
        return ties
    }
}
