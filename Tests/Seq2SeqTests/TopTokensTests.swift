@testable import Seq2Seq
import Testing

/// `topTokens` (the beam's candidates of a row, and the output re-scoring's shortlist) against the plain
/// scan it replaced: every value offered in turn to a sorted list of `count` (highest first, the lower index
/// first on ties, never `skip`). The results must be the same bits, NaN and −∞ included.
@Suite("Top tokens")
struct TopTokensTests {
    /// The plain scan, one value at a time.
    static func reference(_ x: [Float], count: Int, skip: Int) -> [(Float, Int)] {
        var kept: [(Float, Int)] = []
        for i in x.indices where i != skip {
            let v = x[i]
            if kept.count == count {
                if !(v > kept[count - 1].0) { continue }
                kept.removeLast()
            }
            var j = kept.count
            while j > 0 && v > kept[j - 1].0 { j -= 1 }
            kept.insert((v, i), at: j)
        }
        return kept
    }

    @Test("The vector pass-over gives the plain scan's values and indices (ties, −∞, NaN, skip, short rows)")
    func matchesDefinition() {
        var rng = SystemRandomNumberGenerator()
        var cases = 0
        for n in [1, 3, 7, 8, 9, 15, 16, 17, 31, 64, 100, 1000] {
            for count in [1, 2, 5, 6, 17] {
                for trial in 0..<20 {
                    // Few distinct values (many ties), a rising ramp (every block beats the worst kept), or spread.
                    let x: [Float] = (0..<n).map { i in
                        switch trial % 4 {
                        case 0: return Float(Int.random(in: 0..<4, using: &rng))
                        case 1: return Float(i)
                        case 2: return [-.infinity, .nan, 1, 2][Int.random(in: 0..<4, using: &rng)]
                        default: return Float.random(in: -10...10, using: &rng)
                        }
                    }
                    let skip = trial % 3 == 0 ? Int.random(in: 0..<n, using: &rng) : -1
                    var values = [Float](repeating: 0, count: count)
                    var tokens = [Int](repeating: -1, count: count)
                    let found = x.withUnsafeBufferPointer { xp in
                        values.withUnsafeMutableBufferPointer { vp in
                            tokens.withUnsafeMutableBufferPointer { tp in
                                topTokens(xp.baseAddress!, n, count: count, skip: skip, values: vp.baseAddress!, tokens: tp.baseAddress!)
                            }
                        }
                    }
                    let want = Self.reference(x, count: count, skip: skip)
                    #expect(found == want.count, "n \(n) count \(count) trial \(trial)")
                    for q in 0..<min(found, want.count) {
                        #expect(values[q].bitPattern == want[q].0.bitPattern && tokens[q] == want[q].1,
                                "n \(n) count \(count) trial \(trial) rank \(q)")
                    }
                    cases += 1
                }
            }
        }
        #expect(cases == 12 * 5 * 20)
    }
}
