import Foundation
import Logging
@testable import Seq2SeqServer
import Synchronization
import Testing

/// The metrics' counts through their cached handles, and the log handler's lines.
@Suite("Metrics and logs")
struct ObservabilityTests {
    /// The value of the exposition line of `name` whose labels include every one of `labels`.
    static func value(_ text: String, _ name: String, _ labels: [String]) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + "{") || line.hasPrefix(name + " ") {
            guard labels.allSatisfy({ line.contains($0) }), let v = line.split(separator: " ").last else { continue }
            return Double(v)
        }
        return nil
    }

    @Test("Counts by route and outcome, and per model, are kept apart and add up across calls")
    func counts() {
        let m = ServerMetrics()
        m.request(route: "translate", outcome: "ok", duration: .milliseconds(3))
        m.request(route: "translate", outcome: "ok", duration: .milliseconds(4))
        m.request(route: "translate", outcome: "invalid", duration: .milliseconds(1))
        m.request(route: "score", outcome: "ok", duration: .milliseconds(2))
        m.generated(11, model: "dates")
        m.generated(5, model: "dates")
        m.generated(7, model: "other")
        for rows in [1, 2, 3] { m.step(rows: rows, duration: .microseconds(40 * rows), model: "dates") }
        m.engineBusy(.milliseconds(2), model: "dates")
        m.admission(sentences: 1, model: "dates")
        m.admission(sentences: 5, model: "dates")
        m.queueSize(4, model: "dates")
        m.queueSize(2, model: "dates")
        let text = m.exposition()
        let total = "seq2seq_requests_total"
        #expect(Self.value(text, total, ["route=\"translate\"", "outcome=\"ok\""]) == 2)
        #expect(Self.value(text, total, ["route=\"translate\"", "outcome=\"invalid\""]) == 1)
        #expect(Self.value(text, total, ["route=\"score\"", "outcome=\"ok\""]) == 1)
        #expect(Self.value(text, "seq2seq_request_duration_seconds_count", ["route=\"translate\""]) == 3)
        #expect(Self.value(text, "seq2seq_generated_tokens_total", ["model=\"dates\""]) == 16)
        #expect(Self.value(text, "seq2seq_generated_tokens_total", ["model=\"other\""]) == 7)
        #expect(Self.value(text, "seq2seq_step_rows_count", ["model=\"dates\""]) == 3)
        #expect(Self.value(text, "seq2seq_step_rows_sum", ["model=\"dates\""]) == 6)
        #expect(Self.value(text, "seq2seq_step_duration_seconds_count", ["model=\"dates\""]) == 3)
        #expect(Self.value(text, "seq2seq_admission_sentences_count", ["model=\"dates\""]) == 2)
        #expect(Self.value(text, "seq2seq_admission_sentences_sum", ["model=\"dates\""]) == 6)
        #expect(Self.value(text, "seq2seq_admission_sentences_bucket", ["model=\"dates\"", "le=\"4.0\""]) == 1)
        // 40, 80 and 120 µs: two steps at or under the 100 µs bucket's bound, all three under 250 µs.
        #expect(Self.value(text, "seq2seq_step_duration_seconds_bucket", ["model=\"dates\"", "le=\"0.0001\""]) == 2)
        #expect(Self.value(text, "seq2seq_step_duration_seconds_bucket", ["model=\"dates\"", "le=\"0.00025\""]) == 3)
        let busy = Self.value(text, "seq2seq_engine_busy_seconds_total", ["model=\"dates\""]) ?? 0
        #expect(abs(busy - 0.00224) < 1e-12, "busy \(busy)")
        #expect(Self.value(text, "seq2seq_queue_size", ["model=\"dates\""]) == 2)
    }

    @Test("Lines at or above the level are written with the metadata sorted; lines below are not")
    func logLines() {
        let lines = Mutex<[String]>([])
        var logger = Logger(label: "test") { ServerLogHandler(label: $0) { line in lines.withLock { $0.append(line) } } }
        logger.logLevel = .info
        logger[metadataKey: "b"] = "2"
        logger[metadataKey: "a"] = "1"
        logger.debug("hidden")
        logger.info("shown", metadata: ["c": "3"])
        let written = lines.withLock { $0 }
        #expect(written.count == 1)
        let line = written.first ?? ""
        #expect(line.hasSuffix(" info test: a=1 b=2 c=3 [Seq2SeqServerTests] shown\n"), "\(line)")
        #expect(line.first?.isNumber == true, "a timestamp first: \(line)")
    }
}
