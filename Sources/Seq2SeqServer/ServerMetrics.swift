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
/// | `seq2seq_generated_tokens_total{model}` | counter (tokens/s is its `rate()`), eos included |
/// | `process_resident_memory_bytes` | gauge, read from `/proc/self/statm` at each scrape |
public final class ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory

    public init() {
        registry = PrometheusCollectorRegistry()
        var f = PrometheusMetricsFactory(registry: registry)
        f.defaultDurationHistogramBuckets = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5),
            .seconds(5), .seconds(10), .seconds(30),
        ]
        f.defaultValueHistogramBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
        factory = f
    }

    public func request(route: String, outcome: String, duration: Duration) {
        Counter(label: "seq2seq_requests_total", dimensions: [("route", route), ("outcome", outcome)], factory: factory).increment()
        Timer(label: "seq2seq_request_duration_seconds", dimensions: [("route", route)], factory: factory).recordNanoseconds(duration.nanoseconds)
    }

    func queueWait(_ d: Duration, model: String) {
        Timer(label: "seq2seq_queue_duration_seconds", dimensions: [("model", model)], factory: factory).recordNanoseconds(d.nanoseconds)
    }

    func queueSize(_ n: Int, model: String) {
        Gauge(label: "seq2seq_queue_size", dimensions: [("model", model)], factory: factory).record(n)
    }

    func step(rows: Int, model: String) {
        Recorder(label: "seq2seq_step_rows", dimensions: [("model", model)], aggregate: true, factory: factory).record(rows)
    }

    func generated(_ tokens: Int, model: String) {
        Counter(label: "seq2seq_generated_tokens_total", dimensions: [("model", model)], factory: factory).increment(by: tokens)
    }

    /// The exposition text, with the resident memory read now.
    public func exposition() -> String {
        if let rss = residentMemoryBytes() {
            Gauge(label: "process_resident_memory_bytes", factory: factory).record(rss)
        }
        return registry.emitToString()
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
}
