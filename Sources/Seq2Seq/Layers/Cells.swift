/// The elementwise half of a recurrent step for one row, after the two matrix products.
///
/// - `gx` (G·H): `W_ih · x` plus the layer's folded input bias (see `RecurrentLayer`).
/// - `gh` (G·H): `W_hh · h`, no bias.
/// - `h` (H), `c` (H, LSTM only): the state, updated in place.
///
/// Runs in the C kernels (`Kernels.cellUpdate`): the gates' `fastExp`-based sigmoid and `fastTanh` (absolute
/// error below 1e-6) 16 units at a time with AVX-512, 8 with AVX2, or one at a time, libm for the last H mod 8
/// units; the same bits on every path, and the same as the Swift SIMD8 code it replaced (CellKernelTests).
@inline(__always)
func cellUpdate(_ cell: ModelConfig.Cell, hidden H: Int, gx: UnsafePointer<Float>, gh: UnsafePointer<Float>,
                biasN: UnsafePointer<Float>?, h: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>?) {
    precondition(cell != .gru || biasN != nil, "a GRU cell needs its n-gate hidden bias")
    precondition(cell != .lstm || c != nil, "an LSTM cell needs its cell state")
    Kernels.cellUpdate(cell, hidden: H, gx: gx, gh: gh, biasN: biasN, h: h, c: c)
}
