import Seq2Seq

// MODEL.md "Cells": exactly PyTorch's nn.RNN (tanh), nn.GRU and nn.LSTM in eval mode, one layer,
// one direction, one time step at a time.

/// The state of one layer in one direction: `h (H)`, and for lstm the cell state `c (H)` (unused otherwise).
struct CellState {
    var h: [Double]
    var c: [Double]

    /// `h = 0`, `c = 0`: where every encoder layer starts.
    static func zeros(_ H: Int) -> CellState {
        CellState(h: [Double](repeating: 0, count: H), c: [Double](repeating: 0, count: H))
    }
}

/// One layer's weights in one direction, as PyTorch's `state_dict` names them:
/// `PREFIX.weight_ih_l{k}{suffix} (G·H, in)`, `PREFIX.weight_hh_l{k}{suffix} (G·H, H)`,
/// `PREFIX.bias_ih_l{k}{suffix} (G·H)`, `PREFIX.bias_hh_l{k}{suffix} (G·H)`, where `G` is 1, 3 or 4 gates.
struct CellWeights {
    let W_ih: Matrix
    let W_hh: Matrix
    let b_ih: [Double]
    let b_hh: [Double]

    init(_ p: Parameters, prefix: String, layer k: Int, reverse: Bool, gates G: Int, hidden H: Int) {
        let suffix = reverse ? "_reverse" : ""
        W_ih = p.weight("\(prefix).weight_ih_l\(k)\(suffix)")
        W_hh = p.weight("\(prefix).weight_hh_l\(k)\(suffix)")
        b_ih = p.bias("\(prefix).bias_ih_l\(k)\(suffix)", count: G * H)
        b_hh = p.bias("\(prefix).bias_hh_l\(k)\(suffix)", count: G * H)
    }
}

/// Rows `[g·H, (g+1)·H)` of `v`: gate block `g` of a stacked `(G·H)` vector.
func gate(_ v: [Double], _ g: Int, _ H: Int) -> [Double] { Array(v[g * H..<(g + 1) * H]) }

/// One step of `cell` for one layer: input `x (in)`, state `(h, c)` → the new state.
func cellStep(_ cell: ModelConfig.Cell, _ w: CellWeights, x: [Double], state: CellState) -> CellState {
    switch cell {
    case .rnnTanh: return rnnTanhStep(w, x: x, state: state)
    case .gru: return gruStep(w, x: x, state: state)
    case .lstm: return lstmStep(w, x: x, state: state)
    }
}

/// rnn_tanh: `h' = tanh(W_ih·x + b_ih + W_hh·h + b_hh)`.
func rnnTanhStep(_ w: CellWeights, x: [Double], state: CellState) -> CellState {
    let h = state.h
    let hNew = tanh(add(linear(w.W_ih, x, w.b_ih), linear(w.W_hh, h, w.b_hh)))
    return CellState(h: hNew, c: state.c)
}

/// gru, gates `r, z, n` in that order:
/// `r = σ(W_ir·x + b_ir + W_hr·h + b_hr)`, `z = σ(W_iz·x + b_iz + W_hz·h + b_hz)`,
/// `n = tanh(W_in·x + b_in + r ⊙ (W_hn·h + b_hn))`, `h' = (1 − z) ⊙ n + z ⊙ h`.
func gruStep(_ w: CellWeights, x: [Double], state: CellState) -> CellState {
    let h = state.h
    let H = h.count
    let gi = linear(w.W_ih, x, w.b_ih)  // (3H): W_i?·x + b_i?
    let gh = linear(w.W_hh, h, w.b_hh)  // (3H): W_h?·h + b_h?
    let r = sigmoid(add(gate(gi, 0, H), gate(gh, 0, H)))
    let z = sigmoid(add(gate(gi, 1, H), gate(gh, 1, H)))
    let n = tanh(add(gate(gi, 2, H), mul(r, gate(gh, 2, H))))
    var hNew = [Double](repeating: 0, count: H)
    for i in 0..<H { hNew[i] = (1 - z[i]) * n[i] + z[i] * h[i] }
    return CellState(h: hNew, c: state.c)
}

/// lstm, gates `i, f, g, o` in that order, each of `W_i?·x + b_i? + W_h?·h + b_h?`:
/// `i = σ(·)`, `f = σ(·)`, `g = tanh(·)`, `o = σ(·)`; `c' = f ⊙ c + i ⊙ g`, `h' = o ⊙ tanh(c')`.
func lstmStep(_ w: CellWeights, x: [Double], state: CellState) -> CellState {
    let H = state.h.count
    let pre = add(linear(w.W_ih, x, w.b_ih), linear(w.W_hh, state.h, w.b_hh))  // (4H)
    let i = sigmoid(gate(pre, 0, H))
    let f = sigmoid(gate(pre, 1, H))
    let g = tanh(gate(pre, 2, H))
    let o = sigmoid(gate(pre, 3, H))
    let cNew = add(mul(f, state.c), mul(i, g))
    let hNew = mul(o, tanh(cNew))
    return CellState(h: hNew, c: cNew)
}
