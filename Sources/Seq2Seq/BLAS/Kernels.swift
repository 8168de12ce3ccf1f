// Every call into the engine's own C kernels (CSeq2SeqKernels) goes through this file, as BLAS.swift does
// for OpenBLAS. Row-major throughout (see BLAS.swift); shapes are checked here with `precondition`.

import CSeq2SeqKernels

/// How a weight matrix's elements are stored.
public enum ComputeType: String, Sendable, CaseIterable, Codable {
    /// 4 bytes per weight, as loaded.
    case float32
    /// IEEE binary16, 2 bytes per weight (rounded to nearest even at load).
    case float16
    /// bfloat16, 2 bytes per weight (rounded to nearest even at load).
    case bfloat16
    /// Symmetric int8 with one float32 scale per output row (`w ≈ scale_row · q`, q in −127…127); products
    /// quantize each activation row to int16 (one scale per row) and sum exactly in int32.
    case int8

    var kernelCode: Int32 {
        switch self {
        case .float32: Int32(S2S_F32)
        case .float16: Int32(S2S_F16)
        case .bfloat16: Int32(S2S_BF16)
        case .int8: Int32(S2S_I8)
        }
    }

    /// Bytes per stored element.
    var elementSize: Int {
        switch self {
        case .float32: 4
        case .float16, .bfloat16: 2
        case .int8: 1
        }
    }
}

/// A read-only row-major weight `(rows, cols)` with leading dimension `ld` (elements), of any `ComputeType`;
/// int8 rows carry one scale each.
@usableFromInline
struct PackedMatrix: @unchecked Sendable {
    let type: ComputeType
    let base: UnsafeRawPointer
    let scales: UnsafePointer<Float>?  // (rows), int8 only
    let rows: Int
    let cols: Int
    let ld: Int

    init(type: ComputeType, base: UnsafeRawPointer, scales: UnsafePointer<Float>?, rows: Int, cols: Int, ld: Int? = nil) {
        precondition(rows >= 0 && cols >= 0)
        precondition((type == .int8) == (scales != nil), "int8 weights need row scales, other types none")
        self.type = type; self.base = base; self.scales = scales
        self.rows = rows; self.cols = cols; self.ld = ld ?? max(cols, 1)
    }

    init(_ view: ConstMatrixView) {
        self.init(type: .float32, base: UnsafeRawPointer(view.base), scales: nil, rows: view.rows, cols: view.cols, ld: view.ld)
    }

    /// Rows `start ..< start + count`.
    func rows(_ start: Int, _ count: Int) -> PackedMatrix {
        precondition(start >= 0 && start + count <= rows)
        return PackedMatrix(type: type, base: base + start * ld * type.elementSize, scales: scales.map { $0 + start },
                            rows: count, cols: cols, ld: ld)
    }

    /// Columns `start ..< start + count` of every row (the row scales still apply).
    func columns(_ start: Int, _ count: Int) -> PackedMatrix {
        precondition(start >= 0 && start + count <= cols)
        return PackedMatrix(type: type, base: base + start * type.elementSize, scales: scales, rows: rows, cols: count, ld: ld)
    }

    /// Element `(i, j)` as a float (tests, embedding gathers).
    func element(_ i: Int, _ j: Int) -> Float {
        let p = base + (i * ld + j) * type.elementSize
        switch type {
        case .float32: return p.loadUnaligned(as: Float.self)
        case .float16: return halfToFloat(p.loadUnaligned(as: UInt16.self))
        case .bfloat16: return Float(bitPattern: UInt32(p.loadUnaligned(as: UInt16.self)) << 16)
        case .int8: return scales![i] * Float(p.load(as: Int8.self))
        }
    }
}

/// The instruction set of the kernels.
public enum KernelISA: String, Sendable {
    /// Portable C, for any CPU (and forced with `SEQ2SEQ_FORCE_ISA=scalar`).
    case scalar
    /// AVX2, FMA and F16C, chosen when the CPU and the OS support them (and not AVX-512; forced with
    /// `SEQ2SEQ_FORCE_ISA=avx2`).
    case avx2
    /// AVX-512 F, BW, DQ and VL on top of AVX2: twice the lanes and registers, the same bits (forced with
    /// `SEQ2SEQ_FORCE_ISA=avx512` on a CPU with VNNI).
    case avx512
    /// AVX-512 with VNNI: int8 products sum their integer pairs in one instruction (the same exact sums).
    case avx512vnni

