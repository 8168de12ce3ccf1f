// The per-sentence state of a DecodingSession and its per-row search statistics.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One sentence of a session: its options, its rows and its search history (MODEL.md "Decoding").
final class SessionSentence {
    let id: Int
    let source: [Int]  // encoder input
    let options: DecodingOptions
    let beam: Int
    let limit: Int  // max steps
    var slot = -1
    var rowStart = 0
    var rows = 0
    var t = 0  // steps done
    var cancelled = false
    var finished: [Finished] = []
    // History, per step t (from 1) and per local row i < beam: (t − 1) · beam + i.
    var token: [Int] = []
    var parent: [Int] = []
    var logProb: [Float] = []
    var attention: [Float] = []  // (steps, beam, S) when asked for

    init(id: Int, source: [Int], options: DecodingOptions) {
        self.id = id
        self.source = source
        self.options = options
        beam = options.beamSize
        limit = options.maxSteps(sourceLength: source.count)
    }

    /// Allocates the history (once, for the sentence's whole life).
    func admitted(rowStart: Int, withAttention: Bool) {
        self.rowStart = rowStart
        rows = 1
        let n = limit * beam
        token = [Int](repeating: 0, count: n)
        parent = [Int](repeating: 0, count: n)
        logProb = [Float](repeating: 0, count: n)
        if withAttention { attention = [Float](repeating: 0, count: n * source.count) }
        finished.reserveCapacity(3 * beam)
    }

    @inline(__always) func record(step t: Int, row i: Int, token tok: Int, parent p: Int, logProb lp: Float) {
        let k = (t - 1) * beam + i
        token[k] = tok
        parent[k] = p
        logProb[k] = lp
    }

    func recordAttention(_ alpha: MatrixView, rows: Range<Int>) {
        guard !attention.isEmpty else { return }
        let S = source.count
        attention.withUnsafeMutableBufferPointer { a in
            for r in rows {
                (a.baseAddress! + ((t - 1) * beam + (r - rows.lowerBound)) * S).update(from: alpha.row(r), count: S)
            }
        }
    }

    /// The n-best list: the finished set ranked by `logProb / length^α`, each rebuilt from the history.
    func result(model: Seq2SeqModel) -> Translation {
        let ranked = finished.map { f -> (Finished, Double) in
            (f, f.logProb / pow(Double(f.step), options.lengthPenalty))
        }.enumerated().sorted { a, b in
            a.element.1 != b.element.1 ? a.element.1 > b.element.1 : a.offset < b.offset
        }.map(\.element)
        let hyps = ranked.prefix(options.nBest).map { (f, normalized) -> Hypothesis in
            let (ids, lps, att) = backtrack(f)
            return Hypothesis(ids: ids, tokens: model.targetTokens(for: ids), logProb: f.logProb, score: normalized,
                              endedWithEOS: f.endedWithEOS, tokenLogProbs: lps, attention: att)
        }
        return Translation(hypotheses: hyps)
    }

    private func backtrack(_ f: Finished) -> ([Int], [Float], [[Float]]?) {
        let S = source.count
        var ids: [Int] = []
        ids.reserveCapacity(f.step)
        var lps: [Float] = [f.tokenLogProb]
        lps.reserveCapacity(f.step)
        var att: [[Float]]? = attention.isEmpty ? nil : []
        func attentionRow(_ t: Int, _ r: Int) -> [Float] {
            let k = ((t - 1) * beam + r) * S
            return Array(attention[k..<(k + S)])
        }
        if !f.endedWithEOS { ids.append(f.token) }
        att?.append(attentionRow(f.step, f.row))
        var row = f.row
        var t = f.step - 1
        while t >= 1 {
            let k = (t - 1) * beam + row
            ids.append(token[k])
            lps.append(logProb[k])
            att?.append(attentionRow(t, parent[k]))
            row = parent[k]
            t -= 1
        }
        return (ids.reversed(), lps.reversed(), att?.reversed())
    }
}

/// `RowStatistics` with a beam and an eos rule per row (sentences of a session differ in both).
struct SessionRowStatistics {
    let logits: MatrixView
    let vocabulary: Int
    let beam: UnsafeMutablePointer<Int>
    let skip: UnsafeMutablePointer<Int>
    let stride: Int  // per row in topValue / topToken
    let suppressed: UnsafeMutablePointer<Int>
    let suppressedCount: Int
    let lse: UnsafeMutablePointer<Float>
    let topValue: UnsafeMutablePointer<Float>
    let topToken: UnsafeMutablePointer<Int>
    let topFound: UnsafeMutablePointer<Int>

    @inline(__always) func compute(_ r: Int) {
        let row = logits.row(r)
        lse[r] = logSumExp(row, vocabulary)
        for i in 0..<suppressedCount { row[suppressed[i]] = -.infinity }
        let K = beam[r]
        if K == 1 {
            topToken[r * stride] = argmax(row, vocabulary, skip: skip[r])
        } else {
            topFound[r] = topTokens(row, vocabulary, count: K + 1, skip: skip[r],
                                    values: topValue + r * stride, tokens: topToken + r * stride)
        }
    }
}
