import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import Seq2Seq
import Seq2SeqText
import ServiceLifecycle

/// Whether the server is draining (readiness answers 503 then).
public final class ServerState: @unchecked Sendable {
    private let lock = NSLock()
    private var _draining = false
    public init() {}
    public var draining: Bool {
        get { lock.withLock { _draining } }
        set { lock.withLock { _draining = newValue } }
    }
}

/// The engine threads as a service: started before the HTTP server, stopped after it has drained.
struct EngineService: Service {
    let workers: [ModelWorker]

    func run() async throws {
        // Park until graceful shutdown, then let the engine threads finish what is in flight.
        try? await gracefulShutdown()
        for w in workers { await w.stop() }
    }
}

/// Flips readiness to 503 first when shutdown begins (it is the last service of the group, so the first
/// to be told), before the HTTP server stops accepting.
struct DrainService: Service {
    let state: ServerState

    func run() async throws {
        try? await gracefulShutdown()
        state.draining = true
    }
}

/// The HTTP side: routes over the model workers.
public enum Seq2SeqHTTPServer {
    /// Loads nothing: builds the Hummingbird application over workers that are already started and warm.
    /// `onListening` receives the bound port.
    public static func makeApplication(workers: [ModelWorker], configuration: ServerConfiguration, metrics: ServerMetrics,
                                       state: ServerState, logger: Logger, eventLoopGroup: EventLoopGroupProvider = .singleton,
                                       onListening: @escaping @Sendable (Int) -> Void = { _ in }) -> some ApplicationProtocol {
        let router = Router(context: ServerRequestContext.self)
        let handlers = Handlers(workers: workers, configuration: configuration, metrics: metrics, state: state)
        router.get("/health/live") { _, _ in Handlers.json(.ok, "{\"status\": \"ok\"}") }
        router.get("/health/ready") { _, _ in handlers.ready() }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: metrics.exposition())))
        }
        router.get("/v1/models") { _, _ in handlers.models() }
        router.post("/v1/translate") { request, context in
            await handlers.handle(request, context.channel, route: "translate", handlers.translate)
        }
        router.post("/v1/score") { request, context in await handlers.handle(request, context.channel, route: "score", handlers.score) }
        router.post("/translator/translate") { request, context in
            await handlers.handle(request, context.channel, route: "opennmt", handlers.openNMT, openNMTErrors: true)
        }
        router.get("/translator/health") { _, _ in Handlers.json(.ok, "{\"status\": \"ok\"}") }
        router.get("/translator/models") { _, _ in handlers.openNMTModels() }
        return Application(
            router: router,
            server: .http1(configuration: .init(additionalChannelHandlers: [DisconnectHandler()],
                                                idleTimeout: .seconds(Int64(max(configuration.timeout, 30))))),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "seq2seq-server"),
            services: [EngineService(workers: workers)],
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? configuration.port) },
            eventLoopGroupProvider: eventLoopGroup,
            logger: logger
        )
    }

    /// Loads and warms every model, serves until SIGTERM/SIGINT, then drains (bounded by `shutdownGrace`).
    /// Prints `listening on http://HOST:PORT` to standard output once ready.
    public static func run(models: [(name: String, model: Seq2SeqModel, text: ModelText)], configuration: ServerConfiguration,
                           logger: Logger) async throws {
        let metrics = ServerMetrics()
        var workers: [ModelWorker] = []
        for m in models {
            let w = ModelWorker(name: m.name, model: m.model, text: m.text, configuration: configuration, metrics: metrics)
            try await w.start()
            workers.append(w)
        }
        let state = ServerState()
        let host = configuration.host
        // Few event loop threads: on a small machine the engine thread (and its row workers) need the cores more.
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: configuration.ioThreads)
        let app = makeApplication(workers: workers, configuration: configuration, metrics: metrics, state: state, logger: logger,
                                  eventLoopGroup: .shared(loops)) { port in
            let line = "listening on http://\(host.contains(":") ? "[\(host)]" : host):\(port)\n"
            FileHandle.standardOutput.write(line.data(using: .utf8)!)
        }
        var group = ServiceGroupConfiguration(
            services: [.init(service: MemoryTrimService(interval: configuration.memoryTrimInterval)), .init(service: app),
                       .init(service: DrainService(state: state))],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        group.maximumGracefulShutdownDuration = .milliseconds(Int64(configuration.shutdownGrace * 1000))
        do { try await ServiceGroup(configuration: group).run() } catch {
            try? await loops.shutdownGracefully()
            throw error
        }
        try? await loops.shutdownGracefully()
    }
}

/// The route handlers.
struct Handlers: Sendable {
    let workers: [ModelWorker]
    let configuration: ServerConfiguration
    let metrics: ServerMetrics
    let state: ServerState

