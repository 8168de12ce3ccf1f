/// The search's state for MODEL.md "Decoding options", sized for a batch before the step loop: the ids never
/// chosen, the flattened target prefixes and suppressed sequences, and per row its tokens so far, its random
/// stream and its sample index (each kept in two copies and gathered with the decoder's rows).
struct SearchControls {
    /// Ids never chosen (model and request `suppress_ids`, single-id sequences, `unk` with `disable_unk`).
    let excluded: UnsafeMutablePointer<Int>
    let excludedCount: Int
    /// What `RowStatistics` reads for the current step.
    private(set) var rules: RowRules
    /// (R): each row's sample index.
    private(set) var sample: UnsafeMutablePointer<Int>
    private var sample2: UnsafeMutablePointer<Int>
    private var streams2: UnsafeMutablePointer<RandomStream>
    private var tokens2: UnsafeMutablePointer<Int32>
    /// Whether rows keep their tokens (repetition penalty, n-gram blocking, sequences of two or more ids).
    private let keepsTokens: Bool
    /// Target prefixes: sentence n's are `prefixIDs[prefixStart[n] ..< prefixStart[n + 1]]`.
    private let prefixIDs: UnsafeMutablePointer<Int>
    private let prefixStart: UnsafeMutablePointer<Int>
    private let hasPrefixes: Bool
    private let seed: UInt64
    private let sampling: Bool
    private let sentenceIndex: UnsafeMutablePointer<Int>  // (N): position in the request

    init(options o: DecodingOptions, config c: ModelConfig, prefixes: [[Int]], streams: [Int], capacity: Int,
         steps: Int, arena: Arena) {
        let N = prefixes.count
        let ids = o.excludedIDs(c).sorted()
        excluded = arena.array(max(ids.count, 1), of: 0)
        for (i, id) in ids.enumerated() { excluded[i] = id }
        excludedCount = ids.count

        let sequences = o.suppressSequences.filter { $0.count >= 2 }
        let sequenceStart = arena.array(sequences.count + 1, of: 0)
        let sequenceIDs = arena.array(max(sequences.reduce(0) { $0 + $1.count }, 1), of: 0)
        var k = 0
        for (i, sq) in sequences.enumerated() {
            sequenceStart[i] = k
            for id in sq { sequenceIDs[k] = id; k += 1 }
        }
        sequenceStart[sequences.count] = k

        keepsTokens = o.repetitionPenalty != 1 || o.noRepeatNgramSize > 0 || !sequences.isEmpty
        let tokenCount = keepsTokens ? capacity * steps : 1
        let sampling = o.isSampling
        let V = c.targetVocabSize
        let ranks = sampling && (o.samplingTopK != 0 || o.samplingTopP < 1)
        rules = RowRules(tokens: arena.array(tokenCount, of: Int32(0)), stride: steps, length: 0,
                         repetitionPenalty: Float(o.repetitionPenalty),
                         saved: arena.array(o.repetitionPenalty != 1 ? capacity * steps : 1, of: Float(0)),
                         noRepeatNgram: o.noRepeatNgramSize, sequenceIDs: sequenceIDs, sequenceStart: sequenceStart,
                         sequenceCount: sequences.count, forced: arena.array(capacity, of: -1),
                         topK: o.samplingTopK, topP: o.samplingTopP, temperature: Float(o.samplingTemperature),
                         streams: arena.array(sampling ? capacity : 1, of: RandomStream(state: 0)),
                         weights: sampling ? arena.floats(capacity * V) : arena.floats(1),
                         heap: arena.array(ranks ? capacity * V : 1, of: Int32(0)))
        tokens2 = arena.array(tokenCount, of: Int32(0))
        streams2 = arena.array(sampling ? capacity : 1, of: RandomStream(state: 0))
        sample = arena.array(capacity, of: 0)
        sample2 = arena.array(capacity, of: 0)

        prefixStart = arena.array(N + 1, of: 0)
        prefixIDs = arena.array(max(prefixes.reduce(0) { $0 + $1.count }, 1), of: 0)
        k = 0
        for (n, p) in prefixes.enumerated() {
            prefixStart[n] = k
            for id in p { prefixIDs[k] = id; k += 1 }
        }
        prefixStart[N] = k
        hasPrefixes = k > 0
        seed = o.seed
        self.sampling = sampling
        sentenceIndex = arena.array(max(N, 1), of: 0)
        for n in 0..<N { sentenceIndex[n] = streams[n] }
    }

    /// Sets up rows `0 ..< rows` (`samplesPerSentence` of each sentence, in order): sample indices and streams.
    mutating func start(rows: Int, samplesPerSentence J: Int, rowSlot: UnsafeMutablePointer<Int>) {
        for r in 0..<rows { sample[r] = r % J }
        guard sampling else { return }
        for r in 0..<rows {
            rules.streams[r] = RandomStream(seed: seed, sentence: sentenceIndex[rowSlot[r]], sample: sample[r])
        }
    }

    /// Before step `t`: the forced prefix tokens of rows `0 ..< rows` and how many tokens each row holds.
    mutating func prepare(step t: Int, rows R: Int, rowSlot: UnsafeMutablePointer<Int>) {
        rules.length = keepsTokens ? t - 1 : 0
        guard hasPrefixes else { return }
        for r in 0..<R {
            let n = rowSlot[r]
            let a = prefixStart[n], count = prefixStart[n + 1] - a
            rules.forced[r] = t <= count ? prefixIDs[a + t - 1] : -1
        }
    }

    /// After step `t`: row `i < count` continues row `parents[i]` with `tokens[i]`.
    mutating func advance(step t: Int, parents: UnsafeMutablePointer<Int>, tokens: UnsafeMutablePointer<Int>, count: Int,
                          identity: Bool) {
        let stride = rules.stride
        if identity {
            if keepsTokens { for i in 0..<count { rules.tokens[i * stride + t - 1] = Int32(tokens[i]) } }
            return
        }
        for i in 0..<count { sample2[i] = sample[parents[i]] }
        swap(&sample, &sample2)
        if sampling {
            for i in 0..<count { streams2[i] = rules.streams[parents[i]] }
        }
        if keepsTokens {
            for i in 0..<count {
                (tokens2 + i * stride).update(from: rules.tokens + parents[i] * stride, count: t - 1)
                tokens2[i * stride + t - 1] = Int32(tokens[i])
            }
        }
        let oldTokens = rules.tokens, oldStreams = rules.streams
        rules = rules.with(tokens: keepsTokens ? tokens2 : oldTokens, streams: sampling ? streams2 : oldStreams)
        if keepsTokens { tokens2 = oldTokens }
        if sampling { streams2 = oldStreams }
    }
}

extension RowRules {
    /// These rules over other token and stream buffers.
    func with(tokens: UnsafeMutablePointer<Int32>, streams: UnsafeMutablePointer<RandomStream>) -> RowRules {
        RowRules(tokens: tokens, stride: stride, length: length, repetitionPenalty: repetitionPenalty, saved: saved,
                 noRepeatNgram: noRepeatNgram, sequenceIDs: sequenceIDs, sequenceStart: sequenceStart,
                 sequenceCount: sequenceCount, forced: forced, topK: topK, topP: topP, temperature: temperature,
                 streams: streams, weights: weights, heap: heap)
    }
}
