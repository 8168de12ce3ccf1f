#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A row-major copy of a weight's transpose `(k, m)`, made on first use and kept with the model.
///
/// OpenBLAS packs its operands on every GEMM call; with a batch of rows against the large output weight,
/// packing `W (m, k)` read as transposed costs about as much as the multiply. From a pre-transposed copy,
/// read as stored, the same GEMM is about 20% faster (B1's output shape: 1.9 ms vs 2.35 ms single-threaded).
/// The copy costs the tensor's size in memory once, so it is made only when a batch first needs it.
final class TransposedWeight: @unchecked Sendable {
    private let source: ConstMatrixView?  // (m, k); nil for a weight with no float32 view (never transposed)
    /// Guards `copy`: a pthread mutex, whose ordering ThreadSanitizer sees (it does not see a contended
    /// `Synchronization.Mutex`'s, and reported the accesses one ordered as a race in the server's metrics).
    private let lock: UnsafeMutablePointer<pthread_mutex_t>
    private var copy: UnsafeMutablePointer<Float>? = nil  // (k, m) once made

    init(_ source: ConstMatrixView?) {
        self.source = source
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_mutex_t())
        pthread_mutex_init(lock, nil)
    }

    deinit {
        copy?.deallocate()
        pthread_mutex_destroy(lock)
        lock.deallocate()
    }

    /// The transpose `(k, m)`, contiguous; computed once, thread-safe.
    var matrix: ConstMatrixView {
        guard let source else { preconditionFailure("only a float32 weight is pre-transposed") }
        let m = source.rows, k = source.cols
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        if copy == nil {
            let t = UnsafeMutablePointer<Float>.allocate(capacity: max(m * k, 1))
            let block = 64
            var i0 = 0
            while i0 < m {
                var j0 = 0
                while j0 < k {
                    for i in i0..<min(i0 + block, m) {
                        let row = source.row(i)
                        for j in j0..<min(j0 + block, k) { t[j * m + i] = row[j] }
                    }
                    j0 += block
                }
                i0 += block
            }
            copy = t
        }
        return ConstMatrixView(UnsafePointer(copy!), rows: k, cols: m)
    }
}
