import Foundation
import Seq2Seq
@testable import Seq2SeqServer
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The HTTP server, started in this process on loopback (and once as a child process for signals).
/// Every request loop here is bounded in count, and every client has a socket timeout.
@Suite("Server", .serialized)
struct ServerTests {
    static let dateTexts = ["Tuesday, 24 November 2026", "24/11/2026", "nov 24 2026", "24.11.26", "2026 11 24",
                            "the 24th of November, 2026", "1 Jan 1999", "12.3.04", "March 5th, 2001", "5 mar 01"]

    static func body(_ texts: [String], extra: String = "") -> String {
        "{\"text\": [" + texts.map { JSON.string($0) }.joined(separator: ",") + "]\(extra)}"
    }

    @Test("Health, readiness, models and metrics routes")
    func routes() async throws {
        let server = try await TestServer.start(names: ["dates", "second"])
        defer { Task { try? await server.stop() } }
        #expect(try await server.request("GET", "/health/live").status == 200)
        let ready = try await server.request("GET", "/health/ready")
        #expect(ready.status == 200 && ready.body.contains("ready"))
        let models = try await server.request("GET", "/v1/models")
        #expect(models.status == 200)
        let list = models.json?["models"]?.array ?? []
        #expect(list.compactMap { $0["name"]?.string } == ["dates", "second"])
        #expect(list.first?["default"] == .bool(true))
        #expect(list.first?["parameters"] == .int(372_080))
        _ = try await server.request("POST", "/v1/translate", Self.body(["24/11/2026"]))
        let metrics = try await server.request("GET", "/metrics")
        #expect(metrics.status == 200)
        for name in ["seq2seq_requests_total", "seq2seq_request_duration_seconds", "seq2seq_queue_duration_seconds",
                     "seq2seq_queue_size", "seq2seq_step_rows", "seq2seq_admission_sentences", "seq2seq_step_duration_seconds", "seq2seq_engine_busy_seconds_total",
                     "seq2seq_generated_tokens_total", "process_resident_memory_bytes"] {
            #expect(metrics.body.contains(name), "metrics lack \(name)")
        }
        #expect(try await server.request("GET", "/nope").status == 404)
        #expect(try await server.request("GET", "/translator/health").status == 200)
        #expect(try await server.request("GET", "/translator/models").status == 200)
        try await server.stop()
    }

    @Test("POST /v1/translate: text and ids, input order, the CLI's fields, n-best, attention, a named model")
    func translate() async throws {
        let server = try await TestServer.start(names: ["dates", "other"])
        let r = try await server.request("POST", "/v1/translate", Self.body(Self.dateTexts, extra: ", \"beam_size\": 1"))
        #expect(r.status == 200, "\(r.body)")
        let results = r.json?["results"]?.array ?? []
        #expect(results.count == Self.dateTexts.count)
        #expect(results.prefix(6).allSatisfy { $0["text"]?.string == "2026-11-24" })
        let (model, _) = TestServer.dates
        let translator = Translator(model: model)
        for (i, t) in Self.dateTexts.enumerated() {
            let alone = try translator.translate([try model.sourceIDs(for: t)], options: DecodingOptions(beamSize: 1))[0]
            #expect(results[i]["ids"]?.array?.compactMap(\.int) == alone.best.ids, "sentence \(i) out of order or different")
            #expect(abs((results[i]["log_prob"]?.number ?? 0) - alone.best.logProb) < 1e-4)
            #expect(results[i]["tokens"]?.array != nil && results[i]["score"]?.number != nil)
        }
        let ids = try model.sourceIDs(for: "24/11/2026")
        let r2 = try await server.request("POST", "/v1/translate",
                                    "{\"source_ids\": [\(JSON.ints(ids))], \"beam_size\": 4, \"n_best\": 3, \"attention\": true, \"model\": \"other\", \"length_penalty\": 0.5, \"max_length\": 20, \"min_length\": 2}")
        #expect(r2.status == 200, "\(r2.body)")
        #expect(r2.json?["model"]?.string == "other")
        let first = r2.json?["results"]?.array?.first
        #expect(first?["n_best"]?.array?.count == 3)
        #expect(first?["attention"]?.array?.count == (first?["ids"]?.array?.count ?? -1) + 1)
        let offline = try translator.translate([ids], options: DecodingOptions(beamSize: 4, nBest: 3, lengthPenalty: 0.5, maxLength: 20, minLength: 2))[0]
        #expect(first?["n_best"]?.array?.map { $0["ids"]?.array?.compactMap(\.int) ?? [] } == offline.hypotheses.map(\.ids))
        try await server.stop()
    }

