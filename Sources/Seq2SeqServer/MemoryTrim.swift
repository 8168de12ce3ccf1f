#if canImport(Glibc)
import Glibc
#endif
import ServiceLifecycle
import Synchronization

/// glibc's `int malloc_trim(size_t pad)`, looked up once (Swift's Glibc module does not export `malloc.h`);
/// nil where the C library has none (musl, Darwin).
private let mallocTrim: (@convention(c) (Int) -> Int32)? = {
    #if canImport(Glibc)
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }  // RTLD_DEFAULT
    return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
    #else
    return nil
    #endif
}()

/// Hands the heap's free memory back to the system every `interval` seconds (glibc's `malloc_trim(0)`).
///
/// A spell of backlog (a slow moment of the machine with requests still arriving) puts many requests in
/// flight at once: their bodies, JSON, tasks and NIO buffers raise the heap's high-water mark, and glibc keeps
/// what they freed mapped for later. Without trimming, a long run's resident memory grows a step with each
/// such spell and never comes down (docs/server.md, "A lean load generator; memory handed back").
/// `malloc_trim` returns whole free pages of every arena (`madvise(MADV_DONTNEED)`); it takes each arena's
/// lock briefly, so it runs seldom. A no-op where the C library has no `malloc_trim`.
struct MemoryTrimService: Service {
    /// Seconds between trims (at least 0.01 is slept); 0 turns trimming off.
    let interval: Double
    /// What a trim does (`trim()`; tests count the calls).
    var trimNow: @Sendable () -> Void = { MemoryTrimService.trim() }

    /// Trims every `interval` until graceful shutdown (or cancellation), then returns.
    ///
    /// The loop wakes at least every 100 ms to see whether shutdown was asked for (a flag the shutdown handler
    /// sets), rather than waiting in ServiceLifecycle's `cancelWhenGracefulShutdown`, which resumes through an
    /// unstructured task on the global pool: the service then ends on its own task's executor, whatever holds
    /// the pool.
    func run() async throws {
        let stop = ShutdownFlag()
        await withGracefulShutdownHandler {
            let every = Duration.milliseconds(max(10, Int64(interval * 1000)))  // never a busy loop
            var next = ContinuousClock.now + every
            while !stop.isSet && !Task.isCancelled {
                let now = ContinuousClock.now
                if interval > 0 && now >= next {
                    trimNow()
                    next = now + every
                }
                let wait = interval > 0 ? min(next - now, .milliseconds(100)) : .milliseconds(100)
                try? await Task.sleep(for: max(wait, .milliseconds(1)))
            }
        } onGracefulShutdown: {
            stop.set()
        }
    }

    /// Whether this C library has `malloc_trim` (glibc).
    static var isAvailable: Bool { mallocTrim != nil }

    /// Returns free heap pages to the system now; true when some were returned.
    @discardableResult
    static func trim() -> Bool {
        mallocTrim?(0) == 1
    }
}

/// Set once, by the graceful-shutdown handler; read by the trimming loop.
private final class ShutdownFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}
