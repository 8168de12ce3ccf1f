#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A tiny fork-join pool for splitting one matrix product across cores.
///
/// OpenBLAS's own threading costs more than it gains at the engine's sizes
/// (a 768 × 256 GEMV, or a GEMM with 5 columns): it wakes sleeping threads on
/// every call. This pool keeps its workers spinning for a while between calls
/// (`spinMicroseconds`), so a split costs about a microsecond, and OpenBLAS
/// itself runs single-threaded inside each part. When the pool is busy
/// (another translator on another thread is using it) the caller simply runs
/// every part itself.
final class WorkerPool: @unchecked Sendable {
    /// The process-wide pool.
    static let shared = WorkerPool()

    /// Parts a split uses: the pool's threads plus the caller. A split reads it once, so changing it while
    /// other threads decode only changes the splits that start afterwards.
    var width: Int { widthValue.load(ordering: .acquiring) }

    /// How long an idle worker polls for the next job before it sleeps, in microseconds (0: after 64 polls).
    /// A job that finds its worker asleep runs alone, or, when it is large (`wakeWork`), pays a wake-up on
    /// the caller's path (a system call) and runs its first parts alone, the worker arriving late; a polling
    /// worker takes its part within a microsecond, but holds its core meanwhile. The default, 100 µs, spans
    /// the serial work between the products of a decoder step; `SEQ2SEQ_POOL_SPIN_US=N` in the environment
    /// sets it at start.
    var spinMicroseconds: Int {
        get { spinNanos.load(ordering: .relaxed) / 1000 }
        set { spinNanos.store(max(0, min(newValue, 1_000_000)) * 1000, ordering: .relaxed) }
    }

    /// The smallest job (`run`'s `work`: multiply-adds for a product) that wakes a sleeping worker. Waking one
    /// costs the caller a system call, and the worker arrives tens of microseconds later, after a smaller job
    /// is done: only a polling worker shares it. `SEQ2SEQ_POOL_WAKE_WORK=N` in the environment sets it.
    let wakeWork: Int = {
        guard let v = getenv("SEQ2SEQ_POOL_WAKE_WORK"), let n = Int(String(cString: v)), n >= 0 else { return 1 << 20 }
        return n
    }()

    private let widthValue = Atomic<Int>(1)

    private let generation = Atomic<Int>(0)
    private let nextPart = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    private let sleepers = Atomic<Int>(0)
    private var jobFunction: PartFunction? = nil
    private var jobContext: UnsafeMutableRawPointer? = nil
    private let jobParts = Atomic<Int>(0)
    private var threads: [pthread_t] = []
    /// Guards the sleepers' wait and serializes `setWidth` (it starts threads and appends to `threads`): a
    /// pthread mutex, whose ordering ThreadSanitizer sees (it does not see a contended `Synchronization.Mutex`'s).
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private let spinNanos = Atomic<Int>({
        guard let v = getenv("SEQ2SEQ_POOL_SPIN_US"), let n = Int(String(cString: v)), n >= 0 else { return 100 }
        return min(n, 1_000_000)
    }() * 1000)

    /// A pool of its own (internal for the tests; the engine uses `shared`). Its threads live as long as the process.
    init() {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
    }

    /// Sets how many cores a split uses (1 = no worker threads). Safe while other threads decode: splits
    /// already running keep the width they started with.
    func setWidth(_ n: Int) {
        let n = max(1, min(n, 64))
        pthread_mutex_lock(&mutex)
        while threads.count < n - 1 { startWorker(index: threads.count) }
        widthValue.store(n, ordering: .releasing)
        pthread_mutex_unlock(&mutex)
    }

    /// A part of a job: `function(context, part)`. A C function pointer and a raw context, not a Swift
    /// closure: handing a closure to other threads would make Swift allocate its context on the heap, and the
    /// decode loop must not allocate.
    typealias PartFunction = @convention(c) (UnsafeMutableRawPointer, Int) -> Void

