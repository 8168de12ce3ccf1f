#if canImport(Glibc)
import Glibc
#endif
import ServiceLifecycle

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

    func run() async throws {
        guard interval > 0 else {
            try? await gracefulShutdown()
            return
        }
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: .milliseconds(max(10, Int64(interval * 1000))))  // never a busy loop
                trimNow()
            }
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
