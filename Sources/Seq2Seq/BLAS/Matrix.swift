#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A dense row-major matrix of `Float`: element `(i, j)` is `storage[i * cols + j]`.
///
/// The public face of the engine's BLAS layer: enough to run and test the
/// products the layers use without touching CBLAS enums or raw pointers.
/// A vector is a matrix with one column (or one row).
public struct Matrix: Equatable, Sendable {
    /// Number of rows.
    public let rows: Int
    /// Number of columns.
    public let cols: Int
    /// The elements, row after row (`rows * cols` of them).
    public private(set) var storage: [Float]

    /// A `(rows, cols)` matrix filled with `value`.
    public init(rows: Int, cols: Int, repeating value: Float = 0) {
        precondition(rows >= 0 && cols >= 0, "negative matrix shape (\(rows), \(cols))")
        self.rows = rows
        self.cols = cols
        self.storage = [Float](repeating: value, count: rows * cols)
    }

    /// A `(rows, cols)` matrix over `storage`, which must hold `rows * cols` elements, row after row.
    public init(rows: Int, cols: Int, storage: [Float]) {
        precondition(rows >= 0 && cols >= 0 && storage.count == rows * cols,
                     "storage of \(storage.count) elements does not fit shape (\(rows), \(cols))")
        self.rows = rows
        self.cols = cols
        self.storage = storage
    }

    /// A column vector `(count, 1)`.
    public init(vector: [Float]) {
        self.init(rows: vector.count, cols: 1, storage: vector)
    }

    /// Element `(i, j)`.
    public subscript(i: Int, j: Int) -> Float {
        get {
            precondition(i >= 0 && i < rows && j >= 0 && j < cols, "index (\(i), \(j)) outside (\(rows), \(cols))")
            return storage[i * cols + j]
        }
        set {
            precondition(i >= 0 && i < rows && j >= 0 && j < cols, "index (\(i), \(j)) outside (\(rows), \(cols))")
            storage[i * cols + j] = newValue
        }
    }

    /// The transpose `(cols, rows)`.
    public var transposed: Matrix {
        var t = Matrix(rows: cols, cols: rows)
        for i in 0..<rows { for j in 0..<cols { t.storage[j * rows + i] = storage[i * cols + j] } }
        return t
    }

    /// `C = alpha · op(A) · op(B) + beta · C` (sgemm). `op(A)` is `(m, k)`, `op(B)` `(k, n)`, `C` `(m, n)`.
    public static func gemm(_ a: Matrix, transposeA: Bool = false, _ b: Matrix, transposeB: Bool = false,
                            alpha: Float = 1, beta: Float = 0, into c: inout Matrix) {
        a.storage.withUnsafeBufferPointer { pa in
            b.storage.withUnsafeBufferPointer { pb in
                c.storage.withUnsafeMutableBufferPointer { pc in
                    BLAS.gemm(ConstMatrixView(pa.baseAddress ?? dummy, rows: a.rows, cols: a.cols),
                              transposeA ? .transposed : .none,
                              ConstMatrixView(pb.baseAddress ?? dummy, rows: b.rows, cols: b.cols),
                              transposeB ? .transposed : .none,
                              into: MatrixView(pc.baseAddress ?? mutableDummy, rows: c.rows, cols: c.cols),
                              alpha: alpha, beta: beta)
                }
            }
        }
    }

    /// `op(A) · op(B)` as a new matrix.
    public static func product(_ a: Matrix, transposeA: Bool = false, _ b: Matrix, transposeB: Bool = false) -> Matrix {
        var c = Matrix(rows: transposeA ? a.cols : a.rows, cols: transposeB ? b.rows : b.cols)
        gemm(a, transposeA: transposeA, b, transposeB: transposeB, into: &c)
        return c
    }

    /// `y = alpha · op(A) · x + beta · y` (sgemv), with `x` of `op(A).cols` and `y` of `op(A).rows` elements.
    public static func gemv(_ a: Matrix, transpose: Bool = false, _ x: [Float],
                            alpha: Float = 1, beta: Float = 0, into y: inout [Float]) {
        let (m, n) = transpose ? (a.cols, a.rows) : (a.rows, a.cols)
        precondition(x.count == n && y.count == m,
                     "gemv shapes: op(A) (\(m), \(n)) · x (\(x.count)) -> y (\(y.count))")
        a.storage.withUnsafeBufferPointer { pa in
            x.withUnsafeBufferPointer { px in
                y.withUnsafeMutableBufferPointer { py in
                    BLAS.gemv(ConstMatrixView(pa.baseAddress ?? dummy, rows: a.rows, cols: a.cols),
                              transpose ? .transposed : .none,
                              x: px.baseAddress ?? dummy, y: py.baseAddress ?? mutableDummy,
                              alpha: alpha, beta: beta)
                }
            }
        }
    }
}

/// `y += alpha · x` (saxpy); both have the same length.
public func axpy(_ alpha: Float, _ x: [Float], _ y: inout [Float]) {
    precondition(x.count == y.count, "axpy lengths \(x.count) and \(y.count) differ")
    x.withUnsafeBufferPointer { px in
        y.withUnsafeMutableBufferPointer { py in
            BLAS.axpy(count: x.count, alpha: alpha, x: px.baseAddress ?? dummy, y: py.baseAddress ?? mutableDummy)
        }
    }
}

