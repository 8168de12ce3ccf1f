import Foundation
import Logging
@testable import Seq2SeqServer
import ServiceLifecycle
import Synchronization
import Testing

/// The service that hands the heap's free pages back to the system (`--trim-interval`).
@Suite("Memory trimming")
struct MemoryTrimTests {
    @Test("glibc's malloc_trim is found where the C library is glibc, and a trim runs")
    func available() {
        #if canImport(Glibc)
        #expect(MemoryTrimService.isAvailable)
        #endif
        _ = MemoryTrimService.trim()
    }

    /// The service and its sleeps run on a thread of their own: in a plain `swift test` the engine suites'
    /// synchronous sweeps hold the cooperative pool's threads for a minute at a time, and a sleep resumed
    /// there would wait for them (the server's own engine work runs on its engine threads, never there).
    @Test("Trims on its interval (never with 0) and returns promptly at graceful shutdown", arguments: [0.0, 0.02])
    func interval(seconds: Double) async throws {
        let trims = Atomic<Int>(0)
        var service = MemoryTrimService(interval: seconds)
        service.trimNow = { trims.add(1, ordering: .relaxed) }
        let group = ServiceGroup(configuration: .init(services: [.init(service: service)], logger: Logger(label: "test")))
        let executor = ThreadExecutor(name: "memory-trim-test")
        defer { executor.stop() }
        // Waits for three trims (at most 5 s: a sanitized build on a busy machine may start the service late),
        // or 0.3 s without trimming; then times the graceful shutdown alone.
        let (waited, shutdown) = try await withTaskExecutorPreference(executor) {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                let start = ContinuousClock.now
                if seconds == 0 {
                    try await Task.sleep(for: .milliseconds(300))
                } else {
                    while trims.load(ordering: .relaxed) < 3 && ContinuousClock.now - start < .seconds(5) {
                        try await Task.sleep(for: .milliseconds(10))
                    }
                }
                let waited = ContinuousClock.now - start
                let stopping = ContinuousClock.now
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return (waited, ContinuousClock.now - stopping)
            }
        }
        #expect(shutdown < .seconds(2), "graceful shutdown took \(shutdown)")
        let n = trims.load(ordering: .relaxed)
        if seconds == 0 {
            #expect(n == 0)
        } else {
            #expect(n >= 3, "\(n) trims in \(waited) at 0.02 s intervals")
        }
    }
}
