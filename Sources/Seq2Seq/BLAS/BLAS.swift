// Every call into OpenBLAS goes through this file.
//
// Convention, once for the whole engine: matrices are ROW-MAJOR. A matrix of
// shape (rows, cols) with leading dimension `ld` (>= cols) stores element
// (i, j) at `base[i * ld + j]`. Vectors are contiguous unless a stride says
// otherwise. Shapes are checked here with `precondition` (a mismatch is a bug
// in the engine, never a user error); sizes are converted to `Int32` here.

import CSystemBLAS

/// Whether a matrix operand is used as stored or transposed.
@usableFromInline
enum Transpose: Sendable {
    case none
    case transposed

    @inline(__always) var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
}

/// A read-only row-major view `(rows, cols)` with leading dimension `ld`.
@usableFromInline
struct ConstMatrixView: @unchecked Sendable {
    @usableFromInline let base: UnsafePointer<Float>
    @usableFromInline let rows: Int
    @usableFromInline let cols: Int
    @usableFromInline let ld: Int

    @inline(__always)
    init(_ base: UnsafePointer<Float>, rows: Int, cols: Int, ld: Int? = nil) {
        precondition(rows >= 0 && cols >= 0, "negative matrix shape (\(rows), \(cols))")
        self.base = base
        self.rows = rows
        self.cols = cols
        self.ld = ld ?? max(cols, 1)
        precondition(self.ld >= max(cols, 1), "leading dimension \(self.ld) < cols \(cols)")
    }

    /// Row `i` as a pointer to `cols` contiguous floats.
    @inline(__always) func row(_ i: Int) -> UnsafePointer<Float> { base + i * ld }

    /// Rows `start ..< start + count` as a view.
    @inline(__always) func rows(_ start: Int, _ count: Int) -> ConstMatrixView {
        ConstMatrixView(base + start * ld, rows: count, cols: cols, ld: ld)
    }

    /// Columns `start ..< start + count` of every row, as a view with the same `ld`.
    @inline(__always) func columns(_ start: Int, _ count: Int) -> ConstMatrixView {
        precondition(start >= 0 && start + count <= cols)
        return ConstMatrixView(base + start, rows: rows, cols: count, ld: ld)
    }
}

/// A writable row-major view `(rows, cols)` with leading dimension `ld`.
@usableFromInline
struct MatrixView: @unchecked Sendable {
    @usableFromInline let base: UnsafeMutablePointer<Float>
    @usableFromInline let rows: Int
    @usableFromInline let cols: Int
    @usableFromInline let ld: Int

    @inline(__always)
    init(_ base: UnsafeMutablePointer<Float>, rows: Int, cols: Int, ld: Int? = nil) {
        precondition(rows >= 0 && cols >= 0, "negative matrix shape (\(rows), \(cols))")
        self.base = base
        self.rows = rows
        self.cols = cols
        self.ld = ld ?? max(cols, 1)
        precondition(self.ld >= max(cols, 1), "leading dimension \(self.ld) < cols \(cols)")
    }

    @inline(__always) var const: ConstMatrixView { ConstMatrixView(base, rows: rows, cols: cols, ld: ld) }
    @inline(__always) func row(_ i: Int) -> UnsafeMutablePointer<Float> { base + i * ld }
    @inline(__always) func rows(_ start: Int, _ count: Int) -> MatrixView {
        MatrixView(base + start * ld, rows: count, cols: cols, ld: ld)
    }
    @inline(__always) func columns(_ start: Int, _ count: Int) -> MatrixView {
        precondition(start >= 0 && start + count <= cols)
        return MatrixView(base + start, rows: rows, cols: count, ld: ld)
    }

    /// Sets every row to `vector` (`cols` floats), or to zeros when `vector` is nil.
    @inline(__always) func fillRows(with vector: UnsafePointer<Float>?) {
        for i in 0..<rows {
            let r = row(i)
            if let v = vector { r.update(from: v, count: cols) } else { r.update(repeating: 0, count: cols) }
        }
    }
}

