import CAllocationCounter
import Foundation
@testable import Seq2Seq
import Testing

/// "No allocation per decode step in any mode" (issue 12): after a warm-up, a decode of 40 steps allocates
/// exactly as often as one of 10 steps (the allocations left are per call: options, results), for each compute
/// type, with and without batch invariance, greedy and beam.
///
/// Counted: every malloc/calloc/realloc/posix_memalign/aligned_alloc/memalign of the decoding thread
/// (`CAllocationCounter` interposes them in the test executable; per thread, so tests running in parallel do not
/// count). The worker pool's threads are not counted: they run product parts (C kernels and single-threaded
/// OpenBLAS calls), rows of a step's cell updates and attention, and, with two threads, one direction of a
/// bidirectional encoder layer (once per batch, not per step), each handed over as a C function pointer and a
/// raw context (`WorkerPool.run`).
/// Skipped under AddressSanitizer and ThreadSanitizer, which interpose the same functions themselves (the
/// counter is compiled out there), and on platforms other than Linux/glibc.
@Suite("Allocations per decode step", .serialized,
       .enabled(if: s2s_allocation_counting_available() == 1, "allocation counting needs glibc and no sanitizer (ASan/TSan interpose malloc)"))
struct AllocationTests {
    struct Mode: Sendable, CustomStringConvertible {
        let type: ComputeType
        let invariant: Bool
        let beam: Int
        var description: String { "\(type.rawValue)\(invariant ? " batch-invariant" : "") \(beam == 1 ? "greedy" : "beam \(beam)")" }
    }

    static let modes: [Mode] = [ComputeType.float32, .int8, .float16].flatMap { type in
        [false, true].flatMap { invariant in [1, 4].map { Mode(type: type, invariant: invariant, beam: $0) } }
    }

    /// Allocations on this thread while `body` runs.
    static func allocations(_ body: () throws -> Void) rethrows -> Int {
        let before = s2s_counted_allocations()
        s2s_count_allocations(1)
        defer { s2s_count_allocations(0) }
        try body()
        return s2s_counted_allocations() - before
    }

    @Test("The counter sees Swift and C allocations on this thread")
    func counterWorks() {
        var sink = 0
        let n = Self.allocations {
            for i in 0..<10 {
                let a = [Int](repeating: i, count: 100 + i)  // one malloc each
                sink &+= a[i]
            }
            let p = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 64)  // posix_memalign or aligned_alloc
            p.deallocate()
        }
        #expect(n >= 11, "counted \(n) allocations, expected at least 11")
        #expect(sink == 45)
    }

    @Test("A 40-step decode allocates as often as a 10-step one", arguments: modes)
    func constantPerCall(_ mode: Mode) throws {
        let config = StoredQuantizationTests.randomConfig(tied: false)
        let dir = try makeRandomModel(config, seed: 75)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Every family in the reduced types (int8's output product re-scored too).
        let model = try Seq2SeqModel(directory: dir, computeType: mode.type, families: mode.type == .float32 ? nil : Set(WeightFamily.allCases))
        let translator = Translator(model: model, maxBatchSize: 4, batchInvariant: mode.invariant)
        let sources = [[4, 5, 6, 7, 8], [9], [10, 11, 12]]
        // min = max length: every sentence runs exactly that many steps (eos is not allowed earlier).
        func options(_ steps: Int) -> DecodingOptions {
            DecodingOptions(beamSize: mode.beam, nBest: 1, maxLength: steps, minLength: steps)
        }
        _ = try translator.translate(sources, options: options(40))  // warm-up: the workspace for 40 steps
        _ = try translator.translate(sources, options: options(10))
        var counts: [Int: Int] = [:]
        for steps in [10, 40, 10, 40] {
            var out: [Translation] = []
            let n = try Self.allocations { out = try translator.translate(sources, options: options(steps)) }
            #expect(out.allSatisfy { $0.best.ids.count == steps }, "\(mode): decoded \(out.map { $0.best.ids.count }) steps, expected \(steps)")
            counts[steps] = min(counts[steps] ?? .max, n)
        }
        #expect(counts[10] == counts[40], "\(mode): \(counts[10]!) allocations for 10 steps, \(counts[40]!) for 40")
        print("\(mode): \(counts[10]!) allocations per call at 10 steps, \(counts[40]!) at 40")
    }

    /// The decoding session, driven as the server's engine thread drives it (a plain thread, no task): a step
    /// that neither admits nor finishes a sentence allocates nothing, with and without batch invariance, greedy
    /// and beam.
    @Test("A decoding session's steps between admission and completion allocate nothing",
          arguments: [(1, true), (4, true), (1, false), (4, false)])
    func sessionSteps(_ beam: Int, _ invariant: Bool) throws {
        let model = try Seq2SeqModel.embeddedDateModel()
        let session = try DecodingSession(model: model, maxRows: 16, maxSourceLength: 40, batchInvariant: invariant)
        let sources = try ["24/11/2026", "Tuesday, 24 November 2026", "nov 24 2026"].map { try model.sourceIDs(for: $0) }
        let options = DecodingOptions(beamSize: beam, maxLength: 12, minLength: 12)
        let run = SessionRun(session: session, sources: sources, options: options)
        run.onPlainThread()  // warm-up
        run.onPlainThread()
        #expect(run.finished == sources.count && run.failure == nil, "\(run.finished) finished, \(String(describing: run.failure))")
        // Step 0 admits and encodes the three sentences; the last step finishes them (their results).
        #expect(run.steps == 12, "beam \(beam): \(run.steps) steps")
        let between = run.counts[1..<max(1, run.steps - 1)]
        #expect(between.allSatisfy { $0 == 0 }, "beam \(beam) invariant \(invariant): allocations per step \(run.counts[0..<run.steps])")
    }
}

/// One pass of a session over a few sentences on a thread of its own (no task), counting each step's allocations.
private final class SessionRun: @unchecked Sendable {
    let session: DecodingSession
    let sources: [[Int]]
    let options: DecodingOptions
    var counts = [Int](repeating: -1, count: 64)  // step i's allocations (allocated before counting)
    var steps = 0
    var finished = 0
    var failure: (any Error)?

    init(session: DecodingSession, sources: [[Int]], options: DecodingOptions) {
        self.session = session
        self.sources = sources
        self.options = options
    }

    func onPlainThread() {
        let done = DispatchSemaphore(value: 0)
        let thread = Thread { [self] in
            defer { done.signal() }
            steps = 0
            finished = 0
            do {
                for s in sources { _ = try session.add(s, options: options) }
            } catch {
                failure = error
                return
            }
            while !session.isIdle && steps < counts.count {
                var completed: [DecodingSession.Completed] = []
                counts[steps] = AllocationTests.allocations { completed = session.step() }
                finished += completed.count
                steps += 1
            }
        }
        thread.start()
        done.wait()
    }
}