    static func json(_ status: HTTPResponse.Status, _ body: String, retryAfter: Int? = nil) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let r = retryAfter { headers[.retryAfter] = String(r) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    func ready() -> Response {
        if !state.draining && workers.allSatisfy(\.isReady) { return Self.json(.ok, "{\"status\": \"ready\"}") }
        return Self.json(.serviceUnavailable, "{\"status\": \"\(state.draining ? "draining" : "loading")\"}")
    }

    func models() -> Response {
        let list = workers.enumerated().map { i, w -> String in
            let c = w.model.config
            return JSON.object([
                ("name", JSON.string(w.name)), ("default", i == 0 ? "true" : "false"),
                ("cell", JSON.string(c.cell.rawValue)), ("attention", JSON.string(c.attention.rawValue)),
                ("source_vocab_size", "\(c.sourceVocabSize)"), ("target_vocab_size", "\(c.targetVocabSize)"),
                ("hidden_size", "\(c.hiddenSize)"), ("encoder_layers", "\(c.encoderLayers)"), ("decoder_layers", "\(c.decoderLayers)"),
                ("parameters", "\(w.model.parameterCount)"), ("compute_type", JSON.string(w.model.computePrecision.description)),
                ("batch_invariant", configuration.batchInvariant ? "true" : "false"),
                ("max_batch_rows", "\(configuration.maxBatchRows)"), ("ready", w.isReady ? "true" : "false"),
            ])
        }
        return Self.json(.ok, JSON.object([("models", JSON.array(list))]))
    }

    func worker(_ name: String?) throws -> ModelWorker {
        guard let name else { return workers[0] }
        guard let w = workers.first(where: { $0.name == name }) else {
            throw APIError(status: .notFound, message: "unknown model \"\(name)\" (loaded: \(workers.map(\.name).joined(separator: ", ")))",
                           kind: "not_found")
        }
        return w
    }

    /// Reads the body (413 above the limit), runs `body`, maps every error to a status, records the metrics.
    /// With `cancelOnDisconnect`, a client that closes its connection (`channel`) cancels the work; the
    /// connection stays reusable either way.
    func handle(_ request: Request, _ channel: any Channel, route: String, _ body: @escaping @Sendable ([UInt8]) async throws -> Response,
                openNMTErrors: Bool = false) async -> Response {
        let start = ContinuousClock.now
        let response: Response
        do {
            // A declared length over the limit is refused before anything is read.
            if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > configuration.maxBodyBytes {
                throw APIError(status: .contentTooLarge, message: "the body is larger than the limit of \(configuration.maxBodyBytes) bytes",
                               kind: "too_large")
            }
            let bytes = try await Self.collect(request.body, limit: configuration.maxBodyBytes)
            if configuration.cancelOnDisconnect {
                response = try await ConnectionWatch.cancellingOnClose(channel) { try await body(bytes) }
            } else {
                response = try await body(bytes)
            }
            metrics.request(route: route, outcome: "ok", duration: .now - start)
            return response
        } catch {
            let e: APIError
            switch error {
            case let x as APIError: e = x
            case let x as WorkerError: e = APIError(x)
            case is CancellationError: e = APIError(.cancelled)
            default: e = APIError(status: .internalServerError, message: "internal error: \(error)", kind: "internal")
            }
            metrics.request(route: route, outcome: e.kind, duration: .now - start)
            if openNMTErrors {
                return Self.json(e.status, JSON.object([("error", JSON.string(e.message)), ("status", JSON.string("error"))]),
                                 retryAfter: e.retryAfter)
            }
            return Self.json(e.status, e.body, retryAfter: e.retryAfter)
        }
    }

    static func collect(_ body: RequestBody, limit: Int) async throws -> [UInt8] {
        do {
            var buffer = try await body.collect(upTo: limit)
            return buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch is NIOTooManyBytesError {
            throw APIError(status: .contentTooLarge, message: "the body is larger than the limit of \(limit) bytes", kind: "too_large")
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            // A malformed body (bad chunk framing, a connection cut mid-body): the client's fault.
            throw APIError.invalid("the body could not be read: \(error)")
        }
    }

    // MARK: Routes

    func translate(_ bytes: [UInt8]) async throws -> Response {
        let o = try API.object(bytes, allowed: API.translateKeys)
        let w = try worker(try API.modelName(o))
        let (options, scores) = try API.options(o, model: w.model, config: configuration)
        let sources = try API.sources(o, textKey: "text", idsKey: "source_ids", text: w.text, config: configuration,
                                      maxInputLength: options.maxInputLength)
        try API.checkImplicitLength(sources, options: options, model: w.model, config: configuration)
        let prefixes = try API.prefixes(o, count: sources.count, text: w.text)
        // Sentence i is at position i of the request: it seeds its random streams, as on the CLI.
        let inputs = sources.indices.map { TranslationInput(source: sources[$0], targetPrefix: prefixes[$0], index: $0) }
        let out = try await w.translate(inputs, options: options, timeout: configuration.timeout)
        let results = out.map { JSON.translation($0, nBest: options.nBest, text: w.text, attention: options.returnAttention, scores: scores) }
        return Self.json(.ok, JSON.object([("model", JSON.string(w.name)), ("results", JSON.array(results))]))
    }

    func score(_ bytes: [UInt8]) async throws -> Response {
        let o = try API.object(bytes, allowed: API.scoreKeys)
        let w = try worker(try API.modelName(o))
        let sources = try API.sources(o, textKey: "text", idsKey: "source_ids", text: w.text, config: configuration)
        let targets: [[Int]]
        switch (o["target"], o["target_ids"]) {
        case (.some(let v), nil):
            targets = try API.texts(v, key: "target").enumerated().map { i, s in
                do { return try w.text.targetIDs(for: s) } catch {
                    throw APIError.invalid("\"target\"[\(i)]: \((error as? Seq2SeqError)?.message ?? "\(error)")")
                }
            }
        case (nil, .some(let v)): targets = try API.idLists(v, key: "target_ids")
        case (.some, .some): throw APIError.invalid("give either \"target\" or \"target_ids\", not both")
        case (nil, nil): throw APIError.invalid("missing \"target\" (or \"target_ids\")")
        }
        guard targets.count == sources.count else {
            throw APIError.invalid("\(sources.count) sources but \(targets.count) targets")
        }
        let V = w.model.config.targetVocabSize
        for (i, t) in targets.enumerated() {
            guard t.count <= configuration.maxGeneratedLength else {
                throw APIError.limit("target \(i) has \(t.count) tokens, more than the limit of \(configuration.maxGeneratedLength)")
            }
            if let bad = t.first(where: { $0 < 0 || $0 >= V }) {
                throw APIError.invalid("\"target_ids\"[\(i)]: target id \(bad) is outside the target vocabulary (0..<\(V))")
            }
        }
        let out = try await w.score(sources: sources, targets: targets, timeout: configuration.timeout)
        let results = out.map { JSON.object([("token_log_probs", JSON.doubles($0.tokenLogProbs)), ("log_prob", JSON.number($0.logProb))]) }
        return Self.json(.ok, JSON.object([("model", JSON.string(w.name)), ("results", JSON.array(results))]))
    }

    /// OpenNMT-py's `POST /translator/translate`: `[{"src": "...", "id": N}, ...]` →
    /// `[[{"src", "tgt", "n_best", "pred_score"}, ...]]` (one list per n-best rank; here n_best is 1).
    /// `id` picks the model named by that number when there is one, else the default model.
    func openNMT(_ bytes: [UInt8]) async throws -> Response {
        let value: JSONValue
        do { value = try bytes.withUnsafeBytes { try JSONValue.parse($0) } } catch {
            throw APIError.invalid("the body is not valid JSON: \(error)")
        }
        guard case .array(let items) = value else { throw APIError.invalid("the body must be a JSON array of {\"src\", \"id\"}, found \(value.kindName)") }
        try API.checkCount(items.count, key: "[]", config: configuration)
        var srcs: [String] = []
        var modelName: String?
        for (i, item) in items.enumerated() {
            guard case .object = item else { throw APIError.invalid("[\(i)] must be an object {\"src\", \"id\"}, found \(item.kindName)") }
            guard case .string(let s)? = item["src"] else { throw APIError.invalid("[\(i)].src must be a string") }
            srcs.append(s)
            switch item["id"] {
            case .int(let id)?: if workers.contains(where: { $0.name == "\(id)" }) { modelName = "\(id)" }
            case nil, .null?: break
            case let v?: throw APIError.invalid("[\(i)].id must be an integer, found \(v.kindName)")
            }
        }
        let w = try worker(modelName)
        let o = JSONValue.object([("src", .array(srcs.map { .string($0) }))])
        let sources = try API.sources(o, textKey: "src", idsKey: "source_ids", text: w.text, config: configuration)
        let (options, _) = try API.options(.object([]), model: w.model, config: configuration)
        try API.checkImplicitLength(sources, options: options, model: w.model, config: configuration)
        let out = try await w.translate(sources.map { TranslationInput(source: $0) }, options: options, timeout: configuration.timeout)
        let list = zip(srcs, out).map { src, t in
            JSON.object([("src", JSON.string(src)), ("tgt", JSON.string((try? w.text.detokenize(t.best.ids)) ?? w.model.detokenize(t.best.ids))),
                         ("n_best", "1"), ("pred_score", JSON.number(t.best.score))])
        }
        return Self.json(.ok, JSON.array([JSON.array(list)]))
    }

    func openNMTModels() -> Response {
        Self.json(.ok, JSON.array(workers.enumerated().map { i, w in
            JSON.object([("model_id", Int(w.name).map(String.init) ?? "\(i)"), ("name", JSON.string(w.name)), ("loaded", "true")])
        }))
    }
}
