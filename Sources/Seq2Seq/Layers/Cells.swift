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

/// The cell updates of one recurrent step's rows, for `forEachRow`: row `r` reads `gx` row `gxRow(r)` and `gh`
/// row `r`, updates `h` (and `c`) row `r`, and, when there is an `out`, copies the new `h` into `out` row
/// `gxRow(r)` from column `outColumn` (the encoder's memory bank). The same bits as updating the rows in turn.
struct CellRows {
    let cell: ModelConfig.Cell
    let hidden: Int
    let gx: MatrixView  // (rows of the projections, G·H)
    let gh: MatrixView  // (R, G·H)
    let biasN: UnsafePointer<Float>?  // (H), GRU only
    let h: MatrixView  // (R, H)
    let c: MatrixView?  // (R, H), LSTM only
    let out: MatrixView?  // (rows of the projections, ≥ outColumn + H): the encoder's bank; nil in the decoder
    let outColumn: Int
    /// Encoder rows: `offsets[r]` plus the step's position (`reversed`: counted from the sentence's end); nil: `r`.
    let offsets: UnsafeMutablePointer<Int>?
    let lengths: UnsafeMutablePointer<Int>?
    let position: Int
    let reversed: Bool

    @inline(__always) func gxRow(_ r: Int) -> Int {
        guard let offsets, let lengths else { return r }
        return offsets[r] + (reversed ? lengths[r] - 1 - position : position)
    }

    @inline(__always) func update(_ r: Int) {
        let row = gxRow(r)
        cellUpdate(cell, hidden: hidden, gx: gx.row(row), gh: gh.row(r), biasN: biasN, h: h.row(r), c: c?.row(r))
        if let out { out.row(row).advanced(by: outColumn).update(from: h.row(r), count: hidden) }
    }

    /// Updates rows `0 ..< rows`, in parallel when there are enough of them.
    func run(rows: Int) {
        var job = self
        forEachRow(rows, work: gh.cols, state: &job) { raw, r in raw.assumingMemoryBound(to: CellRows.self).pointee.update(r) }
    }
}
