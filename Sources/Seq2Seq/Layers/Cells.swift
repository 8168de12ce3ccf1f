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
///
/// Eight lanes at a time (`fastExp`-based sigmoid and tanh, absolute error below 1e-6), libm for the tail.
@inline(__always)
func cellUpdate(_ cell: ModelConfig.Cell, hidden H: Int, gx: UnsafePointer<Float>, gh: UnsafePointer<Float>,
                biasN: UnsafePointer<Float>?, h: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>?) {
    let vectorEnd = H & ~7
    switch cell {
    case .rnnTanh:
        var i = 0
        while i < vectorEnd {
            store(fastTanh(load(gx + i) + load(gh + i)), h + i)
            i += 8
        }
        while i < H { h[i] = tanhf(gx[i] + gh[i]); i += 1 }
    case .gru:
        // gates r, z, n; h' = (1 − z) ⊙ n + z ⊙ h = n + z ⊙ (h − n)
        let bn = biasN!
        var i = 0
        while i < vectorEnd {
            let r = fastSigmoid(load(gx + i) + load(gh + i))
            let z = fastSigmoid(load(gx + H + i) + load(gh + H + i))
            let n = fastTanh(load(gx + 2 * H + i) + r * (load(gh + 2 * H + i) + load(bn + i)))
            store(n + z * (load(h + i) - n), h + i)
            i += 8
        }
        while i < H {
            let r = sigmoid(gx[i] + gh[i])
            let z = sigmoid(gx[H + i] + gh[H + i])
            let n = tanhf(gx[2 * H + i] + r * (gh[2 * H + i] + bn[i]))
            h[i] = n + z * (h[i] - n)
            i += 1
        }
    case .lstm:
        // gates i, f, g, o; c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c')
        let c = c!
        var j = 0
        while j < vectorEnd {
            let i = fastSigmoid(load(gx + j) + load(gh + j))
            let f = fastSigmoid(load(gx + H + j) + load(gh + H + j))
            let g = fastTanh(load(gx + 2 * H + j) + load(gh + 2 * H + j))
            let o = fastSigmoid(load(gx + 3 * H + j) + load(gh + 3 * H + j))
            let cj = f * load(c + j) + i * g
            store(cj, c + j)
            store(o * fastTanh(cj), h + j)
            j += 8
        }
        while j < H {
            let i = sigmoid(gx[j] + gh[j])
            let f = sigmoid(gx[H + j] + gh[H + j])
            let g = tanhf(gx[2 * H + j] + gh[2 * H + j])
            let o = sigmoid(gx[3 * H + j] + gh[3 * H + j])
            let cj = f * c[j] + i * g
            c[j] = cj
            h[j] = o * tanhf(cj)
            j += 1
        }
    }
}

@inline(__always) func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always) func load(_ p: UnsafeMutablePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always) func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// `1 / (1 + e^{-x})` for 8 lanes.
@inline(__always) func fastSigmoid(_ x: SIMD8<Float>) -> SIMD8<Float> { 1 / (1 + fastExp(-x)) }