/// Typed entry points into CBLAS. The only place that calls `cblas_*`.
@usableFromInline
enum BLAS {
    /// `C (m, n) = alpha · op(A) · op(B) + beta · C`, with `op(A)` `(m, k)` and `op(B)` `(k, n)`.
    @inline(__always)
    static func gemm(_ a: ConstMatrixView, _ ta: Transpose, _ b: ConstMatrixView, _ tb: Transpose,
                     into c: MatrixView, alpha: Float = 1, beta: Float = 0) {
        let (m, ka) = ta == .none ? (a.rows, a.cols) : (a.cols, a.rows)
        let (kb, n) = tb == .none ? (b.rows, b.cols) : (b.cols, b.rows)
        precondition(ka == kb && c.rows == m && c.cols == n,
                     "gemm shapes: op(A) (\(m), \(ka)) · op(B) (\(kb), \(n)) -> C (\(c.rows), \(c.cols))")
        if m == 0 || n == 0 { return }
        if ka == 0 {
            scale(c, by: beta)
            return
        }
        cblas_sgemm(CblasRowMajor, ta.cblas, tb.cblas, Int32(m), Int32(n), Int32(ka),
                    alpha, a.base, Int32(a.ld), b.base, Int32(b.ld), beta, c.base, Int32(c.ld))
    }

    /// `y = alpha · op(A) · x + beta · y`; `x` has `op(A).cols` elements (stride `incX`), `y` `op(A).rows` (stride `incY`).
    @inline(__always)
    static func gemv(_ a: ConstMatrixView, _ ta: Transpose, x: UnsafePointer<Float>, incX: Int = 1,
                     y: UnsafeMutablePointer<Float>, incY: Int = 1, alpha: Float = 1, beta: Float = 0) {
        precondition(incX > 0 && incY > 0, "gemv strides must be positive")
        let (m, n) = ta == .none ? (a.rows, a.cols) : (a.cols, a.rows)
        if m == 0 { return }
        if n == 0 || a.rows == 0 || a.cols == 0 {
            for i in 0..<m { y[i * incY] = beta == 0 ? 0 : beta * y[i * incY] }
            return
        }
        cblas_sgemv(CblasRowMajor, ta.cblas, Int32(a.rows), Int32(a.cols), alpha, a.base, Int32(a.ld),
                    x, Int32(incX), beta, y, Int32(incY))
    }

    /// `y += alpha · x` over `count` elements.
    @inline(__always)
    static func axpy(count: Int, alpha: Float, x: UnsafePointer<Float>, incX: Int = 1,
                     y: UnsafeMutablePointer<Float>, incY: Int = 1) {
        precondition(count >= 0 && incX > 0 && incY > 0)
        if count == 0 { return }
        cblas_saxpy(Int32(count), alpha, x, Int32(incX), y, Int32(incY))
    }

    /// `x · y` over `count` elements.
    @inline(__always)
    static func dot(count: Int, _ x: UnsafePointer<Float>, incX: Int = 1,
                    _ y: UnsafePointer<Float>, incY: Int = 1) -> Float {
        precondition(count >= 0 && incX > 0 && incY > 0)
        if count == 0 { return 0 }
        return cblas_sdot(Int32(count), x, Int32(incX), y, Int32(incY))
    }

    /// `C *= beta` (zeros when `beta == 0`, so stale NaNs do not survive).
    static func scale(_ c: MatrixView, by beta: Float) {
        for i in 0..<c.rows {
            let r = c.row(i)
            if beta == 0 {
                r.update(repeating: 0, count: c.cols)
            } else {
                cblas_sscal(Int32(c.cols), beta, r, 1)
            }
        }
    }

    /// OpenBLAS's worker thread count.
    static var threadCount: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }

    /// The CPU kernels OpenBLAS chose when it loaded (`Prescott`, `Haswell`, `SkylakeX`, ...).
    static var coreName: String { openblas_get_corename().map { String(cString: $0) } ?? "?" }

    /// OpenBLAS's build configuration and the CPU kernel it chose, for reports.
    static var configuration: String {
        let config = openblas_get_config().map { String(cString: $0) } ?? "?"
        let core = openblas_get_corename().map { String(cString: $0) } ?? "?"
        return "\(config) (core \(core))"
    }
}
