#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A progress line on standard error for long `translate` and `score` runs: lines done (of how many, when the
/// input is a regular file), sentences and tokens per second, time left. Redrawn four times a second from a
/// thread of its own, erased before anything else is written to the terminal and at the end. Only when
/// standard error is a terminal: never in a pipe, a file or a CI log.
final class Progress: @unchecked Sendable {
    /// The progress line in use, if any (`Output` erases it before writing).
    nonisolated(unsafe) static var current: Progress?

    private var mutex = pthread_mutex_t()
    private var lines = 0, sentences = 0, tokens = 0
    private let total: Int?
    private let started = Date()
    private var shown = false
    private var stopped = false
    /// Whether standard output is the same terminal (then the line is erased before each output line).
    private let sharesTerminal: Bool
    private let label: String

    /// Starts a progress line when standard error is a terminal and `enabled`; `path` (a regular file) gives the total.
    static func start(enabled: Bool, path: String?, label: String) -> Progress? {
        guard enabled, isatty(2) != 0, ProcessInfo.processInfo.environment["TERM"] != "dumb" else { return nil }
        let p = Progress(total: path.flatMap(countLines), label: label)
        current = p
        Thread.detachNewThread { p.run() }
        return p
    }

    private init(total: Int?, label: String) {
        self.total = total
        self.label = label
        sharesTerminal = isatty(1) != 0
        pthread_mutex_init(&mutex, nil)
    }

    /// Records finished work.
    func add(lines l: Int, sentences s: Int, tokens t: Int) {
        pthread_mutex_lock(&mutex)
        lines += l
        sentences += s
        tokens += t
        pthread_mutex_unlock(&mutex)
    }

    /// Erases the line and stops redrawing.
    func finish() {
        pthread_mutex_lock(&mutex)
        stopped = true
        eraseLocked()
        pthread_mutex_unlock(&mutex)
        Progress.current = nil
    }

    /// Runs `write` (output to the terminal) with the line erased first when it would be in the way.
    func writing(toStandardError: Bool, _ write: () -> Void) {
        pthread_mutex_lock(&mutex)
        if toStandardError || sharesTerminal { eraseLocked() }
        write()
        pthread_mutex_unlock(&mutex)
    }

    private func eraseLocked() {
        guard shown else { return }
        fputs("\r\u{1B}[K", standardError)
        shown = false
    }

    private func run() {
        while true {
            usleep(250_000)
            pthread_mutex_lock(&mutex)
            if stopped {
                pthread_mutex_unlock(&mutex)
                return
            }
            let text = lineLocked()
            fputs("\r\u{1B}[K" + text, standardError)
            shown = true
            pthread_mutex_unlock(&mutex)
        }
    }

    private func lineLocked() -> String {
        let seconds = max(Date().timeIntervalSince(started), 1e-3)
        var parts = [total.map { "\(lines)/\($0) lines" } ?? "\(lines) lines"]
        parts.append(String(format: "%.1f sentences/s", Double(sentences) / seconds))
        parts.append(String(format: "%.0f tokens/s", Double(tokens) / seconds))
        if let total, lines > 0, total >= lines {
            let left = Int((seconds / Double(lines) * Double(total - lines)).rounded())
            parts.append(String(format: "%d:%02d left", left / 60, left % 60))
        }
        return "\(label): " + parts.joined(separator: "  ")
    }
}

/// The number of lines of a regular file (a last line without a newline counts), or nil for anything else.
private func countLines(_ path: String) -> Int? {
    var st = stat()
    guard path != "-", stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, let f = fopen(path, "rb") else { return nil }
    defer { fclose(f) }
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    var count = 0
    var last: UInt8 = 0x0A
    while true {
        let n = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
        if n == 0 { break }
        for i in 0..<n where buffer[i] == 0x0A { count += 1 }
        last = buffer[n - 1]
    }
    return last == 0x0A ? count : count + 1
}
