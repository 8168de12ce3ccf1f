import Seq2Seq

// MODEL.md "Encoder" and "Bridge", for one source sentence.

/// What the encoder hands the decoder for one sentence.
struct EncoderOutput {
    /// Memory bank `m_j (D)` for `j = 1…S` (stored at index `j − 1`).
    let m: [[Double]]
    /// Summary `u (D)`.
    let u: [Double]
    /// Each layer's final state (forward direction), for the `copy` bridge; `finalStates[k]` is layer `k`.
    let finalStates: [CellState]
}

/// The encoder's weights: `encoder.embedding.weight (Vs, E)` and the `encoder.rnn` layers.
struct EncoderWeights {
    let embedding: Matrix
    /// `layers[k][0]` forward, `layers[k][1]` backward (bidirectional only).
    let layers: [[CellWeights]]

    init(_ p: Parameters, config c: ModelConfig) {
        embedding = p.weight("encoder.embedding.weight")
        layers = (0..<c.encoderLayers).map { k in
            (c.bidirectionalEncoder ? [false, true] : [false]).map { reverse in
                CellWeights(p, prefix: "encoder.rnn", layer: k, reverse: reverse,
                            gates: c.cell.gates, hidden: c.hiddenSize)
            }
        }
    }
}

/// Encodes `src` (ids `src_1…src_S`).
func encode(_ src: [Int], config c: ModelConfig, weights w: EncoderWeights, parameters p: Parameters) -> EncoderOutput {
    let S = src.count
    let H = c.hiddenSize
    // x_j = encoder.embedding.weight[src_j]
    var input: [[Double]] = src.map { p.row(w.embedding, $0) }
    var finalStates: [CellState] = []
    var u: [Double] = []
    for k in 0..<c.encoderLayers {
        // Forward direction, from a zero state: state after x_1, …, after x_S.
        var forward = [[Double]](repeating: [], count: S)
        var state = CellState.zeros(H)
        for j in 0..<S {
            state = cellStep(c.cell, w.layers[k][0], x: input[j], state: state)
            forward[j] = state.h
        }
        let forwardFinal = state  // after x_S
        finalStates.append(forwardFinal)
        if c.bidirectionalEncoder {
            // Backward direction, from a zero state: x_S first, x_1 last.
            var backward = [[Double]](repeating: [], count: S)
            var back = CellState.zeros(H)
            for j in stride(from: S - 1, through: 0, by: -1) {
                back = cellStep(c.cell, w.layers[k][1], x: input[j], state: back)
                backward[j] = back.h
            }
            let backwardFinal = back  // after x_1
            // A bidirectional layer outputs [forward; backward] (2H) at each position.
            input = (0..<S).map { concat(forward[$0], backward[$0]) }
            // u = [forward final (after x_S); backward final (after x_1)] of the top layer.
            u = concat(forwardFinal.h, backwardFinal.h)
        } else {
            input = forward
            // u = the top layer's final hidden state (= m_S).
            u = forwardFinal.h
        }
    }
    // m_j: the top layer's output at position j.
    return EncoderOutput(m: input, u: u, finalStates: finalStates)
}

/// The decoder's initial state `s_0^k` for layers `k = 0…Ld−1` (MODEL.md "Bridge").
func bridge(_ enc: EncoderOutput, config c: ModelConfig, parameters p: Parameters) -> [CellState] {
    let H = c.hiddenSize
    let D = c.encoderOutputSize
    switch c.bridge {
    case .copy:
        // s_0^k is the encoder's final hidden state of layer k (for lstm, the cell state too).
        precondition(!c.bidirectionalEncoder && c.encoderLayers == c.decoderLayers, "copy bridge on a config that forbids it")
        return enc.finalStates
    case .linearTanh:
        // s_0^k = tanh(bridge.{k}.weight · u + bridge.{k}.bias), weight (H, D); lstm cell states start at zero.
        return (0..<c.decoderLayers).map { k in
            let W = p.weight("bridge.\(k).weight")
            precondition(W.rows == H && W.cols == D)
            let b = p.bias("bridge.\(k).bias", count: H)
            return CellState(h: tanh(linear(W, enc.u, b)), c: [Double](repeating: 0, count: H))
        }
    case .zeros:
        // every state starts at zero.
        return (0..<c.decoderLayers).map { _ in CellState.zeros(H) }
    }
}
