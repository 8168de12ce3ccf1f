#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Per-row work of one search step, run in parallel over the rows (`forEachRow`): the decoding controls of
// MODEL.md "Decoding options" applied to a row of logits, its log-sum-exp, and the row's choice (greedy's
// best token, the beam's best K + 1, or a sampled token). No allocation: every buffer comes from the arena.

/// Per row of logits: `log Σ exp` (after the repetition penalty), then the best token (greedy), the best
/// `perRow` tokens (beam) or a drawn token (sampling), written to `topValue`/`topToken` (the token's logit,
/// unmasked) and `topFound`.
struct RowStatistics {
    let logits: MatrixView  // (R, Vt)
    let vocabulary: Int
    let mode: SearchMode
    let perRow: Int
    let eos: Int
    let eosBlocked: Bool  // min_length not reached: eos is not chosen
    let suppressed: UnsafeMutablePointer<Int>  // (suppressedCount): ids never chosen
    let suppressedCount: Int
    let lse: UnsafeMutablePointer<Float>  // (R)
    let topValue: UnsafeMutablePointer<Float>  // (R, perRow)
    let topToken: UnsafeMutablePointer<Int>  // (R, perRow)
    let topFound: UnsafeMutablePointer<Int>  // (R)
    let rules: RowRules

    @inline(__always) func compute(_ r: Int) {
        let row = logits.row(r)
        let V = vocabulary
        let out = r * perRow
        if rules.repetitionPenalty != 1 { rules.penalize(row, r) }
        lse[r] = Kernels.logSumExp(row, V)
        // A forced (target prefix) token: nothing to rank.
        let forced = rules.forced[r]
        if forced >= 0 {
            topValue[out] = row[forced]
            topToken[out] = forced
            topFound[r] = 1
            return
        }
        // Exclusions are −∞ in the ranking only; the log-probabilities (through lse) stay the distribution's own.
        let eosValue = row[eos]
        for i in 0..<suppressedCount { row[suppressed[i]] = -.infinity }
        if eosBlocked { row[eos] = -.infinity }
        if rules.length > 0 { rules.block(row, r) }
        switch mode {
        case .greedy:
            let best = argmax(row, V)
            if row[best] == -.infinity {
                topValue[out] = eosValue  // nothing left to choose: eos
                topToken[out] = eos
            } else {
                topValue[out] = row[best]
                topToken[out] = best
            }
            topFound[r] = 1
        case .beam:
            var found = topTokens(row, V, count: perRow, skip: -1, values: topValue + out, tokens: topToken + out)
            while found > 0 && topValue[out + found - 1] == -.infinity { found -= 1 }
            if found == 0 {
                topValue[out] = eosValue
                topToken[out] = eos
                found = 1
            }
            topFound[r] = found
        case .sampling:
            let token = rules.draw(row, r, vocabulary: V)
            if token < 0 {
                topValue[out] = eosValue
                topToken[out] = eos
            } else {
                topValue[out] = row[token]
                topToken[out] = token
            }
            topFound[r] = 1
        }
    }
}

/// How a search picks tokens.
enum SearchMode {
    case greedy, beam, sampling
}

/// The per-row controls of one step (MODEL.md "Decoding options"): each row's tokens so far, the repetition
/// penalty, n-gram and sequence blocking, forced prefix tokens, and sampling.
struct RowRules {
    /// Each row's generated tokens, `length` of them: (R, stride).
    let tokens: UnsafeMutablePointer<Int32>
    let stride: Int
    /// Tokens each live row holds (`t − 1` at step `t`); 0 when no control needs them.
    var length: Int
    /// 1 is off.
    let repetitionPenalty: Float
    /// (R, stride): the logits saved by `penalize`.
    let saved: UnsafeMutablePointer<Float>
    /// 0 is off.
    let noRepeatNgram: Int
    /// suppress_sequences of two or more ids, flattened: `sequenceIDs[sequenceStart[i] ..< sequenceStart[i + 1]]`.
    let sequenceIDs: UnsafeMutablePointer<Int>
    let sequenceStart: UnsafeMutablePointer<Int>  // (sequenceCount + 1)
    let sequenceCount: Int
    /// (R): the token row `r` must take at this step (target prefix), or −1.
    let forced: UnsafeMutablePointer<Int>
    // Sampling.
    let topK: Int
    let topP: Double
    let temperature: Float
    let streams: UnsafeMutablePointer<RandomStream>  // (R)
    let weights: UnsafeMutablePointer<Float>  // (R, Vt) when sampling
    let heap: UnsafeMutablePointer<Int32>  // (R, Vt) when sampling with top-k or top-p

    /// CTranslate2's repetition penalty: every distinct token of the row's history has its logit divided by the
    /// penalty when positive and multiplied by it otherwise.
    @inline(__always) func penalize(_ row: UnsafeMutablePointer<Float>, _ r: Int) {
        let history = tokens + r * stride
        let keep = saved + r * stride
        // First pass: save each distinct token's logit once, marking it with NaN; second: write the penalized value.
        for j in 0..<length {
            let y = Int(history[j])
            let v = row[y]
            if v.isNaN { keep[j] = .nan } else { keep[j] = v; row[y] = .nan }
        }
        let p = repetitionPenalty
        for j in 0..<length where !keep[j].isNaN {
            let v = keep[j]
            row[Int(history[j])] = v < 0 ? v * p : v / p
        }
    }

