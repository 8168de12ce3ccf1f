#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The elementwise half of a recurrent step for one row, after the two matrix products.
///
/// - `gx` (G·H): `W_ih · x` plus the layer's folded input bias (see `RecurrentLayer`).
/// - `gh` (G·H): `W_hh · h`, no bias.
/// - `h` (H), `c` (H, LSTM only): the state, updated in place.
@inline(__always)
func cellUpdate(_ cell: ModelConfig.Cell, hidden H: Int, gx: UnsafePointer<Float>, gh: UnsafePointer<Float>,
                biasN: UnsafePointer<Float>?, h: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>?) {
    switch cell {
    case .rnnTanh:
        for i in 0..<H { h[i] = tanhf(gx[i] + gh[i]) }
    case .gru:
        // gates r, z, n; h' = (1 − z) ⊙ n + z ⊙ h
        let bn = biasN!
        for i in 0..<H {
            let r = sigmoid(gx[i] + gh[i])
            let z = sigmoid(gx[H + i] + gh[H + i])
            let n = tanhf(gx[2 * H + i] + r * (gh[2 * H + i] + bn[i]))
            h[i] = n + z * (h[i] - n)
        }
    case .lstm:
        // gates i, f, g, o; c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c')
        let c = c!
        for j in 0..<H {
            let i = sigmoid(gx[j] + gh[j])
            let f = sigmoid(gx[H + j] + gh[H + j])
            let g = tanhf(gx[2 * H + j] + gh[2 * H + j])
            let o = sigmoid(gx[3 * H + j] + gh[3 * H + j])
            let cj = f * c[j] + i * g
            c[j] = cj
            h[j] = o * tanhf(cj)
        }
    }
}