    init(code: Int32) {
        switch code {
        case Int32(S2S_ISA_AVX512_VNNI): self = .avx512vnni
        case Int32(S2S_ISA_AVX512): self = .avx512
        case Int32(S2S_ISA_AVX2): self = .avx2
        default: self = .scalar
        }
    }

    var code: Int32 {
        switch self {
        case .scalar: Int32(S2S_ISA_SCALAR)
        case .avx2: Int32(S2S_ISA_AVX2)
        case .avx512: Int32(S2S_ISA_AVX512)
        case .avx512vnni: Int32(S2S_ISA_AVX512_VNNI)
        }
    }

    /// This instruction set and the narrower ones this CPU also runs, widest first.
    static var available: [KernelISA] {
        [.avx512vnni, .avx512, .avx2, .scalar].filter { $0.code <= Kernels.supportedISA.code }
    }
}

/// Typed entry points into CSeq2SeqKernels. The only place that calls `s2s_*`.
public enum Kernels {
    /// The instruction set the kernels run with: AVX-512 (with VNNI) or AVX2+FMA+F16C when the CPU (and OS) have
    /// them, else scalar; `SEQ2SEQ_FORCE_ISA=avx512`, `avx2` or `scalar` in the environment forces a narrower
    /// one. All give the same bits.
    public static var isa: KernelISA {
        get { KernelISA(code: s2s_isa()) }
        set { _ = s2s_set_isa(newValue.code) }
    }

    /// Whether the kernels run an AVX-512 path (the instruction set in effect, not only the CPU's).
    static var hasAVX512: Bool { s2s_isa() >= Int32(S2S_ISA_AVX512) }

    /// A spin-wait hint for a thread polling a flag (`s2s_spin_hint`: x86 `pause`, aarch64 `yield`).
    @inline(__always) static func spinHint() { s2s_spin_hint() }

    /// The best instruction set this CPU supports.
    public static var supportedISA: KernelISA { KernelISA(code: s2s_isa_supported()) }

    /// `out (w.rows, w.cols)`, contiguous = the weight widened exactly to float32.
    @inline(__always)
    static func widen(_ w: PackedMatrix, into out: UnsafeMutablePointer<Float>) {
        s2s_widen(w.type.kernelCode, w.base, w.ld, Int32(w.rows), Int32(w.cols), out)
    }

    /// The calling thread's batch-invariant flag (`s2s_thread_batch_invariant`; false on a new thread).
    static var threadBatchInvariant: Bool {
        @inline(__always) get { s2s_thread_batch_invariant() != 0 }
        @inline(__always) set { s2s_set_thread_batch_invariant(newValue ? 1 : 0) }
    }

    /// At least `count` floats of the calling thread's own scratch (grown on first need, then reused).
    @inline(__always)
    static func threadScratch(_ count: Int) -> UnsafeMutablePointer<Float> {
        guard let p = s2s_thread_scratch(count) else { fatalError("out of memory for \(count) floats of scratch") }
        return p
    }

    /// Whether the CPU (and OS) support AVX-512 F, CD, BW, DQ and VL: OpenBLAS's `SkylakeX` kernels.
    static var cpuHasAVX512: Bool { s2s_cpu_has_avx512() == 1 }

    /// `Y (n, m) = X (n, k) · Wᵀ (+ Y when accumulate)`, W `(m, k)`: weight-stationary, every element of Y the
    /// same bits whatever `n` and whatever rows of W a call covers.
    @inline(__always)
    static func product(_ x: ConstMatrixView, _ w: PackedMatrix, into y: MatrixView, accumulate: Bool) {
        precondition(x.cols == w.cols && y.rows == x.rows && y.cols == w.rows,
                     "kernel product shapes: X (\(x.rows), \(x.cols)) · Wᵀ (\(w.cols), \(w.rows)) -> Y (\(y.rows), \(y.cols))")
        if x.rows == 0 || w.rows == 0 { return }
        s2s_product(w.type.kernelCode, w.base, w.ld, w.scales, Int32(w.rows), Int32(w.cols),
                    x.base, x.ld, Int32(x.rows), y.base, y.ld, accumulate ? 1 : 0)
    }

