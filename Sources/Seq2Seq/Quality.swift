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
