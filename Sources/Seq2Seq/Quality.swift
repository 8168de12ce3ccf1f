/// How closely a model in a reduced compute type follows the same model in float32 (the quality gates of
/// docs/MODEL.md, "Compute types").
public struct QualityComparison: Sendable, Equatable {
    /// Sentences compared.
    public var sentences = 0
    /// Sentences whose best output ids are identical.
    public var identical = 0
    /// Target tokens scored (the float32 outputs, `eos` included).
    public var tokens = 0
    /// Mean over those tokens of |log p_candidate − log p_float32|, teacher-forced on the float32 output.
    public var meanAbsDeltaLogProb = 0.0
    /// The largest such difference.
    public var maxAbsDeltaLogProb = 0.0
    /// For each sentence whose output differs: float32's margin at the first differing step, i.e.
    /// `log p(y_t) − log p(y'_t)` under the float32 model, where `y` is float32's token and `y'` the candidate's
    /// (both after the same prefix). A small margin means a near-tie that any rounding may flip.
    public var flipMargins: [Double] = []

    /// `identical / sentences`, 1 when there is nothing to compare.
    public var agreement: Double { sentences == 0 ? 1 : Double(identical) / Double(sentences) }

    /// Decodes `sources` with both models and compares the outputs, then scores the reference's outputs with both.
    public static func compare(reference: Seq2SeqModel, candidate: Seq2SeqModel, sources: [[Int]],
                               options: DecodingOptions = .greedy) throws -> QualityComparison {
        let a = Translator(model: reference), b = Translator(model: candidate)
        let ra = try a.translate(sources, options: options), rb = try b.translate(sources, options: options)
        var q = QualityComparison()
        q.sentences = sources.count
        q.identical = zip(ra, rb).filter { $0.best.ids == $1.best.ids }.count
        // Margins of the flips: both tokens of the first differing step scored by float32 after the same prefix.
        let eos = reference.config.specialTokens.eos
        for i in sources.indices where ra[i].best.ids != rb[i].best.ids {
            let u = ra[i].best.ids, v = rb[i].best.ids
            var t = 0
            while t < u.count && t < v.count && u[t] == v[t] { t += 1 }
            let mine = Array(u.prefix(t)) + [t < u.count ? u[t] : eos]
            let theirs = Array(u.prefix(t)) + [t < v.count ? v[t] : eos]
            let s = try a.score(sources: [sources[i], sources[i]], targets: [mine, theirs])
            q.flipMargins.append((s[0].tokenLogProbs.last ?? 0) - (s[1].tokenLogProbs.last ?? 0))
        }
        let targets = ra.map { $0.best.ids }
        let sa = try a.score(sources: sources, targets: targets), sb = try b.score(sources: sources, targets: targets)
        var sum = 0.0
        for (x, y) in zip(sa, sb) {
            for (p, r) in zip(x.tokenLogProbs, y.tokenLogProbs) {
                let d = abs(p - r)
                sum += d
                q.maxAbsDeltaLogProb = max(q.maxAbsDeltaLogProb, d)
                q.tokens += 1
            }
        }
        q.meanAbsDeltaLogProb = q.tokens == 0 ? 0 : sum / Double(q.tokens)
        return q
    }
}
