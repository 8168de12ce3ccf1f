import ArgumentParser
import Foundation
import Logging
import Seq2Seq
import Seq2SeqServer
import Seq2SeqText

extension ComputePrecision: ExpressibleByArgument {}

/// `seq2seq-server`: translation over HTTP with step-level continuous batching (docs/server.md).
@main
struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seq2seq-server",
        abstract: "Serve models over HTTP: POST /v1/translate, /v1/score, /translator/translate; GET /v1/models, /health/live, /health/ready, /metrics.",
        discussion: "Without --model it serves the embedded date model. Prints `listening on http://HOST:PORT` when ready; SIGTERM or SIGINT drains and exits 0.")

    /// Restarts once with better OpenBLAS kernels when OpenBLAS chose generic ones for this CPU
    /// (`BLASThreads.suggestedOpenBLASCore`), then parses and runs the command.
    static func main() async {
        BLASThreads.restartWithSuggestedOpenBLASCore()
        await main(nil)
    }

    @Option(name: .long, help: "A model directory, optionally named: NAME=DIR (repeatable; the first is the default). DIR @embedded is the embedded date model, e.g. --model dates=@embedded beside your own.")
    var model: [String] = []

    @Option(name: .long, help: "Address to bind.")
    var host = "127.0.0.1"

    @Option(name: .long, help: "Port (0 takes a free one).")
    var port = 8080

    @Option(name: .long, help: "OpenBLAS and row-parallel threads.")
    var threads: Int?

    @Option(name: .long, help: "Microseconds an idle thread of the product pool polls for work before it sleeps (default 5, or SEQ2SEQ_POOL_SPIN_US; the library's default is 100: polling longer holds a core the request handlers need at low load).")
    var poolSpinUs: Int?

    @Option(name: .long, help: "Milliseconds the engine may wait for more requests before a step using less than half the rows (0: never).")
    var batchWindowMs = 0.0

    @Option(name: .long, help: "Decoder steps a queued sentence may wait for others to be encoded with (0: encode newcomers at every step).")
    var admissionWait = 4

    @Option(name: .long, help: "Event loop (network I/O) threads.")
    var ioThreads = 1

    @Option(name: .long, help: "Seconds between returns of the heap's free memory to the system (0: never).")
    var trimInterval = 10.0

    @Option(name: .long, help: "Hypothesis rows decoded together per model (1 turns cross-request batching off).")
    var maxBatch = 64

    @Option(name: .long, help: "Sentences waiting for rows, per model; more get 503 with Retry-After.")
    var maxQueue = 1024

    @Option(name: .long, help: "Seconds a request may take (queue included); then its sentences are dropped (504).")
    var timeout = 30.0

    @Option(name: .long, help: "Largest request body, bytes (413 above).")
    var maxBodyBytes = 1 << 20

    @Option(name: .long, help: "Sentences per request (422 above).")
    var maxSentences = 64

    @Option(name: .long, help: "Source tokens per sentence (422 above).")
    var maxSourceTokens = 256

    @Option(name: .long, help: "Largest beam size (422 above).")
    var maxBeamSize = 16

    @Option(name: .long, help: "Largest max_length (and implicit 2·S + 10) accepted (422 above).")
    var maxGeneratedLength = 1024

    @Option(name: .long, help: "Seconds graceful shutdown may take.")
    var shutdownGrace = 30.0

    @Flag(name: .long, help: "Do not cancel a request when its client closes its connection or its sending side (deadlines still apply).")
    var noDisconnectCancel = false

    @Option(name: .long, help: "Weights in float32, float16, bfloat16 or int8 (per-row scales), or int8_float16 / int8_bfloat16 (int8 for its families, the second type for the others); activations stay float32. Default: as each model stores them (float32 for a float model).")
    var computeType: ComputePrecision?

    @Flag(name: .long, inversion: .prefixedNo, help: "Bit-for-bit the same result for a sentence alone or among any others (default on).")
    var batchInvariant = true

    func validate() throws {
        if maxBatch < 1 { throw ValidationError("--max-batch must be at least 1") }
        if !(batchWindowMs >= 0 && batchWindowMs <= 1000) { throw ValidationError("--batch-window-ms must be between 0 and 1000") }
        if admissionWait < 0 || admissionWait > 1000 { throw ValidationError("--admission-wait must be between 0 and 1000") }
        if let us = poolSpinUs, us < 0 || us > 1_000_000 { throw ValidationError("--pool-spin-us must be between 0 and 1000000") }
        if ioThreads < 1 { throw ValidationError("--io-threads must be at least 1") }
        if !(trimInterval >= 0 && trimInterval <= 86400) { throw ValidationError("--trim-interval must be between 0 and 86400 seconds") }
        if maxQueue < 1 { throw ValidationError("--max-queue must be at least 1") }
        if !(timeout > 0) { throw ValidationError("--timeout must be positive") }
        if port < 0 || port > 65535 { throw ValidationError("--port must be between 0 and 65535") }
        if maxGeneratedLength < 1 || maxGeneratedLength > DecodingOptions.maxGeneratedLength {
            throw ValidationError("--max-generated-length must be between 1 and \(DecodingOptions.maxGeneratedLength)")
        }
        if maxSentences < 1 || maxSourceTokens < 1 || maxBeamSize < 1 || maxBodyBytes < 1 {
            throw ValidationError("limits must be at least 1")
        }
        if maxSourceTokens > DecodingOptions.maxSourceLength - 1 {
            throw ValidationError("--max-source-tokens must be at most \(DecodingOptions.maxSourceLength - 1)")
        }
    }

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        if let t = threads { BLASThreads.count = t }
        if let us = poolSpinUs ?? (ProcessInfo.processInfo.environment["SEQ2SEQ_POOL_SPIN_US"] == nil ? 5 : nil) {
            BLASThreads.spinMicroseconds = us
        }
        var logger = Logger(label: "seq2seq-server") { ServerLogHandler(label: $0) }
        logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        var models: [(name: String, model: Seq2SeqModel, text: ModelText)] = []
        do {
            for spec in try ModelSpec.parse(model) {
                let m = try spec.load(computeType: computeType?.type, otherFamilies: computeType?.otherFamilies)
                models.append((spec.name, m, try ModelText(model: m)))
            }
        } catch let e as Seq2SeqError {
            FileHandle.standardError.write("seq2seq-server: \(e.description)\n".data(using: .utf8)!)
            throw ExitCode(2)
        }
        var c = ServerConfiguration()
        c.host = host
        c.port = port
        c.maxBatchRows = maxBatch
        c.maxQueue = maxQueue
        c.timeout = timeout
        c.maxBodyBytes = maxBodyBytes
        c.maxSentences = maxSentences
        c.maxSourceTokens = maxSourceTokens
        c.maxBeamSize = maxBeamSize
        c.shutdownGrace = shutdownGrace
        c.maxGeneratedLength = maxGeneratedLength
        c.cancelOnDisconnect = !noDisconnectCancel
        c.batchInvariant = batchInvariant
        c.ioThreads = ioThreads
        c.memoryTrimInterval = trimInterval
        c.admissionWait = admissionWait
        c.batchWindow = batchWindowMs / 1000
        try await Seq2SeqHTTPServer.run(models: models, configuration: c, logger: logger)
    }
}
