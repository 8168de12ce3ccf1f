import Foundation
import Seq2Seq
import Seq2SeqText

/// Why the worker refused or dropped a request.
public enum WorkerError: Error, Equatable, Sendable {
    /// The queue holds `maxQueue` sentences already (503 with Retry-After).
    case queueFull(limit: Int)
    /// The deadline passed before the request finished (504).
    case timeout(seconds: Double)
    /// The server is shutting down (503).
    case shuttingDown
    /// The client went away or the handler was cancelled.
    case cancelled
    /// The engine refused the request (400); the message names the problem.
    case invalid(String)
}

/// One loaded model and the thread that owns its `DecodingSession`.
///
/// Handlers call `translate` / `score` and await; the engine thread (a dedicated `Thread`, never an event
/// loop nor the cooperative pool) takes new work between decoder steps, admits sentences into the session
/// while rows are free, steps, and resumes each request's continuation when its last sentence finishes.
/// Deadlines and cancellations are applied at step boundaries: the request's sentences leave the session.
public final class ModelWorker: @unchecked Sendable {
    public let name: String
    public let model: Seq2SeqModel
    public let text: ModelText
    public let configuration: ServerConfiguration
    let metrics: ServerMetrics

    // Shared state, under `condition`.
    private let condition = NSCondition()
    private var incoming: [Job] = []
    private var cancellations: [Job] = []
    private var queuedSentences = 0  // sentences not yet admitted (incoming + the session's queue)
    private var stopping = false
    private var stopped = false
    private var ready = false
    private var thread: Thread?
    private var stopWaiters: [CheckedContinuation<Void, Never>] = []

    // Engine-thread state.
    private var session: DecodingSession!
    private var translator: Translator!
    private var owners: [Int: (job: Job, index: Int)] = [:]  // session id -> request and sentence index
    private var live: [ObjectIdentifier: Job] = [:]

    /// A request in flight.
    final class Job: @unchecked Sendable {
        enum Work {
            case translate([TranslationInput], DecodingOptions)
            case score([[Int]], [[Int]])
        }
        let work: Work
        let deadline: ContinuousClock.Instant
        let submitted = ContinuousClock.now
        var continuation: CheckedContinuation<Result, any Error>?
        var translations: [Translation?] = []
        var sessionIDs: [Int] = []
        var remaining = 0
        var admittedLogged = false
        var done = false  // under the worker's lock

        init(work: Work, deadline: ContinuousClock.Instant) {
            self.work = work
            self.deadline = deadline
        }
    }

    enum Result: Sendable {
        case translations([Translation])
        case scores([ScoreResult])
    }

    public init(name: String, model: Seq2SeqModel, text: ModelText, configuration: ServerConfiguration, metrics: ServerMetrics) {
        self.name = name
        self.model = model
        self.text = text
        self.configuration = configuration
        self.metrics = metrics
    }

    /// Starts the engine thread and warms it up (one sentence through the session); returns when ready.
    public func start() async throws {
        let session = try DecodingSession(model: model, maxRows: configuration.maxBatchRows,
                                          maxSourceLength: configuration.maxSourceTokens + (model.config.sourceAppendEOS ? 1 : 0),
                                          batchInvariant: configuration.batchInvariant)
        // Encode newcomers in groups (the encoder's cost is per position, whatever the group's size): up to a
        // quarter of the rows, waiting at most a few steps.
        session.minAdmission = max(1, configuration.maxBatchRows / 4)
        session.maxAdmissionWait = configuration.admissionWait
        self.session = session
        self.translator = Translator(model: model, maxBatchSize: configuration.maxBatchRows, batchInvariant: configuration.batchInvariant)
        let t = Thread { [self] in self.loop() }
        t.name = "seq2seq-engine-\(name)"
        t.stackSize = 8 << 20
        thread = t
        t.start()
        // Warm-up: one sentence of a few tokens, through the same path as requests.
        let id = min(model.config.sourceVocabSize - 1, 4)
        _ = try await translate([TranslationInput(source: [id, id, id])], options: DecodingOptions(maxLength: 4), timeout: 60)
        setReady()
    }

