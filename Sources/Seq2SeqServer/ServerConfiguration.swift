import Seq2Seq

/// The server's settings: where it listens, how much it batches, and the limits it enforces.
public struct ServerConfiguration: Sendable {
    /// Address to bind (loopback by default).
    public var host = "127.0.0.1"
    /// Port; 0 takes a free one (the `listening on` line says which).
    public var port = 8080
    /// Hypothesis rows decoded together per model (`--max-batch`); 1 turns cross-request batching off.
    public var maxBatchRows = 64
    /// Sentences waiting for rows, per model (`--max-queue`); more are refused with 503 and `Retry-After`.
    public var maxQueue = 1024
    /// Seconds a request may take, queue included (`--timeout`); then its sentences leave the session (504).
    public var timeout = 30.0
    /// Largest request body, bytes (413 above).
    public var maxBodyBytes = 1 << 20
    /// Sentences per request (422 above).
    public var maxSentences = 64
    /// Source tokens per sentence (422 above).
    public var maxSourceTokens = 256
    /// Largest beam size accepted (422 above).
    public var maxBeamSize = 16
    /// Largest `max_length` accepted (422 above).
    public var maxGeneratedLength = 1024
    /// Seconds graceful shutdown may take before in-flight work is cancelled.
    public var shutdownGrace = 30.0
    /// Whether a client that closes its connection cancels its request (its sentences leave the session).
    /// Connections stay reusable (keep-alive) either way.
    public var cancelOnDisconnect = true

    /// Whether sessions run in batch-invariant mode (`--batch-invariant`, the default): a sentence's result is
    /// then bit for bit what it gets alone, whatever else shares the decoder steps.
    public var batchInvariant = true

    /// Seconds the engine thread may wait for more requests before a step that would use less than half the
    /// rows, when requests are arriving (`--batch-window-ms`; 0 = never wait).
    public var batchWindow = 0.0
    /// Decoder steps a queued sentence may wait for companions to be encoded with (`--admission-wait`; 0 encodes
    /// newcomers at every step).
    public var admissionWait = 4
    /// Event loop (I/O) threads (`--io-threads`).
    public var ioThreads = 1
    /// Seconds between returns of the heap's free pages to the system (`--trim-interval`; glibc's
    /// `malloc_trim`; 0 = never): keeps resident memory from ratcheting up after spells of backlog.
    public var memoryTrimInterval = 10.0

    public init() {}
}