/// `x · y` (sdot); both have the same length.
public func dot(_ x: [Float], _ y: [Float]) -> Float {
    precondition(x.count == y.count, "dot lengths \(x.count) and \(y.count) differ")
    return x.withUnsafeBufferPointer { px in
        y.withUnsafeBufferPointer { py in
            BLAS.dot(count: x.count, px.baseAddress ?? dummy, py.baseAddress ?? dummy)
        }
    }
}

/// The threads the engine uses for one matrix product, shared by the whole process.
///
/// The engine splits each large product across its own small pool of threads
/// and runs OpenBLAS single-threaded inside each part (OpenBLAS's own threading
/// wakes its threads on every call, which costs more than it gains at these
/// sizes). The default is the `OPENBLAS_NUM_THREADS` environment variable when
/// set, otherwise one thread per core (at most 8).
public enum BLASThreads {
    /// Threads per product (1 = the calling thread only). Setting it while other threads translate is safe:
    /// a product already running keeps the count it started with.
    public static var count: Int {
        get { configure(); return WorkerPool.shared.width }
        set {
            configure()
            WorkerPool.shared.setWidth(newValue)
        }
    }

    /// How long, in microseconds, an idle thread of the pool polls for the next product before it sleeps
    /// (default 100, or `SEQ2SEQ_POOL_SPIN_US` from the environment; at most one second). Polling spares each
    /// split a wake-up (a system call on the caller's path, and a worker that arrives late): one-sentence
    /// decoding of B1 ran about 1.15× faster with 100 µs than with 5. It holds a core while it polls, so a
    /// process whose other threads need the cores between decoding bursts (a server at low load) may want less.
    public static var spinMicroseconds: Int {
        get { WorkerPool.shared.spinMicroseconds }
        set { WorkerPool.shared.spinMicroseconds = newValue }
    }

    /// OpenBLAS's build configuration and chosen CPU kernel, e.g. `OpenBLAS 0.3.21 ... (core Cooperlake)`.
    public static var configuration: String { BLAS.configuration }

    /// The `OPENBLAS_CORETYPE` this CPU should run with when OpenBLAS chose kernels narrower than the CPU's
    /// vectors, else nil.
    ///
    /// OpenBLAS picks its kernels from CPUID when it loads, and a release older than the CPU falls back to
    /// generic ones: Debian 12's OpenBLAS 0.3.21 runs its SSE3 `Prescott` kernels on Sapphire Rapids, where its
    /// AVX-512 `SkylakeX` sgemm is several times faster (batch-32 float32 decoding 2.6× here). The answer is
    /// `SkylakeX` on a CPU with AVX-512 (F, CD, BW, DQ, VL, saved by the OS), `Haswell` on one with AVX2 and
    /// FMA, when OpenBLAS's core is not already one of those (or `Cooperlake`, `SapphireRapids`, `Zen`); nil
    /// when `OPENBLAS_CORETYPE` is set (the user's choice stands) or elsewhere. OpenBLAS reads the variable only
    /// when it loads: `seq2seq` and `seq2seq-server` restart themselves once with it (`restartWithSuggestedOpenBLASCore`);
    /// an application sets it in its environment.
    public static var suggestedOpenBLASCore: String? {
        guard getenv("OPENBLAS_CORETYPE") == nil else { return nil }
        let core = BLAS.coreName.lowercased()
        let wide = ["skylakex", "cooperlake", "sapphirerapids"]
        if Kernels.cpuHasAVX512 { return wide.contains(core) ? nil : "SkylakeX" }
        if Kernels.supportedISA != .scalar { return (wide + ["haswell", "zen"]).contains(core) ? nil : "Haswell" }
        return nil
    }

    /// For an executable, first thing in `main`: when `suggestedOpenBLASCore` names a core, sets
    /// `OPENBLAS_CORETYPE` to it and replaces the process with a fresh run of the same executable and
    /// arguments (Linux, `/proc/self/exe`), so OpenBLAS loads with those kernels; otherwise, or if that fails,
    /// returns. Runs at most once: the new process finds the variable set.
    public static func restartWithSuggestedOpenBLASCore() {
        #if os(Linux)
        guard let core = suggestedOpenBLASCore else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        unsetenv("OPENBLAS_CORETYPE")  // exec failed: run on as loaded
        #endif
    }

    /// Applies the default once: OpenBLAS single-threaded, the pool as wide as the environment says.
    static func configure() {
        _ = defaultConfiguration
    }

    private static let defaultConfiguration: Bool = {
        let cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        var n = min(max(cores, 1), 8)
        if let env = getenv("OPENBLAS_NUM_THREADS"), let v = Int(String(cString: env)), v >= 1 { n = v }
        BLAS.threadCount = 1
        WorkerPool.shared.setWidth(n)
        return true
    }()
}

// Empty arrays may have no base address; BLAS is never called with them (every
// size check above returns first), but the views need some pointer.
nonisolated(unsafe) private let dummyStorage = UnsafeMutablePointer<Float>.allocate(capacity: 1)
private var dummy: UnsafePointer<Float> { UnsafePointer(dummyStorage) }
private var mutableDummy: UnsafeMutablePointer<Float> { dummyStorage }
