import Seq2Seq

/// A float32 tensor in memory, row-major: what converters rearrange toolkit weights into.
///
/// Matrices are `(rows, cols)` with element `(i, j)` at `values[i · cols + j]`; vectors have one dimension.
public struct DenseTensor: Sendable, Equatable {
    /// The shape, outermost first.
    public var shape: [Int]
    /// `shape.reduce(1, *)` values, row-major.
    public var values: [Float]

    /// A tensor from its parts; the count must match the shape.
    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "\(values.count) values do not fill shape \(shape)")
        self.shape = shape
        self.values = values
    }

    /// Rows of a matrix (`shape[0]`).
    var rows: Int { shape[0] }
    /// Columns of a matrix (`shape[1]`), 1 for a vector.
    var cols: Int { shape.count > 1 ? shape[1] : 1 }

    /// `Wᵀ (cols, rows)` of a matrix `W (rows, cols)`.
    func transposed() -> DenseTensor {
        precondition(shape.count == 2)
        var out = [Float](repeating: 0, count: values.count)
        for i in 0..<rows { for j in 0..<cols { out[j * rows + i] = values[i * cols + j] } }
        return DenseTensor(shape: [cols, rows], values: out)
    }

    /// Columns `range` of a matrix, `(rows, range.count)`.
    func columns(_ range: Range<Int>) -> DenseTensor {
        precondition(shape.count == 2 && range.lowerBound >= 0 && range.upperBound <= cols)
        var out: [Float] = []
        out.reserveCapacity(rows * range.count)
        for i in 0..<rows { out.append(contentsOf: values[(i * cols + range.lowerBound)..<(i * cols + range.upperBound)]) }
        return DenseTensor(shape: [rows, range.count], values: out)
    }

    /// Rows `range` of a matrix (or elements of a vector).
    func rows(_ range: Range<Int>) -> DenseTensor {
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[0])
        let width = shape.count > 1 ? cols : 1
        let slice = Array(values[(range.lowerBound * width)..<(range.upperBound * width)])
        return DenseTensor(shape: shape.count > 1 ? [range.count, cols] : [range.count], values: slice)
    }

    /// `[A B …]`: matrices with the same row count side by side.
    static func hcat(_ parts: [DenseTensor]) -> DenseTensor {
        let r = parts[0].rows
        precondition(parts.allSatisfy { $0.shape.count == 2 && $0.rows == r })
        let c = parts.reduce(0) { $0 + $1.cols }
        var out: [Float] = []
        out.reserveCapacity(r * c)
        for i in 0..<r { for p in parts { out.append(contentsOf: p.values[(i * p.cols)..<((i + 1) * p.cols)]) } }
        return DenseTensor(shape: [r, c], values: out)
    }

    /// `diag(W, W, …)` with `copies` copies of the matrix `W` on the diagonal.
    func blockDiagonal(copies: Int) -> DenseTensor {
        precondition(shape.count == 2)
        let R = rows * copies, C = cols * copies
        var out = [Float](repeating: 0, count: R * C)
        for b in 0..<copies {
            for i in 0..<rows {
                for j in 0..<cols { out[(b * rows + i) * C + b * cols + j] = values[i * cols + j] }
            }
        }
        return DenseTensor(shape: [R, C], values: out)
    }

    /// The vector repeated `copies` times.
    func repeated(_ copies: Int) -> DenseTensor {
        DenseTensor(shape: [values.count * copies], values: Array([[Float]](repeating: values, count: copies).joined()))
    }

    /// Every value times `factor`.
    func scaled(by factor: Float) -> DenseTensor { DenseTensor(shape: shape, values: values.map { $0 * factor }) }

    /// `(n, n)` identity, or `(n, m)` with ones on the diagonal.
    static func identity(rows n: Int, cols m: Int) -> DenseTensor {
        var out = [Float](repeating: 0, count: n * m)
        for i in 0..<min(n, m) { out[i * m + i] = 1 }
        return DenseTensor(shape: [n, m], values: out)
    }
}
