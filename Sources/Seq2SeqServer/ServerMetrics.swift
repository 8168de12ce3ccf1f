import CoreMetrics
import Foundation
import Prometheus

/// The server's Prometheus metrics, through swift-metrics over a registry of the server's own (so that
/// several servers in one process, as in the tests, keep separate counts).
///
/// | metric | type |
/// |---|---|
/// | `seq2seq_requests_total{route,outcome}` | counter (outcome: ok, invalid, too_large, limit, overloaded, timeout, cancelled, shutting_down, not_found) |
/// | `seq2seq_request_duration_seconds{route}` | histogram |
/// | `seq2seq_queue_duration_seconds{model}` | histogram: from arrival to the first sentence's admission |
/// | `seq2seq_queue_size{model}` | gauge: sentences waiting for rows |
/// | `seq2seq_step_rows{model}` | histogram: live rows per decoder step |
/// | `seq2seq_admission_sentences{model}` | histogram: sentences encoded together at each admission |
/// | `seq2seq_step_duration_seconds{model}` | histogram: the engine thread's time per step (admission, decoder step, search) |
/// | `seq2seq_engine_busy_seconds_total{model}` | counter: the engine thread's time in steps and scoring (`rate()` is its utilization, 0–1) |
/// | `seq2seq_generated_tokens_total{model}` | counter (tokens/s is its `rate()`), eos included |
/// | `process_resident_memory_bytes` | gauge, read from `/proc/self/statm` at each scrape |
public final class ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    /// Handles made once per label set: making one goes through the registry (its lock, the name's
    /// validation, the dimensions' sort), which cost about 2% of the server's CPU at the date model's
    /// saturation when done for every request and step.
    private let requestHandles = LockedCache<RequestKey, RequestHandles>()
    private let modelHandles = LockedCache<String, ModelHandles>()

    private struct RequestKey: Hashable { let route: String, outcome: String }
    private struct RequestHandles: Sendable { let count: CoreMetrics.Counter, duration: CoreMetrics.Timer }
    private struct ModelHandles: Sendable {
        let queueWait: CoreMetrics.Timer, queueSize: CoreMetrics.Gauge, stepRows: CoreMetrics.Recorder
        let admission: CoreMetrics.Recorder
        let stepDuration: CoreMetrics.Timer, busy: CoreMetrics.FloatingPointCounter
        let generated: CoreMetrics.Counter
    }

    public init() {
        registry = PrometheusCollectorRegistry()
        var f = PrometheusMetricsFactory(registry: registry)
        f.defaultDurationHistogramBuckets = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5),
            .seconds(5), .seconds(10), .seconds(30),
        ]
        f.defaultValueHistogramBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
        // A step takes tens of microseconds on a small model, tens of milliseconds on a large batch of a large one.
        f.durationHistogramBuckets = [
            "seq2seq_step_duration_seconds": [
                .microseconds(25), .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
                .milliseconds(1), .milliseconds(2.5), .milliseconds(5), .milliseconds(10), .milliseconds(25),
                .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1),
            ],
        ]
        factory = f
    }

    /// Counts one answered request and records its duration.
    public func request(route: String, outcome: String, duration: Duration) {
        let key = RequestKey(route: route, outcome: outcome)
        let h = requestHandles.value(for: key) {
            RequestHandles(
                count: Counter(label: "seq2seq_requests_total", dimensions: [("route", route), ("outcome", outcome)], factory: factory),
                duration: Timer(label: "seq2seq_request_duration_seconds", dimensions: [("route", route)], factory: factory))
        }
        h.count.increment()
        h.duration.recordNanoseconds(duration.nanoseconds)
    }

    private func handles(_ model: String) -> ModelHandles {
        modelHandles.value(for: model) {
            let d = [("model", model)]
            return ModelHandles(
                queueWait: Timer(label: "seq2seq_queue_duration_seconds", dimensions: d, factory: factory),
                queueSize: Gauge(label: "seq2seq_queue_size", dimensions: d, factory: factory),
                stepRows: Recorder(label: "seq2seq_step_rows", dimensions: d, aggregate: true, factory: factory),
                admission: Recorder(label: "seq2seq_admission_sentences", dimensions: d, aggregate: true, factory: factory),
                stepDuration: Timer(label: "seq2seq_step_duration_seconds", dimensions: d, factory: factory),
                busy: FloatingPointCounter(label: "seq2seq_engine_busy_seconds_total", dimensions: d, factory: factory),
                generated: Counter(label: "seq2seq_generated_tokens_total", dimensions: d, factory: factory))
        }
    }

    func queueWait(_ d: Duration, model: String) { handles(model).queueWait.recordNanoseconds(d.nanoseconds) }

    func queueSize(_ n: Int, model: String) { handles(model).queueSize.record(n) }

    /// `sentences` encoded together when they joined the decode.
    func admission(sentences: Int, model: String) { handles(model).admission.record(sentences) }

    /// One decoder step of `rows` live rows that took the engine thread `duration`.
    func step(rows: Int, duration: Duration, model: String) {
        let h = handles(model)
        h.stepRows.record(rows)
        h.stepDuration.recordNanoseconds(duration.nanoseconds)
        h.busy.increment(by: duration.seconds)
    }

    /// Engine-thread time outside steps (a scoring request).
    func engineBusy(_ duration: Duration, model: String) { handles(model).busy.increment(by: duration.seconds) }

    func generated(_ tokens: Int, model: String) { handles(model).generated.increment(by: tokens) }

    /// The exposition text, with the resident memory read now.
    public func exposition() -> String {
        if let rss = residentMemoryBytes() {
            Gauge(label: "process_resident_memory_bytes", factory: factory).record(rss)
        }
        return registry.emitToString()
    }
}

/// Values made once per key, under an `NSLock` (a pthread mutex, whose ordering ThreadSanitizer sees; it
/// reported the accesses a contended `Synchronization.Mutex` ordered here as a race, in a CI run).
private final class LockedCache<Key: Hashable, Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Key: Value] = [:]

    /// The value for `key`, made by `make` (under the lock) the first time.
    func value(for key: Key, orMake make: () -> Value) -> Value {
        lock.lock()
        defer { lock.unlock() }
        if let v = values[key] { return v }
        let v = make()
        values[key] = v
        return v
    }
}

/// Resident set size from `/proc/self/statm` (Linux), bytes.
public func residentMemoryBytes() -> Int? {
    guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
    let fields = s.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

extension Duration {
    var nanoseconds: Int64 {
        let (s, a) = components
        return s * 1_000_000_000 + a / 1_000_000_000
    }

    /// Seconds, as a floating-point number.
    var seconds: Double { Double(nanoseconds) * 1e-9 }
}
