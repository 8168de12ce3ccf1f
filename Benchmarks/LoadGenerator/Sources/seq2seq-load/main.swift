import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore

/// Load for `seq2seq-server`: open loop at a fixed offered rate (request i is due at start + i/rate and its
/// latency counts from then, so a slow server cannot hide latency by slowing the client: no coordinated
/// omission), or closed loop with N clients (`--clients`, each sends its next request when the last is
/// answered: saturation). Sentences are drawn from a mix of lengths. Reports throughput (requests,
/// sentences, generated tokens per second), latency percentiles, errors by class, and the server's resident
/// memory over the run (from its /metrics).
@main
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "seq2seq-load")

    @Option(help: "Server base URL.") var url = "http://127.0.0.1:8080"
    @Option(help: "Offered requests per second (open loop). Ignored with --clients.") var rate = 100.0
    @Option(help: "Closed loop with this many clients instead of a fixed rate.") var clients: Int?
    @Option(help: "Seconds of measured load.") var duration = 20.0
    @Option(help: "Seconds of load before measuring (not counted; RSS is taken after it).") var warmup = 3.0
    @Option(help: "Sentences per request.") var sentences = 1
    @Option(help: "Beam size.") var beamSize = 1
    @Option(help: "Fix every sentence's output length (min_length = max_length), tokens; 0 = natural.") var fixedLength = 0
    @Option(help: "Source ids per sentence instead of text: lengths drawn from this comma list (e.g. 8,16,32,64).") var idLengths: String?
    @Option(help: "Source vocabulary size for --id-lengths.") var sourceVocab = 8000
    @Option(help: "A file of source lines (text); default: built-in dates of many lengths.") var input: String?
    @Option(help: "Most requests in flight (open loop); more are counted as 'client_overflow'.") var maxInFlight = 4096
    @Option(help: "Per-request timeout, seconds.") var requestTimeout = 60.0
    @Flag(help: "One JSON object instead of text.") var json = false
    @Option(help: "Write one line per measured answered request to this file: seconds from the start of the measured window at which it was due, latency ms (a timeline: are slow requests spread out or bunched?).") var trace: String?

    static let dates = [
        "24.11.26", "1/2/03", "nov 24 2026", "24/11/2026", "2026 11 24", "5 mar 01", "12.3.04", "1 Jan 1999",
        "March 5th, 2001", "JUN. 27, 2022", "25 September 2018", "Tuesday, 24 November 2026",
        "the 24th of November, 2026", "Wednesday the 3rd of February 1999", "on Saturday, the 1st of January, 2000",
    ]

    func run() async throws {
        let lines: [String] = try input.map { try String(contentsOfFile: $0, encoding: .utf8).split(separator: "\n").map(String.init) } ?? Self.dates
        let lengths = idLengths.map { $0.split(separator: ",").compactMap { Int($0) } }
        var rng = SystemRandomNumberGenerator()
        // Pre-built bodies (the generator's own cost stays out of the measured loop).
        let bodies: [String] = (0..<512).map { _ in
            var items: [String] = []
            for _ in 0..<sentences {
                if let lengths {
                    let n = lengths.randomElement(using: &rng)!
                    items.append("[" + (0..<n).map { _ in String(Int.random(in: 4..<sourceVocab, using: &rng)) }.joined(separator: ",") + "]")
                } else {
                    let s = lines.randomElement(using: &rng)!
                    items.append("\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"")
                }
            }
            var b = lengths == nil ? "{\"text\": [" : "{\"source_ids\": ["
            b += items.joined(separator: ",") + "], \"beam_size\": \(beamSize)"
            if fixedLength > 0 { b += ", \"min_length\": \(fixedLength), \"max_length\": \(fixedLength)" }
            return b + "}"
        }
        var config = HTTPClient.Configuration()
        config.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(clients ?? 0, 512))
        config.timeout = .init(connect: .seconds(10), read: .seconds(Int64(requestTimeout)))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
        let stats = Stats()
        let rssStart = await rss(client)
        let start = ContinuousClock.now
        let measureFrom = start + .milliseconds(Int64(warmup * 1000))
        let end = measureFrom + .milliseconds(Int64(duration * 1000))
        var rssAfterWarmup: Int?
        let sampler = Task {
            var samples: [Int] = []
            while ContinuousClock.now < end {
                try? await Task.sleep(for: .seconds(1))
                if ContinuousClock.now >= measureFrom, let r = await rss(client) { samples.append(r) }
            }
            return samples
        }
        // A discarding group frees each request's task when it ends (a plain task group keeps every finished
        // child until it is awaited: about 3 GB after 10 minutes at 350 requests a second).
        try await withThrowingDiscardingTaskGroup { group in
            if let n = clients {
                for c in 0..<n {
                    group.addTask {
                        var i = c
                        while ContinuousClock.now < end {
                            let due = ContinuousClock.now
                            await self.send(client, body: bodies[i % bodies.count], due: due, measureFrom: measureFrom, measured: due >= measureFrom, stats: stats)
                            i += n
                        }
                    }
                }
            } else {
                let interval = 1.0 / rate
                var i = 0
                while true {
                    let due = start + .nanoseconds(Int64(Double(i) * interval * 1e9))
                    if due >= end { break }
                    if due > .now { try await Task.sleep(until: due, clock: .continuous) }
                    let body = bodies[i % bodies.count]
                    if await stats.inFlight >= maxInFlight {
                        await stats.record(error: "client_overflow", measured: due >= measureFrom)
                    } else {
                        group.addTask { await self.send(client, body: body, due: due, measureFrom: measureFrom, measured: due >= measureFrom, stats: stats) }
                    }
                    i += 1
                }
            }
        }
        let elapsed = Double((ContinuousClock.now - measureFrom).components.attoseconds) / 1e18
            + Double((ContinuousClock.now - measureFrom).components.seconds)
        let samples = await sampler.value
        rssAfterWarmup = samples.first
        let rssEnd = await rss(client)
        try await client.shutdown()
        let s = await stats.snapshot()
        let span = duration  // the measured window (requests due in it; the last answers may come after)
        _ = elapsed
        if let trace {
            let lines = s.timeline.sorted { $0.0 < $1.0 }.map { String(format: "%.4f %.3f", $0.0, $0.1 * 1000) }
            try (lines.joined(separator: "\n") + "\n").write(toFile: trace, atomically: true, encoding: .utf8)
        }
        let lat = s.latencies.sorted()
        func pct(_ p: Double) -> Double { lat.isEmpty ? .nan : lat[min(lat.count - 1, Int(Double(lat.count) * p))] * 1000 }
        let growth = rssAfterWarmup.flatMap { a in rssEnd.map { Double($0 - a) / Double(a) * 100 } }
        let mode = clients.map { "closed loop, \($0) clients" } ?? "open loop, \(rate) req/s offered"
        if json {
            let errs = s.errors.map { "\"\($0.key)\": \($0.value)" }.joined(separator: ", ")
            print("{\"mode\": \"\(mode)\", \"seconds\": \(span), \"ok\": \(s.ok), \"requests_per_s\": \(Double(s.ok) / span), \"sentences_per_s\": \(Double(s.sentences) / span), \"tokens_per_s\": \(Double(s.tokens) / span), \"p50_ms\": \(pct(0.5)), \"p90_ms\": \(pct(0.9)), \"p99_ms\": \(pct(0.99)), \"max_ms\": \(lat.last.map { $0 * 1000 } ?? .nan), \"errors\": {\(errs)}, \"rss_start\": \(rssStart ?? -1), \"rss_after_warmup\": \(rssAfterWarmup ?? -1), \"rss_end\": \(rssEnd ?? -1), \"rss_max\": \(samples.max() ?? -1), \"rss_growth_percent\": \(growth ?? .nan)}")
        } else {
            print("\(mode), \(sentences) sentence(s)/request, beam \(beamSize), \(String(format: "%.1f", span)) s measured after \(warmup) s warm-up")
            print(String(format: "throughput: %.1f req/s, %.1f sentences/s, %.0f tokens/s (%d ok)", Double(s.ok) / span,
                         Double(s.sentences) / span, Double(s.tokens) / span, s.ok))
            print(String(format: "latency ms: p50 %.1f, p90 %.1f, p99 %.1f, max %.1f", pct(0.5), pct(0.9), pct(0.99), (lat.last ?? .nan) * 1000))
            print("errors: " + (s.errors.isEmpty ? "none" : s.errors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))
            func mb(_ x: Int?) -> String { x.map { String(format: "%.1f MB", Double($0) / 1e6) } ?? "?" }
            print("server RSS: start \(mb(rssStart)), after warm-up \(mb(rssAfterWarmup)), max \(mb(samples.max())), end \(mb(rssEnd))"
                  + (growth.map { String(format: ", growth after warm-up %.2f%%", $0) } ?? ""))
        }
    }

    func send(_ client: HTTPClient, body: String, due: ContinuousClock.Instant, measureFrom: ContinuousClock.Instant, measured: Bool,
              stats: Stats) async {
        await stats.begin()
        var request = HTTPClientRequest(url: url + "/v1/translate")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        do {
            let response = try await client.execute(request, timeout: .seconds(Int64(requestTimeout)))
            let bytes = try await response.body.collect(upTo: 64 << 20)
            let latency = ContinuousClock.now - due
            if response.status.code == 200 {
                // Count sentences and generated tokens: every "ids" array of a result, + 1 for eos.
                let text = String(buffer: bytes)
                var sentences = 0, tokens = 0
                var rest = Substring(text)
                while let r = rest.range(of: "{\"ids\": [") {
                    rest = rest[r.upperBound...]
                    guard let close = rest.firstIndex(of: "]") else { break }
                    let inner = rest[..<close]
                    tokens += (inner.isEmpty ? 0 : inner.split(separator: ",").count) + 1
                    sentences += 1
                }
                await stats.record(ok: latency, due: due - measureFrom, sentences: sentences, tokens: tokens, measured: measured)
            } else {
                await stats.record(error: "http_\(response.status.code)", measured: measured)
            }
        } catch {
            await stats.record(error: "\(type(of: error))".lowercased(), measured: measured)
        }
        await stats.end()
    }

    func rss(_ client: HTTPClient) async -> Int? {
        guard let r = try? await client.execute(HTTPClientRequest(url: url + "/metrics"), timeout: .seconds(5)),
              let b = try? await r.body.collect(upTo: 16 << 20) else { return nil }
        for line in String(buffer: b).split(separator: "\n") where line.hasPrefix("process_resident_memory_bytes") {
            if let v = line.split(separator: " ").last, let d = Double(v) { return Int(d) }
        }
        return nil
    }
}

actor Stats {
    var ok = 0, sentences = 0, tokens = 0
    /// (seconds from the measured window's start at which the request was due, latency seconds).
    var timeline: [(Double, Double)] = []
    var errors: [String: Int] = [:]
    var inFlight = 0

    func begin() { inFlight += 1 }
    func end() { inFlight -= 1 }

    func record(ok latency: Duration, due: Duration, sentences n: Int, tokens t: Int, measured: Bool) {
        guard measured else { return }
        ok += 1
        sentences += n
        tokens += t
        func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
        timeline.append((seconds(due), seconds(latency)))
    }

    func record(error: String, measured: Bool) {
        guard measured else { return }
        errors[error, default: 0] += 1
    }

    func snapshot() -> (ok: Int, sentences: Int, tokens: Int, latencies: [Double], timeline: [(Double, Double)], errors: [String: Int]) {
        (ok, sentences, tokens, timeline.map(\.1), timeline, errors)
    }
}