    private func setReady() {
        condition.lock()
        ready = true
        condition.unlock()
    }

    /// Whether the worker is warm and not shutting down.
    public var isReady: Bool {
        condition.lock()
        defer { condition.unlock() }
        return ready && !stopping
    }

    /// Sentences waiting for rows.
    public var queueDepth: Int {
        condition.lock()
        defer { condition.unlock() }
        return queuedSentences
    }

    /// Stops taking work, finishes what is in flight, and returns when the engine thread has ended.
    public func stop() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            condition.lock()
            stopping = true
            if stopped || thread == nil {
                condition.unlock()
                c.resume()
                return
            }
            stopWaiters.append(c)
            condition.signal()
            condition.unlock()
        }
    }

    /// Translates `inputs` (validated source ids, target prefixes, positions in the request) with `options`;
    /// throws `WorkerError`.
    public func translate(_ sources: [TranslationInput], options: DecodingOptions, timeout: Double) async throws -> [Translation] {
        guard case .translations(let t) = try await submit(.translate(sources, options), sentences: sources.count, timeout: timeout) else {
            throw WorkerError.invalid("internal: wrong result kind")
        }
        return t
    }

    /// Teacher-forced scores, run on the engine thread between steps.
    public func score(sources: [[Int]], targets: [[Int]], timeout: Double) async throws -> [ScoreResult] {
        guard case .scores(let s) = try await submit(.score(sources, targets), sentences: sources.count, timeout: timeout) else {
            throw WorkerError.invalid("internal: wrong result kind")
        }
        return s
    }

    private func submit(_ work: Job.Work, sentences: Int, timeout: Double) async throws -> Result {
        let job = Job(work: work, deadline: .now + .milliseconds(Int64(timeout * 1000)))
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Result, any Error>) in
                condition.lock()
                if stopping {
                    condition.unlock()
                    c.resume(throwing: WorkerError.shuttingDown)
                    return
                }
                if queuedSentences + sentences > configuration.maxQueue && queuedSentences > 0 {
                    condition.unlock()
                    c.resume(throwing: WorkerError.queueFull(limit: configuration.maxQueue))
                    return
                }
                job.continuation = c
                queuedSentences += sentences
                incoming.append(job)
                metrics.queueSize(queuedSentences, model: name)
                condition.signal()
                condition.unlock()
            }
        } onCancel: {
            condition.lock()
            cancellations.append(job)
            condition.signal()
            condition.unlock()
        }
    }

    /// Resumes a job once (whichever of result, timeout or cancellation comes first).
    private func finish(_ job: Job, _ result: Swift.Result<Result, WorkerError>) {
        condition.lock()
        if job.done {
            condition.unlock()
            return
        }
        job.done = true
        let c = job.continuation
        job.continuation = nil
        condition.unlock()
        switch result {
        case .success(let r): c?.resume(returning: r)
        case .failure(let e): c?.resume(throwing: e)
        }
    }

    // MARK: The engine thread

    private func loop() {
        var waited = false
        while true {
            condition.lock()
            while incoming.isEmpty && cancellations.isEmpty && session.isIdle && !stopping {
                condition.wait()
            }
            if stopping && incoming.isEmpty && session.isIdle {
                stopped = true
                thread = nil  // the thread's closure holds the worker: break the cycle so that both are freed
                let waiters = stopWaiters
                stopWaiters.removeAll()
                condition.unlock()
                for w in waiters { w.resume() }
                return
            }
            let newJobs = incoming
            incoming.removeAll(keepingCapacity: true)
            let cancelled = cancellations
            cancellations.removeAll(keepingCapacity: true)
            condition.unlock()

            for job in cancelled { drop(job, .cancelled) }
            let now = ContinuousClock.now
            for job in newJobs {
                switch job.work {
                case .translate(let sources, let options):
                    if isDone(job) {  // cancelled while it waited in `incoming`
                        dequeued(sources.count)
                        continue
                    }
                    if job.deadline <= now {
                        dequeued(sources.count)
                        finish(job, .failure(.timeout(seconds: configuration.timeout)))
                        continue
                    }
                    job.translations = [Translation?](repeating: nil, count: sources.count)
                    job.remaining = sources.count
                    do {
                        for (i, s) in sources.enumerated() {
                            let id = try session.add(s, options: options)
                            job.sessionIDs.append(id)
                            owners[id] = (job, i)
                        }
                        live[ObjectIdentifier(job)] = job
                    } catch {
                        for id in job.sessionIDs { session.cancel(id); owners[id] = nil }
                        dequeued(sources.count)
                        finish(job, .failure(.invalid((error as? Seq2SeqError)?.message ?? "\(error)")))
                    }
                case .score(let sources, let targets):
                    dequeued(sources.count)
                    if isDone(job) || job.deadline <= now {
                        finish(job, .failure(.timeout(seconds: configuration.timeout)))
                        continue
                    }
                    do {
                        let started = ContinuousClock.now
                        defer { metrics.engineBusy(ContinuousClock.now - started, model: name) }
                        let r = try translator.score(sources: sources, targets: targets)
                        finish(job, .success(.scores(r)))
                    } catch {
                        finish(job, .failure(.invalid((error as? Seq2SeqError)?.message ?? "\(error)")))
                    }
                }
            }
            // Deadlines, at step boundaries.
            if !live.isEmpty {
                let now = ContinuousClock.now
                for job in live.values where job.deadline <= now { drop(job, .timeout(seconds: configuration.timeout)) }
            }
            guard !session.isIdle else { continue }
            // Fill window: work arrived but the step would be small; give more requests a moment to join it
            // (once per step; the wait ends as soon as another request arrives).
            if configuration.batchWindow > 0 && !newJobs.isEmpty && !waited
                && session.liveRows + session.pendingSentences < configuration.maxBatchRows / 2 {
                waited = true
                condition.lock()
                if incoming.isEmpty && !stopping { _ = condition.wait(until: Date(timeIntervalSinceNow: configuration.batchWindow)) }
                condition.unlock()
                continue
            }
            waited = false
            let pendingBefore = session.pendingSentences
            let started = ContinuousClock.now
            let completed = session.step()
            let stepDuration = ContinuousClock.now - started
            let admitted = pendingBefore - session.pendingSentences
            if admitted > 0 {
                dequeued(admitted)
                metrics.admission(sentences: session.lastAdmitted.count, model: name)
                let now = ContinuousClock.now
                for id in session.lastAdmitted {
                    if let (job, _) = owners[id], !job.admittedLogged {
                        job.admittedLogged = true
                        metrics.queueWait(now - job.submitted, model: name)
                    }
                }
            }
            metrics.step(rows: session.lastStepRows, duration: stepDuration, model: name)
            var tokens = 0
            for c in completed {
                guard let (job, i) = owners.removeValue(forKey: c.id) else { continue }
                tokens += c.translation.best.ids.count + (c.translation.best.endedWithEOS ? 1 : 0)
                job.translations[i] = c.translation
                job.remaining -= 1
                if job.remaining == 0 {
                    live[ObjectIdentifier(job)] = nil
                    finish(job, .success(.translations(job.translations.map { $0! })))
                }
            }
            if tokens > 0 { metrics.generated(tokens, model: name) }
        }
    }

    /// Removes a job's sentences from the session (queued or live) and fails it.
    private func drop(_ job: Job, _ error: WorkerError) {
        guard live.removeValue(forKey: ObjectIdentifier(job)) != nil else {
            // Not (or no longer) in the session: still in `incoming` for a moment, or already answered.
            finish(job, .failure(error))
            return
        }
        let pendingBefore = session.pendingSentences
        for id in job.sessionIDs where owners.removeValue(forKey: id) != nil { session.cancel(id) }
        dequeued(pendingBefore - session.pendingSentences)
        finish(job, .failure(error))
    }

    private func isDone(_ job: Job) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        return job.done
    }

    private func dequeued(_ n: Int) {
        guard n > 0 else { return }
        condition.lock()
        queuedSentences -= n
        let q = queuedSentences
        condition.unlock()
        metrics.queueSize(q, model: name)
    }
}