    /// The largest magnitude of an int8 product's quantized activations for rows of `k` elements (int16 with
    /// one scale per row; 32767 unless `k · 127 · limit` would overflow the exact int32 sum).
    static func int8ActivationLimit(_ k: Int) -> Int { Int(s2s_i8_activation_limit(Int32(k))) }

    /// `log Σ exp(x[i])` over `n` values, max-subtracted (8 lanes of `fastExp`'s polynomial with AVX2 or
    /// scalar, the same bits).
    @inline(__always)
    static func logSumExp(_ x: UnsafePointer<Float>, _ n: Int) -> Float { s2s_log_sum_exp(x, n) }

    /// `Σ_a v[a] · tanh(q[a] + k[a])` over `n` values (8 lanes of `fastTanh` with AVX2 or scalar, the same bits).
    @inline(__always)
    static func additiveScore(_ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>, _ n: Int) -> Float {
        s2s_additive_score(q, k, v, n)
    }

    /// The elementwise half of a recurrent step for one row, in place (`s2s_cell_update`): `gx` (G·H) the
    /// input product plus folded bias, `gh` (G·H) the hidden product, `biasN` (H) the GRU's n-gate hidden bias,
    /// `h` (H) and an LSTM's `c` (H) the state. The same bits on every ISA.
    @inline(__always)
    static func cellUpdate(_ cell: ModelConfig.Cell, hidden H: Int, gx: UnsafePointer<Float>, gh: UnsafePointer<Float>,
                           biasN: UnsafePointer<Float>?, h: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>?) {
        let code: Int32
        switch cell {
        case .rnnTanh: code = Int32(S2S_CELL_RNN_TANH)
        case .gru: code = Int32(S2S_CELL_GRU)
        case .lstm: code = Int32(S2S_CELL_LSTM)
        }
        s2s_cell_update(code, H, gx, gh, biasN, h, c)
    }

    /// `Y (n, d) = A (n, len) · M (len, d)`, each element summed in `j` order whatever `n`.
    @inline(__always)
    static func mix(_ a: ConstMatrixView, _ m: ConstMatrixView, into y: MatrixView) {
        precondition(a.cols == m.rows && y.rows == a.rows && y.cols == m.cols,
                     "mix shapes: A (\(a.rows), \(a.cols)) · M (\(m.rows), \(m.cols)) -> Y (\(y.rows), \(y.cols))")
        s2s_mix(Int32(a.rows), Int32(a.cols), Int32(m.cols), a.base, a.ld, m.base, m.ld, y.base, y.ld)
    }

    /// `matrix (rows, cols)` converted to `type` in new memory from `allocate(bytes)`; int8 scales too.
    static func pack(_ matrix: ConstMatrixView, as type: ComputeType,
                     allocate: (Int) -> UnsafeMutableRawPointer) -> PackedMatrix {
        let rows = matrix.rows, cols = matrix.cols
        if type == .float32 { return PackedMatrix(matrix) }
        let data = allocate(max(rows * cols * type.elementSize, 1))
        switch type {
        case .float32:
            fatalError("unreachable")
        case .float16, .bfloat16:
            let out = data.bindMemory(to: UInt16.self, capacity: rows * cols)
            for i in 0..<rows {
                if type == .float16 { s2s_to_f16(matrix.row(i), out + i * cols, cols) }
                else { s2s_to_bf16(matrix.row(i), out + i * cols, cols) }
            }
            return PackedMatrix(type: type, base: UnsafeRawPointer(data), scales: nil, rows: rows, cols: cols)
        case .int8:
            let out = data.bindMemory(to: Int8.self, capacity: rows * cols)
            let scales = allocate(max(rows, 1) * 4).bindMemory(to: Float.self, capacity: max(rows, 1))
            for i in 0..<rows { scales[i] = s2s_quantize_row_i8(matrix.row(i), out + i * cols, cols) }
            return PackedMatrix(type: type, base: UnsafeRawPointer(data), scales: UnsafePointer(scales), rows: rows, cols: cols)
        }
    }
}