    @Test("POST /v1/score and POST /translator/translate (OpenNMT-py's shape)")
    func scoreAndOpenNMT() async throws {
        let server = try await TestServer.start()
        let (model, _) = TestServer.dates
        let r = try await server.request("POST", "/v1/score", "{\"text\": [\"24/11/2026\", \"1 Jan 1999\"], \"target\": [\"2026-11-24\", \"1999-01-01\"]}")
        #expect(r.status == 200, "\(r.body)")
        let scored = r.json?["results"]?.array ?? []
        let offline = try Translator(model: model).score(sources: [try model.sourceIDs(for: "24/11/2026"), try model.sourceIDs(for: "1 Jan 1999")],
                                                         targets: [try model.targetIDs(for: "2026-11-24"), try model.targetIDs(for: "1999-01-01")])
        #expect(scored.count == 2)
        for (a, b) in zip(scored, offline) { #expect(abs((a["log_prob"]?.number ?? 0) - b.logProb) < 1e-4) }
        #expect(try await server.request("POST", "/v1/score", "{\"text\": [\"x\"], \"target_ids\": [[1], [2]]}").status == 400)

        let o = try await server.request("POST", "/translator/translate", "[{\"src\": \"24/11/2026\", \"id\": 100}, {\"src\": \"nov 24 2026\", \"id\": 100}]")
        #expect(o.status == 200, "\(o.body)")
        let lists = o.json?.array ?? []
        #expect(lists.count == 1 && lists[0].array?.count == 2)
        let one = lists.first?.array?.first
        #expect(one?["src"]?.string == "24/11/2026" && one?["tgt"]?.string == "2026-11-24")
        #expect(one?["n_best"]?.int == 1 && one?["pred_score"]?.number != nil)
        let bad = try await server.request("POST", "/translator/translate", "{\"src\": 1}")
        #expect(bad.status == 400 && bad.json?["status"]?.string == "error" && bad.json?["error"] != nil)
        try await server.stop()
    }

    @Test("Every error status, with a message that names the field or the limit")
    func errors() async throws {
        let server = try await TestServer.start { c in
            c.maxBodyBytes = 4096
            c.maxSentences = 4
            c.maxSourceTokens = 40
            c.maxBeamSize = 8
        }
        func check(_ body: String, _ status: Int, _ word: String, path: String = "/v1/translate") async throws {
            let r = try await server.request("POST", path, body)
            #expect(r.status == status, "\(body.prefix(80)): \(r.status) \(r.body)")
            #expect(r.body.contains(word), "\(body.prefix(80)): \(r.body) lacks \(word)")
        }
        try await check("{\"text\": [\"a\"", 400, "JSON")
        try await check("[1, 2]", 400, "object")
        try await check("{\"txt\": [\"a\"]}", 400, "txt")
        try await check("{\"text\": [1]}", 400, "text")
        try await check("{\"text\": [\"1.1.01\"], \"beam_size\": \"5\"}", 400, "beam_size")
        try await check("{\"text\": [\"1.1.01\"], \"beam_size\": 0}", 400, "beam_size")
        try await check("{\"text\": [\"1.1.01\"], \"beam_size\": 2, \"n_best\": 3}", 400, "n_best")
        try await check("{\"text\": [\"1.1.01\"], \"attention\": 1}", 400, "attention")
        try await check("{\"source_ids\": [[5, 99999]]}", 400, "99999")
        try await check("{\"source_ids\": [[5, -1]]}", 400, "source_ids")
        try await check("{\"source_ids\": [[]]}", 400, "empty")
        try await check("{\"source_ids\": [[1.5]]}", 400, "source_ids")
        try await check("{\"text\": []}", 400, "text")
        try await check("{\"text\": [\"1.1.01\"], \"model\": \"nope\"}", 404, "nope")
        try await check("{\"text\": [\"a\", \"b\", \"c\", \"d\", \"e\"]}", 422, "limit of 4")
        try await check("{\"text\": [\"" + String(repeating: "1", count: 41) + "\"]}", 422, "limit of 40")
        try await check("{\"text\": [\"1.1.01\"], \"beam_size\": 1000000}", 422, "beam_size")
        try await check("{\"text\": [\"1.1.01\"], \"max_length\": 100000000}", 422, "max_length")
        try await check("{\"text\": [\"" + String(repeating: "1", count: 5000) + "\"]}", 413, "limit of 4096")
        try await check("{\"text\": [\"1.1.01\"], \"target\": []}", 400, "target", path: "/v1/translate")
        let get = try await server.request("GET", "/v1/translate").status
        #expect(get == 405 || get == 404)
        // The server still answers good requests.
        #expect(try await server.request("POST", "/v1/translate", Self.body(["24/11/2026"])).json?["results"]?.array?.first?["text"]?.string == "2026-11-24")
        try await server.stop()
    }

    @Test("A full queue answers 503 with Retry-After; a deadline answers 504 and frees the rows")
    func backpressure() async throws {
        let server = try await TestServer.start { c in
            c.maxBatchRows = 1
            c.maxQueue = 2
            c.maxGeneratedLength = 4000
        }
        // Long decodes (min = max length) keep the one row busy while more requests arrive.
        let steps = Load.count(3000, sanitized: 600)
        let slow = "{\"text\": [\"24/11/2026\"], \"beam_size\": 1, \"min_length\": \(steps), \"max_length\": \(steps)}"
        let port = server.port
        let results = await concurrently(8) { _ in try HTTPResult.send(port: port, method: "POST", path: "/v1/translate", body: Array(slow.utf8)) }
        let statuses = results.compactMap { try? $0.get().status }
        #expect(statuses.count == 8)
        #expect(statuses.contains(503), "statuses \(statuses)")
        #expect(statuses.contains(200), "statuses \(statuses)")
        for case .success(let r) in results where r.status == 503 {
            #expect(r.headers["retry-after"] == "1" && r.body.contains("queue"))
        }
        try await server.stop()

        let timed = try await TestServer.start { c in
            c.timeout = Load.sanitized ? 3 : 1  // a short request must fit in it even on a loaded machine
            c.maxGeneratedLength = 16000
        }
        let r = try await timed.request("POST", "/v1/translate", "{\"text\": [\"24/11/2026\"], \"beam_size\": 8, \"min_length\": 16000, \"max_length\": 16000}")
        #expect(r.status == 504 && r.body.contains("deadline"), "\(r.status) \(r.body)")
        // The rows are free again: a short request is answered at once.
        let ok = try await timed.request("POST", "/v1/translate", Self.body(["24/11/2026"]))
        #expect(ok.status == 200)
        try await timed.stop()
    }

    @Test("A client that disconnects mid-decode is dropped from the session; the server goes on")
    func disconnect() async throws {
        let server = try await TestServer.start { c in c.maxGeneratedLength = 16000 }
        let body = Array("{\"text\": [\"24/11/2026\", \"1 Jan 1999\"], \"beam_size\": 8, \"min_length\": 16000, \"max_length\": 16000}".utf8)
        for _ in 0..<3 {
            let fd = try HTTPResult.connect(port: server.port, timeout: 5)
            try HTTPResult.sendAll(fd, HTTPResult.head(method: "POST", path: "/v1/translate", bodyCount: body.count) + body)
            try await Task.sleep(for: .milliseconds(200))
            close(fd)
        }
        // The cancellations are counted and the session empties (bounded wait).
        #expect(try await server.cancelledAndEmptied(), "the disconnected requests were not cancelled")
        let start = ContinuousClock.now
        let ok = try await server.request("POST", "/v1/translate", Self.body(["24/11/2026"], extra: ", \"beam_size\": 1"))
        #expect(ok.status == 200)
        #expect(ContinuousClock.now - start < .seconds(2), "a short request waited behind abandoned work")
        try await server.stop()
    }

    @Test("Batch invariance under load: a sentence alone and among 64 concurrent requests gives the same bits as Translator(batchInvariant: true)")
    func invarianceUnderLoad() async throws {
        let server = try await TestServer.start()
        let port = server.port
        let texts = Self.dateTexts
        let (model, text) = TestServer.dates
        @Sendable func beam(_ i: Int) -> Int { (i % texts.count) % 3 == 0 ? 4 : 1 }
        @Sendable func ask(_ i: Int) throws -> JSONValue {
            let extra = ", \"beam_size\": \(beam(i)), \"n_best\": \(beam(i) > 1 ? 2 : 1), \"attention\": true, \"return_scores\": true"
            let r = try HTTPResult.send(port: port, method: "POST", path: "/v1/translate",
                                        body: Array(Self.body([texts[i % texts.count]], extra: extra).utf8))
            guard r.status == 200, let v = r.json?["results"]?.array?.first else { throw TestError("status \(r.status): \(r.body)") }
            return v
        }
        // Every number is written as the shortest decimal that reads back to the same bits: equal JSON is equal bits.
        let translator = Translator(model: model, batchInvariant: true)
        let expected = try texts.indices.map { i -> JSONValue in
            let options = DecodingOptions(beamSize: beam(i), nBest: beam(i) > 1 ? 2 : 1, returnAttention: true)
            let t = try translator.translate(inputs: [TranslationInput(source: try model.sourceIDs(for: texts[i]), index: 0)], options: options)[0]
            return try JSONValue.parse(JSON.translation(t, nBest: options.nBest, text: text, attention: true, scores: true))
        }
        for i in 0..<texts.count * 3 {
            #expect(try ask(i) == expected[i % texts.count], "sentence \(i) alone")
        }
        let loaded = await concurrently(Load.count(64, sanitized: 16)) { i in try ask(i) }
        for (i, r) in loaded.enumerated() {
            guard case .success(let v) = r else { Issue.record("request \(i) failed: \(r)"); continue }
            #expect(v == expected[i % texts.count], "sentence \(i) among 64: \(v["text"]?.string ?? "?")")
        }
        try await server.stop()
    }

    @Test("Hostile requests: garbage, truncated bodies, vanishing clients; good requests among them are answered")
    func hostile() async throws {
        let server = try await TestServer.start { c in c.maxBodyBytes = 64 << 10 }
        let port = server.port
        let junk: [[UInt8]] = [
            Array("GARBAGE\r\n\r\n".utf8),
            Array("POST /v1/translate HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"te".utf8),
            Array("POST /v1/translate HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n".utf8),
            Array("POST /v1/translate HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".utf8),
            [0, 1, 2, 255, 254, 13, 10, 13, 10],
            Array("POST /v1/translate HTTP/1.1\r\nContent-Length: 12\r\n\r\n{\"text\":\"\u{0}\"}".utf8),
        ]
        let results = await concurrently(Load.count(48, sanitized: 24)) { i -> Int in
            if i % 4 == 0 {
                let r = try HTTPResult.send(port: port, method: "POST", path: "/v1/translate", body: Array(Self.body(["24/11/2026"]).utf8))
                guard r.json?["results"]?.array?.first?["text"]?.string == "2026-11-24" else { throw TestError("good request: \(r.status) \(r.body)") }
                return r.status
            }
            let fd = try HTTPResult.connect(port: port, timeout: 3)
            defer { close(fd) }
            try? HTTPResult.sendAll(fd, junk[i % junk.count])
            if i % 3 == 0 { return -1 }  // vanish
            return (try? HTTPResult.read(fd))?.status ?? -1
        }
        for (i, r) in results.enumerated() {
            switch r {
            case .success(let s): #expect(s == -1 || (400..<500).contains(s) || (i % 4 == 0 && s == 200), "request \(i): \(s)")
            case .failure(let e): Issue.record("request \(i): \(e)")
            }
        }
        #expect(try await server.request("GET", "/health/live").status == 200)
        try await server.stop()
    }

    @Test("seq2seq-server as a child process: the listening line, then SIGTERM with requests in flight drains and exits 0")
    func childProcessShutdown() async throws {
        let exe = try #require(serverPath, "seq2seq-server was not found beside the test bundle (swift build first)")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = ["--port", "0", "--max-batch", "8", "--threads", "1", "--timeout", "120", "--shutdown-grace", "120"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { p.terminate() } }
        // The one line on standard output (bounded wait: the read returns when the line or EOF comes).
        let line = try await withThrowingTaskGroup(of: String.self) { g in
            g.addTask {
                var got = Data()
                while !got.contains(0x0A) {
                    let d = out.fileHandleForReading.availableData
                    if d.isEmpty { break }
                    got.append(d)
                }
                return String(decoding: got, as: UTF8.self)
            }
            g.addTask { try await Task.sleep(for: .seconds(60)); throw TestError("no listening line in 60 s") }
            let l = try await g.next()!
            g.cancelAll()
            return l
        }
        let prefix = "listening on http://127.0.0.1:"
        #expect(line.hasPrefix(prefix), "\(line)")
        let port = Int(line.dropFirst(prefix.count).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        #expect(port > 0)
        let steps = Load.count(400, sanitized: 150)  // the sanitized child is several times slower
        let body = Array("{\"text\": [\"24/11/2026\"], \"beam_size\": 2, \"min_length\": \(steps), \"max_length\": \(steps)}".utf8)
        async let inflight = concurrently(6) { _ in try HTTPResult.send(port: port, method: "POST", path: "/v1/translate", body: body, timeout: 60) }
        // Wait until all six are in: 4 live (beam 2 in 8 rows) and 2 queued, as the queue gauge shows twice in a row.
        var seen = 0
        for _ in 0..<300 where seen < 2 {
            let m = (try? HTTPResult.send(port: port, method: "GET", path: "/metrics", body: nil, timeout: 5).body) ?? ""
            seen = m.contains("seq2seq_queue_size{model=\"dates\"} 2") ? seen + 1 : 0
            try await Task.sleep(for: .milliseconds(100))
        }
        kill(p.processIdentifier, SIGTERM)
        let results = await inflight
        for r in results {
            switch r {
            case .success(let x): #expect(x.status == 200 && x.json?["results"]?.array?.first?["ids"]?.array?.count == steps, "in-flight request: \(x.status)")
            case .failure(let e): Issue.record("in-flight request failed: \(e)")
            }
        }
        for _ in 0..<300 where p.isRunning { try await Task.sleep(for: .milliseconds(100)) }
        #expect(!p.isRunning)
        if !p.isRunning { #expect(p.terminationStatus == 0 && p.terminationReason == .exit) }
        // New connections are refused after shutdown.
        #expect(throws: (any Error).self) { try HTTPResult.send(port: port, method: "GET", path: "/health/live", body: nil, timeout: 2) }
    }
}