    /// Runs `function(context, part)` for `part` in `0 ..< parts` and returns when all are done.
    ///
    /// Parts are claimed one at a time by the caller and the workers alike, so a worker that is slow to
    /// wake (the machine is busy) costs nothing: the caller runs the unclaimed parts itself. When another
    /// thread is using the pool, the caller runs every part itself. `work` (multiply-adds, or the like) says
    /// whether the job is worth waking a sleeping worker for (`wakeWork`): a smaller one is offered only to
    /// workers still polling, and the caller runs what they do not take.
    func run(parts: Int, work: Int = .max, context: UnsafeMutableRawPointer, _ function: PartFunction) {
        if parts <= 1 || !busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
            for p in 0..<parts { function(context, p) }
            return
        }
        jobFunction = function
        jobContext = context
        jobParts.store(parts, ordering: .relaxed)
        let ticket = generation.load(ordering: .relaxed) &+ 1
        nextPart.store((ticket & (Int.max >> 16)) << 16, ordering: .relaxed)
        finished.store(0, ordering: .relaxed)
        // Sequentially consistent with the workers' `sleepers` increment and re-check, so that a worker about
        // to sleep either sees the new job or is woken. (A missed wake-up would only idle a worker: the caller
        // claims any part nobody else does.)
        generation.store(ticket, ordering: .sequentiallyConsistent)
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 && work >= wakeWork {
            pthread_mutex_lock(&mutex)
            pthread_cond_broadcast(&condition)
            pthread_mutex_unlock(&mutex)
        }
        while let p = claim(ticket: ticket, parts: parts) {
            function(context, p)
            finished.wrappingAdd(1, ordering: .releasing)
        }
        while finished.load(ordering: .acquiring) < parts {}
        busy.store(false, ordering: .releasing)
    }

    /// Runs `body(&state, part)` for `part` in `0 ..< parts` with a job state passed by pointer (no allocation).
    @inline(__always)
    func run<State>(parts: Int, work: Int = .max, state: inout State, _ function: PartFunction) {
        withUnsafeMutablePointer(to: &state) { run(parts: parts, work: work, context: UnsafeMutableRawPointer($0), function) }
    }

    /// Takes the next unclaimed part of job `ticket`, or nil when none is left (or the job is no longer current).
    /// `nextPart` holds the job's ticket in its high bits and the next part in its low 16 bits.
    @inline(__always)
    private func claim(ticket: Int, parts: Int) -> Int? {
        var v = nextPart.load(ordering: .acquiring)
        while true {
            let part = v & 0xFFFF
            guard v >> 16 == ticket & (Int.max >> 16), part < parts else { return nil }
            let (exchanged, original) = nextPart.compareExchange(expected: v, desired: v + 1, ordering: .acquiringAndReleasing)
            if exchanged { return part }
            v = original
        }
    }

    private func startWorker(index: Int) {
        let box = Unmanaged.passRetained(WorkerContext(pool: self, index: index))
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            let ctx = Unmanaged<WorkerContext>.fromOpaque(raw!).takeRetainedValue()
            ctx.pool.workerLoop(index: ctx.index)
            return nil
        }, box.toOpaque())
        precondition(rc == 0, "cannot start a worker thread (pthread_create: \(rc))")
        threads.append(thread)
    }

    private func workerLoop(index: Int) {
        var seen = generation.load(ordering: .acquiring)
        while true {
            // Poll for `spinNanos` (the clock read every 64 polls), then sleep until the next job.
            var current = generation.load(ordering: .acquiring)
            var deadline = monotonicNanoseconds() + spinNanos.load(ordering: .relaxed)
            var polls = 0
            while current == seen {
                polls &+= 1
                if polls & 63 == 0 && monotonicNanoseconds() >= deadline {
                    pthread_mutex_lock(&mutex)
                    sleepers.wrappingAdd(1, ordering: .sequentiallyConsistent)
                    current = generation.load(ordering: .sequentiallyConsistent)
                    if current == seen { pthread_cond_wait(&condition, &mutex) }
                    sleepers.wrappingSubtract(1, ordering: .sequentiallyConsistent)
                    pthread_mutex_unlock(&mutex)
                    deadline = monotonicNanoseconds() + spinNanos.load(ordering: .relaxed)
                } else {
                    Kernels.spinHint()
                }
                current = generation.load(ordering: .acquiring)
            }
            seen = current
            let parts = jobParts.load(ordering: .relaxed)
            while let p = claim(ticket: current, parts: parts) {
                jobFunction!(jobContext!, p)
                finished.wrappingAdd(1, ordering: .releasing)
            }
        }
    }
}

/// CLOCK_MONOTONIC in nanoseconds (a vDSO call, no system call).
@inline(__always)
private func monotonicNanoseconds() -> Int {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return t.tv_sec * 1_000_000_000 + t.tv_nsec
}

private final class WorkerContext {
    let pool: WorkerPool
    let index: Int
    init(pool: WorkerPool, index: Int) { self.pool = pool; self.index = index }
}