    /// Sets to −∞ every token that would repeat an n-gram of size `noRepeatNgram` of the row's history or
    /// complete one of the suppressed sequences.
    @inline(__always) func block(_ row: UnsafeMutablePointer<Float>, _ r: Int) {
        let h = tokens + r * stride
        let L = length
        let n = noRepeatNgram
        if n > 0 && L >= n {
            // The n-gram starting at j matches when its first n − 1 tokens equal the last n − 1 tokens.
            for j in 0...(L - n) {
                var same = true
                var q = 0
                while q < n - 1 {
                    if h[j + q] != h[L - n + 1 + q] { same = false; break }
                    q += 1
                }
                if same { row[Int(h[j + n - 1])] = -.infinity }
            }
        }
        for i in 0..<sequenceCount {
            let a = sequenceStart[i], m = sequenceStart[i + 1] - a
            guard L >= m - 1 else { continue }
            var same = true
            for q in 0..<(m - 1) where Int(h[L - m + 1 + q]) != sequenceIDs[a + q] { same = false; break }
            if same { row[sequenceIDs[a + m - 1]] = -.infinity }
        }
    }

    /// MODEL.md "Sampling": draws a token from the row's filtered distribution with the row's stream, or
    /// returns −1 when every token is excluded. Exclusions are already −∞ in `row`.
    @inline(__always) func draw(_ row: UnsafeMutablePointer<Float>, _ r: Int, vocabulary V: Int) -> Int {
        var zmax = -Float.infinity
        for i in 0..<V where row[i] > zmax { zmax = row[i] }
        if zmax == -.infinity { return -1 }
        // w_i = exp((z_i − z_max) / T); excluded tokens get 0.
        let w = weights + r * V
        let scale = 1 / temperature
        var i = 0
        let m8 = SIMD8<Float>(repeating: zmax), s8 = SIMD8<Float>(repeating: scale)
        while i + 8 <= V {
            let z = UnsafeRawPointer(row + i).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(w + i).storeBytes(of: fastExp((z - m8) * s8), as: SIMD8<Float>.self)
            i += 8
        }
        while i < V { w[i] = row[i] == -.infinity ? 0 : expf((row[i] - zmax) * scale); i += 1 }
        // The kept set: the first c tokens in ranking order (logit descending, id ascending), described by the
        // last of them (zLast, idLast). Without top-k and top-p it is every allowed token.
        var zLast = -Float.infinity, idLast = V
        if topK != 0 || topP < 1 {
            let order = heap + r * V
            var n = 0
            for i in 0..<V where row[i] > -.infinity { order[n] = Int32(i); n += 1 }
            var ranked = RankingHeap(values: row, ids: order, count: n)
            let k = topK == 0 ? n : min(topK, n)
            var c = k
            if topP < 1 {
                // Mass of the top-k set; then the shortest ranked prefix whose mass reaches topP of it.
                var total = 0.0
                if topK == 0 {
                    for i in 0..<V { total += Double(w[i]) }
                } else {
                    for _ in 0..<k { total += Double(w[Int(ranked.pop())]) }
                    ranked = RankingHeap(values: row, ids: order, count: n)
                }
                let target = topP * total
                var cumulative = 0.0
                c = 0
                while c < k {
                    let id = Int(ranked.pop())
                    cumulative += Double(w[id])
                    c += 1
                    if cumulative >= target { zLast = row[id]; idLast = id; break }
                }
                if c == k && !(cumulative >= target) { zLast = ranked.lastPopped.value; idLast = ranked.lastPopped.id }
            } else {
                for _ in 0..<k { _ = ranked.pop() }
                zLast = ranked.lastPopped.value
                idLast = ranked.lastPopped.id
            }
        }
        let limited = zLast > -.infinity
        @inline(__always) func kept(_ i: Int) -> Bool {
            let z = row[i]
            guard z > -.infinity else { return false }
            return !limited || z > zLast || (z == zLast && i <= idLast)
        }
        // The draw: u in [0, 1), then the first kept token (in id order) whose cumulative weight exceeds u · total.
        var total = 0.0
        for i in 0..<V where kept(i) { total += Double(w[i]) }
        let target = streams[r].uniform() * total
        var cumulative = 0.0
        var last = -1
        for i in 0..<V where kept(i) {
            cumulative += Double(w[i])
            last = i
            if cumulative > target { return i }
        }
        return last
    }
}

/// A max-heap of token ids ordered by (value descending, id ascending), popped one at a time: a partial heap
/// sort that ranks the first k of n tokens in O(n + k log n), in place.
struct RankingHeap {
    let values: UnsafeMutablePointer<Float>
    let ids: UnsafeMutablePointer<Int32>
    var count: Int
    private(set) var lastPopped: (value: Float, id: Int) = (-.infinity, -1)

    init(values: UnsafeMutablePointer<Float>, ids: UnsafeMutablePointer<Int32>, count: Int) {
        self.values = values
        self.ids = ids
        self.count = count
        var i = count / 2 - 1
        while i >= 0 { siftDown(i); i -= 1 }
    }

    @inline(__always) private func before(_ a: Int32, _ b: Int32) -> Bool {
        let va = values[Int(a)], vb = values[Int(b)]
        return va > vb || (va == vb && a < b)
    }

    @inline(__always) private func siftDown(_ start: Int) {
        var i = start
        while true {
            let l = 2 * i + 1
            if l >= count { return }
            var best = l
            if l + 1 < count && before(ids[l + 1], ids[l]) { best = l + 1 }
            if !before(ids[best], ids[i]) { return }
            ids.swapAt(i, best)
            i = best
        }
    }

    /// The best remaining id; it moves to `ids[count]` (so the popped ids end up behind the heap, last first).
    @inline(__always) mutating func pop() -> Int32 {
        let top = ids[0]
        count -= 1
        ids.swapAt(0, count)
        siftDown(0)
        lastPopped = (values[Int(top)], Int(top))
        return top
    }
}

extension UnsafeMutablePointer {
    @inline(__always) func swapAt(_ i: Int, _ j: Int) {
        let t = self[i]
        self[i] = self[j]
        self[j] = t
    }
}
