import Seq2Seq

// MODEL.md "Encoder" and "Bridge", for one source sentence.

/// What the encoder hands the decoder for one sentence.
struct EncoderOutput {
    /// Memory bank `m_j (D)` for `j = 1…S` (stored at index `j − 1`).
    let m: [[Double]]
    /// Summary `u (D)`.
    let u: [Double]
    /// Each layer's final state `x_k^h`, `x_k^c` (`[forward; backward]` when bidirectional, size D), for the
    /// `copy` and `linear` bridges; `finalStates[k]` is layer `k`.
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
                            gates: c.cell.gates, hidden: c.encoderHidden)
            }
        }
    }
}

/// Encodes `src` (ids `src_1…src_S`).
func encode(_ src: [Int], config c: ModelConfig, weights w: EncoderWeights, parameters p: Parameters) -> EncoderOutput {
    let S = src.count
    let H = c.encoderHidden  // He, per direction
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
            // x_k^h = [forward final; backward final], x_k^c likewise.
            finalStates.append(CellState(h: concat(forwardFinal.h, backwardFinal.h), c: concat(forwardFinal.c, backwardFinal.c)))
        } else {
            input = forward
            // u = the top layer's final hidden state (= m_S).
            u = forwardFinal.h
            finalStates.append(forwardFinal)
        }
    }
    // m_j: the top layer's output at position j.
    return EncoderOutput(m: input, u: u, finalStates: finalStates)
}

/// The decoder's initial state `s_0^k` for layers `k = 0…Ld−1` (MODEL.md "Bridge", formats 1 and 2).
func bridge(_ enc: EncoderOutput, config c: ModelConfig, parameters p: Parameters) -> [CellState] {
    let H = c.hiddenSize
    let zeros = [Double](repeating: 0, count: H)
    switch c.bridge {
    case .copy:
        // s_0^k = x_k^h (for lstm, c_0^k = x_k^c); [forward; backward] for a bidirectional encoder.
        precondition(c.encoderLayers == c.decoderLayers && c.encoderOutputSize == H, "copy bridge on a config that forbids it")
        return enc.finalStates
    case .linearTanh:
        // s_0^k = tanh(bridge.{k}.weight · u + bridge.{k}.bias), weight (H, D); lstm cell states start at zero.
        return (0..<c.decoderLayers).map { k in
            let W = p.weight("bridge.\(k).weight")
            precondition(W.rows == H && W.cols == c.encoderOutputSize)
            let b = p.bias("bridge.\(k).bias", count: H)
            return CellState(h: tanh(linear(W, enc.u, b)), c: zeros)
        }
    case .linear:
        // z_k: u (summary), x_k^h (layer) or [x_0^h; …; x_{Le−1}^h] (stacked); z_k^c likewise from cell states.
        func z(_ k: Int, cells: Bool) -> [Double] {
            let finals = enc.finalStates.map { cells ? $0.c : $0.h }
            switch c.bridgeInput {
            case .summary: return finals[c.encoderLayers - 1]  // u (or u^c) is the top layer's final state
            case .layer: return finals[k]
            case .stacked: return finals.reduce([], concat)
            }
        }
        func act(_ v: [Double]) -> [Double] { activation(c.bridgeActivation, v) }
        return (0..<c.decoderLayers).map { k in
            // s_0^k = act(bridge.{k}.weight · z_k + bridge.{k}.bias), weight (H, Z)
            let s0 = act(linear(p.weight("bridge.\(k).weight"), z(k, cells: false), p.bias("bridge.\(k).bias", count: H)))
            switch c.bridgeCell {
            case .zeros: return CellState(h: s0, c: zeros)
            case .hidden: return CellState(h: s0, c: s0)  // c_0^k = s_0^k
            case .linear:
                // c_0^k = act(bridge_cell.{k}.weight · z_k^c + bridge_cell.{k}.bias)
                let c0 = act(linear(p.weight("bridge_cell.\(k).weight"), z(k, cells: true),
                                    p.bias("bridge_cell.\(k).bias", count: H)))
                return CellState(h: s0, c: c0)
            }
        }
    case .zeros:
        // every state starts at zero.
        return (0..<c.decoderLayers).map { _ in CellState.zeros(H) }
    }
}

/// `act(v)` elementwise: `tanh`, `relu` (`max(0, v)`) or the identity.
func activation(_ f: ModelConfig.Activation, _ v: [Double]) -> [Double] {
    switch f {
    case .tanh: return tanh(v)
    case .relu: return v.map { max(0, $0) }
    case .none: return v
    }
}
