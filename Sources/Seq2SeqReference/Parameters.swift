import Seq2Seq

// Every matrix here is row-major: `W (rows, cols)` stores `W[i][j]` at `i·cols + j`,
// exactly as the safetensors file and MODEL.md lay it out. Values are converted
// from the model's Float32 to Double once, at load; all arithmetic is in Double.

/// A weight matrix `W (rows, cols)`, row-major, in Double.
struct Matrix {
    let rows: Int
    let cols: Int
    /// `rows · cols` values, row-major.
    let values: [Double]

    /// `W[i][j]`.
    subscript(i: Int, j: Int) -> Double { values[i * cols + j] }
}

/// `W · x`: `W (rows, cols)`, `x (cols)` → `(rows)`. One dot product a row, nothing clever.
func matVec(_ W: Matrix, _ x: [Double]) -> [Double] {
    precondition(x.count == W.cols, "matVec: W is (\(W.rows), \(W.cols)) but x has \(x.count)")
    var y = [Double](repeating: 0, count: W.rows)
    for i in 0..<W.rows {
        var sum = 0.0
        for j in 0..<W.cols { sum += W[i, j] * x[j] }
        y[i] = sum
    }
    return y
}

/// `W · x + b`: a linear layer, `W (rows, cols)`, `b (rows)`.
func linear(_ W: Matrix, _ x: [Double], _ b: [Double]) -> [Double] {
    add(matVec(W, x), b)
}

/// `a + b`, elementwise.
func add(_ a: [Double], _ b: [Double]) -> [Double] {
    precondition(a.count == b.count, "add: \(a.count) vs \(b.count)")
    return (0..<a.count).map { a[$0] + b[$0] }
}

/// `a ⊙ b`, elementwise.
func mul(_ a: [Double], _ b: [Double]) -> [Double] {
    precondition(a.count == b.count, "mul: \(a.count) vs \(b.count)")
    return (0..<a.count).map { a[$0] * b[$0] }
}

/// `a · b`, the dot product.
func dot(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count, "dot: \(a.count) vs \(b.count)")
    var sum = 0.0
    for i in 0..<a.count { sum += a[i] * b[i] }
    return sum
}

/// `σ(x) = 1 / (1 + e^−x)`, elementwise.
func sigmoid(_ x: [Double]) -> [Double] { x.map { 1 / (1 + exp(-$0)) } }

/// `tanh(x)`, elementwise.
func tanh(_ x: [Double]) -> [Double] { x.map { scalarTanh($0) } }

/// `[a; b]`: concatenation.
func concat(_ a: [Double], _ b: [Double]) -> [Double] { a + b }

/// The model's tensors as Double, looked up by MODEL.md's names. Weights must exist (the model was
/// validated at load); an absent bias means zeros.
struct Parameters {
    let model: Seq2SeqModel

    /// The weight `name`, as a `(shape[0], product of the rest)` matrix; a stored quantized weight dequantized.
    func weight(_ name: String) -> Matrix {
        if let s = model.storedWeight(name) { return dequantize(s) }
        guard let t = model.tensor(name) else { preconditionFailure("weight \(name) missing from a validated model") }
        let rows = t.shape.first ?? 1
        let cols = rows == 0 ? 0 : t.count / rows
        return Matrix(rows: rows, cols: cols, values: t.scalars.map(Double.init))
    }

    /// The bias `name` of `count` values, or `count` zeros when the file does not hold it.
    func bias(_ name: String, count: Int) -> [Double] {
        guard let t = model.tensor(name) else { return [Double](repeating: 0, count: count) }
        precondition(t.count == count, "bias \(name) has \(t.count) values, expected \(count)")
        return t.scalars.map(Double.init)
    }

    /// Row `id` of an embedding table `(V, E)`: the vector `(E)` of token `id`.
    func row(_ table: Matrix, _ id: Int) -> [Double] {
        Array(table.values[id * table.cols..<(id + 1) * table.cols])
    }
}

/// A stored quantized weight as Double (docs/MODEL.md, "Stored quantized models"): int8 `w_ij = s_i · q_ij`;
/// float16 and bfloat16 decoded from their bits.
func dequantize(_ w: StoredWeight) -> Matrix {
    var values = [Double](repeating: 0, count: w.rows * w.cols)
    for i in 0..<w.rows {
        for j in 0..<w.cols {
            let code = w.codes[i * w.cols + j]
            switch w.type {
            case .int8: values[i * w.cols + j] = Double(w.scales![i]) * Double(code)
            case .float16: values[i * w.cols + j] = binary16(UInt16(code))
            case .bfloat16: values[i * w.cols + j] = Double(Float(bitPattern: UInt32(code) << 16))
            case .float32: preconditionFailure("float32 weights are not stored quantized")
            }
        }
    }
    return Matrix(rows: w.rows, cols: w.cols, values: values)
}

/// IEEE binary16 bits as a number: `(−1)^sign · 2^(exponent − 15) · 1.mantissa`, subnormals `2^−14 · 0.mantissa`.
func binary16(_ h: UInt16) -> Double {
    let sign: Double = h & 0x8000 != 0 ? -1 : 1
    let exponent = Int((h >> 10) & 0x1F)
    let mantissa = Double(h & 0x3FF) / 1024
    if exponent == 0 { return sign * mantissa * pow(2, -14) }
    if exponent == 31 { return mantissa == 0 ? sign * .infinity : .nan }
    return sign * (1 + mantissa) * pow(2, Double(exponent - 15))
}
