import Foundation
import Logging
import Seq2Seq
@testable import Seq2SeqServer
import Seq2SeqText
import ServiceLifecycle
#if canImport(Glibc)
import Glibc
#endif

/// A server started in this process on a free loopback port; `stop()` drains it as SIGTERM would.
final class TestServer: @unchecked Sendable {
    let port: Int
    let configuration: ServerConfiguration
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    private init(port: Int, configuration: ServerConfiguration, group: ServiceGroup, task: Task<Void, any Error>) {
        self.port = port
        self.configuration = configuration
        self.group = group
        self.task = task
    }

    static let dates: (Seq2SeqModel, ModelText) = {
        let m = try! Seq2SeqModel.embeddedDateModel()
        return (m, try! ModelText(model: m))
    }()

    static func start(_ configure: (inout ServerConfiguration) -> Void = { _ in }, names: [String] = ["dates"],
                      model: (Seq2SeqModel, ModelText) = dates) async throws -> TestServer {
        var c = ServerConfiguration()
        c.port = 0
        c.timeout = 20
        c.shutdownGrace = 20
        configure(&c)
        var logger = Logger(label: "test-server")
        logger.logLevel = .error
        let metrics = ServerMetrics()
        var workers: [ModelWorker] = []
        for name in names {
            let w = ModelWorker(name: name, model: model.0, text: model.1, configuration: c, metrics: metrics)
            try await w.start()
            workers.append(w)
        }
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        let state = ServerState()
        let app = Seq2SeqHTTPServer.makeApplication(workers: workers, configuration: c, metrics: metrics, state: state, logger: logger) {
            continuation.yield($0)
        }
        var gc = ServiceGroupConfiguration(services: [.init(service: app), .init(service: DrainService(state: state))], logger: logger)
        gc.maximumGracefulShutdownDuration = .seconds(20)
        let group = ServiceGroup(configuration: gc)
        let task = Task { try await group.run() }
        var port = 0
        for await p in stream { port = p; break }
        return TestServer(port: port, configuration: c, group: group, task: task)
    }

    /// Polls `/metrics` (bounded: 10 s) until a cancellation is counted and the session's queue is empty.
    func cancelledAndEmptied() async throws -> Bool {
        for _ in 0..<100 {
            let m = try await request("GET", "/metrics").body
            if m.contains("outcome=\"cancelled\"") && m.contains("seq2seq_queue_size{model=\"dates\"} 0") { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
    }

    /// One request from a thread of its own: a blocking client on the cooperative pool could starve the
    /// server's own handlers (two pool threads on a 2-core machine, the other one busy with another suite).
    func request(_ method: String, _ path: String, _ body: String? = nil, timeout: Double = 30) async throws -> HTTPResult {
        let (port, bytes) = (port, body.map { Array($0.utf8) })
        return try await concurrently(1) { _ in
            try HTTPResult.send(port: port, method: method, path: path, body: bytes, timeout: timeout)
        }[0].get()
    }
}

/// A minimal blocking HTTP/1.1 client over a POSIX socket (one request per connection), so that tests can
/// also send broken requests and vanish mid-request.
struct HTTPResult {
    var status: Int
    var headers: [String: String]
    var body: String

    var json: JSONValue? { try? JSONValue.parse(body) }

    static func connect(port: Int, timeout: Double) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestError("socket failed") }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard r == 0 else {
            close(fd)
            throw TestError("connect to 127.0.0.1:\(port) failed: errno \(errno)")
        }
        return fd
    }

    static func sendAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { throw TestError("send failed: errno \(errno)") }
            off += n
        }
    }

    static func head(method: String, path: String, bodyCount: Int?) -> [UInt8] {
        var s = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        if let n = bodyCount { s += "Content-Type: application/json\r\nContent-Length: \(n)\r\n" }
        return Array((s + "\r\n").utf8)
    }

    static func send(port: Int, method: String, path: String, body: [UInt8]?, timeout: Double = 30) throws -> HTTPResult {
        let fd = try connect(port: port, timeout: timeout)
        defer { close(fd) }
        try sendAll(fd, head(method: method, path: path, bodyCount: body?.count) + (body ?? []))
        return try read(fd)
    }

    /// Reads a whole response (the server closes the connection after it: `Connection: close`).
    static func read(_ fd: Int32) throws -> HTTPResult {
        var data: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 { throw TestError("recv failed or timed out: errno \(errno)") }
            if n == 0 { break }
            data.append(contentsOf: buf[0..<n])
        }
        return try parse(data)
    }

    /// Parses one whole response.
    static func parse(_ data: [UInt8]) throws -> HTTPResult {
        let text = String(decoding: data, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { throw TestError("no response head in \(text.prefix(200))") }
        let lines = text[..<split.lowerBound].components(separatedBy: "\r\n")
        let parts = lines[0].split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { throw TestError("bad status line \(lines[0])") }
        var headers: [String: String] = [:]
        for l in lines.dropFirst() {
            if let c = l.firstIndex(of: ":") {
                headers[l[..<c].lowercased()] = l[l.index(after: c)...].trimmingCharacters(in: .whitespaces)
            }
        }
        var body = String(text[split.upperBound...])
        if headers["transfer-encoding"]?.lowercased() == "chunked" { body = dechunk(body) }
        return HTTPResult(status: status, headers: headers, body: body)
    }

    static func dechunk(_ s: String) -> String {
        var out = ""
        var rest = Substring(s)
        while let nl = rest.range(of: "\r\n"), let n = Int(rest[..<nl.lowerBound], radix: 16), n > 0 {
            let start = nl.upperBound
            let bytes = Array(rest[start...].utf8)
            out += String(decoding: bytes[0..<min(n, bytes.count)], as: UTF8.self)
            rest = Substring(String(decoding: bytes[min(n + 2, bytes.count)...], as: UTF8.self))
        }
        return out
    }
}

struct TestError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Runs `body(i)` for `i < count` on `count` threads at once (blocking clients must not sit on the
/// cooperative pool); returns the results in order. Bounded: each client has its own socket timeout.
func concurrently<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) throws -> T) async -> [Result<T, any Error>] {
    await withCheckedContinuation { (c: CheckedContinuation<[Result<T, any Error>], Never>) in
        let lock = NSLock()
        nonisolated(unsafe) var results = [Result<T, any Error>?](repeating: nil, count: count)
        let group = DispatchGroup()
        for i in 0..<count {
            group.enter()
            let t = Thread {
                let r = Result { try body(i) }
                lock.withLock { results[i] = r }
                group.leave()
            }
            t.start()
        }
        group.notify(queue: .global()) { c.resume(returning: results.map { $0! }) }
    }
}

extension JSONValue {
    var array: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
    var string: String? { if case .string(let s) = self { return s }; return nil }
    var int: Int? { if case .int(let i) = self { return i }; return nil }
    var number: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }
}

/// The built `seq2seq-server` executable beside the test bundle.
var serverPath: String? {
    let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    var dir = exe.deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = dir.appendingPathComponent("seq2seq-server").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    return nil
}

/// How much load a test sends: less under the sanitizers (scripts/test-sanitizers.sh sets SEQ2SEQ_SANITIZER),
/// where every request costs several times more; the same paths run either way.
enum Load {
    static let sanitized = ProcessInfo.processInfo.environment["SEQ2SEQ_SANITIZER"] != nil

    /// `normal`, or `sanitized` under the sanitizers.
    static func count(_ normal: Int, sanitized small: Int) -> Int { sanitized ? small : normal }
}
