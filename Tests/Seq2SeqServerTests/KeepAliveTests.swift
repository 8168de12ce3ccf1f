import Foundation
@testable import Seq2SeqServer
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// HTTP keep-alive with disconnect detection on: a connection carries several requests, and closing it
/// mid-decode still cancels the work. Part of the serialized server suite.
extension ServerTests {
    /// Reads one response whose length is given by Content-Length, leaving the connection open.
    static func readOne(_ fd: Int32) throws -> HTTPResult {
        var data: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        func received() throws {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 { throw TestError("recv failed or timed out: errno \(errno)") }
            if n == 0 { throw TestError("the server closed the connection after \(data.count) bytes") }
            data.append(contentsOf: buf[0..<n])
        }
        let separator = Array("\r\n\r\n".utf8)
        var headEnd: Int?
        while headEnd == nil {
            try received()
            headEnd = data.indices.dropLast(3).first { Array(data[$0..<$0 + 4]) == separator }
        }
        let head = String(decoding: data[..<headEnd!], as: UTF8.self)
        guard let line = head.components(separatedBy: "\r\n").first(where: { $0.lowercased().hasPrefix("content-length:") }),
              let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) else {
            throw TestError("no Content-Length in \(head)")
        }
        while data.count < headEnd! + 4 + length { try received() }
        return try HTTPResult.parse(Array(data[..<(headEnd! + 4 + length)]))
    }

    @Test("Keep-alive: one connection carries several requests, and closing it mid-decode still cancels the work")
    func keepAlive() async throws {
        let server = try await TestServer.start { c in c.maxGeneratedLength = 16000 }
        let port = server.port
        let texts = ["24/11/2026", "nov 24 2026", "1 Jan 1999"]
        let answers = try await concurrently(1) { _ -> [HTTPResult] in
            let fd = try HTTPResult.connect(port: port, timeout: 30)
            defer { close(fd) }
            return try texts.map { t in
                let body = Array(Self.body([t], extra: ", \"beam_size\": 1").utf8)
                var head = String(decoding: HTTPResult.head(method: "POST", path: "/v1/translate", bodyCount: body.count), as: UTF8.self)
                head = head.replacingOccurrences(of: "Connection: close\r\n", with: "")
                try HTTPResult.sendAll(fd, Array(head.utf8) + body)
                return try Self.readOne(fd)
            }
        }[0].get()
        #expect(answers.map { $0.json?["results"]?.array?.first?["text"]?.string } == ["2026-11-24", "2026-11-24", "1999-01-01"])
        #expect(answers.allSatisfy { $0.headers["connection"]?.lowercased() != "close" })

        // Closing a kept-alive connection mid-decode cancels its sentences (the session empties).
        let long = Array("{\"text\": [\"24/11/2026\"], \"beam_size\": 8, \"min_length\": 16000, \"max_length\": 16000}".utf8)
        let fd = try HTTPResult.connect(port: port, timeout: 5)
        var head = String(decoding: HTTPResult.head(method: "POST", path: "/v1/translate", bodyCount: long.count), as: UTF8.self)
        head = head.replacingOccurrences(of: "Connection: close\r\n", with: "")
        try HTTPResult.sendAll(fd, Array(head.utf8) + long)
        try await Task.sleep(for: .milliseconds(300))
        close(fd)
        #expect(try await server.cancelledAndEmptied(), "the closed connection's request was not cancelled")
        // Every closed connection leaves the registry of watched connections.
        var watched = ConnectionWatch.openCount
        for _ in 0..<50 where watched > 0 {
            try await Task.sleep(for: .milliseconds(100))
            watched = ConnectionWatch.openCount
        }
        #expect(watched == 0, "\(watched) closed connections are still watched")
        try await server.stop()
    }
}
