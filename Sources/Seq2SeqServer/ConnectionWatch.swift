import Foundation
import Hummingbird
import NIOCore

/// The request context of the server's routes: Hummingbird's basic context plus the connection, so that a
/// handler can notice its client going away.
struct ServerRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The connection the request came on.
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// Tells the connection's watch when the client closes its side (Hummingbird allows half-closure, so that
/// arrives as an `inputClosed` event, not as the channel closing) or the connection goes away.
final class DisconnectHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = Any

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .inputClosed? = event as? ChannelEvent { ConnectionWatch.clientClosed(context.channel) }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        ConnectionWatch.clientClosed(context.channel)
        context.fireChannelInactive()
    }
}

/// Notices a client closing its connection while its request is being decoded, without reading from the
/// connection, so that HTTP keep-alive goes on working (Hummingbird's `consumeWithCancellationOnInboundClose`
/// reads ahead and must close the connection after the response).
///
/// One watch per open connection, made on its first request and registered once on the connection's close
/// future (so a connection serving thousands of requests holds one callback, not thousands); the requests
/// on it wait on the watch one after another. `DisconnectHandler` in the connection's pipeline wakes it.
final class ConnectionWatch: @unchecked Sendable {
    private static let registryLock = NSLock()
    /// The watches of the open connections; a connection's entry leaves when it closes.
    nonisolated(unsafe) private static var registry: [ObjectIdentifier: ConnectionWatch] = [:]

    private let lock = NSLock()
    private var closed = false
    private var nextToken = 0
    /// The requests waiting on this connection (normally one), by token.
    private var waiters: [Int: CheckedContinuation<Void, Never>] = [:]

    /// The watch of `channel`, made and registered on its first request.
    static func of(_ channel: any Channel) -> ConnectionWatch {
        let id = ObjectIdentifier(channel)
        let (watch, isNew) = registryLock.withLock { () -> (ConnectionWatch, Bool) in
            if let w = registry[id] { return (w, false) }
            let w = ConnectionWatch()
            registry[id] = w
            return (w, true)
        }
        // The caller holds the channel, so its identifier cannot be reused before this callback has run.
        if isNew {
            channel.closeFuture.whenComplete { _ in
                _ = registryLock.withLock { registry.removeValue(forKey: id) }
                watch.close()
            }
        }
        return watch
    }

    /// The client of `channel` has closed its side, or the connection is gone: its waiting request is cancelled.
    static func clientClosed(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        registryLock.withLock { registry.removeValue(forKey: id) }?.close()
    }

    /// How many connections are watched now (tests check that closed connections leave).
    static var openCount: Int { registryLock.withLock { registry.count } }

    /// Returns once the connection has closed, or as soon as the calling task is cancelled.
    func closedOrCancelled() async {
        let token = lock.withLock { () -> Int in nextToken += 1; return nextToken }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                // Checked under the lock the cancellation handler also takes: either it sees the waiter, or
                // the waiter sees the cancellation.
                let now = lock.withLock { () -> Bool in
                    if closed || Task.isCancelled { return true }
                    waiters[token] = c
                    return false
                }
                if now { c.resume() }
            }
        } onCancel: {
            lock.withLock { waiters.removeValue(forKey: token) }?.resume()
        }
    }

    private func close() {
        let all = lock.withLock { () -> [CheckedContinuation<Void, Never>] in
            closed = true
            defer { waiters = [:] }
            return Array(waiters.values)
        }
        for c in all { c.resume() }
    }

    /// Runs `work`, cancelling it if the connection closes first (then throws `CancellationError`).
    static func cancellingOnClose<T: Sendable>(_ channel: any Channel, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
        let watch = of(channel)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await work() }
            group.addTask { await watch.closedOrCancelled(); return nil }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else { throw CancellationError() }
            return value
        }
    }
}
