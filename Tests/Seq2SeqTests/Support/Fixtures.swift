import Foundation
import Seq2Seq
import Testing

/// Where golden cases live: the shared PyTorch set beside the repository (absent in a user's clone)
/// and the repository's own set, made by tools/make_fixtures.py.
enum Fixtures {
    /// The repository root, from this file's path.
    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let sharedDirectory = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures")
    static let ownDirectory = repositoryRoot.appendingPathComponent("Tests/Fixtures/golden")

    /// True in CI, where the shared fixtures must be present.
    static var inCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Case folders (those with a case.json) under `dir`, sorted; empty when `dir` is missing.
    static func cases(in dir: URL) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.sorted().map { dir.appendingPathComponent($0) }
            .filter { FileManager.default.fileExists(atPath: $0.appendingPathComponent("case.json").path) }
    }

    static var sharedCases: [URL] { cases(in: sharedDirectory) }
    static var ownCases: [URL] { cases(in: ownDirectory) }

    /// The non-blank lines of a JSONL file, parsed.
    static func jsonLines(_ url: URL) throws -> [JSONValue] {
        let text = try String(contentsOf: url, encoding: .utf8)
        return try text.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
            .map { try JSONValue.parse(String($0)) }
    }

    static func json(_ url: URL) throws -> JSONValue {
        try JSONValue.parse(String(contentsOf: url, encoding: .utf8))
    }

    /// The seq2seq executable next to the test bundle (built by `swift build` / `swift test`).
    static var cliPath: String? {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("seq2seq").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }
}

extension JSONValue {
    var int: Int? { if case .int(let i) = self { return i }; return nil }
    var double: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }
    var string: String? { if case .string(let s) = self { return s }; return nil }
    var bool: Bool? { if case .bool(let b) = self { return b }; return nil }
    var array: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
    var ints: [Int]? { array?.compactMap(\.int) }
    var doubles: [Double]? { array?.compactMap(\.double) }
    var isNull: Bool { self == .null }
}

/// Elementwise comparison that reports the worst index and difference.
func maxDifference(_ a: [Double], _ b: [Double]) -> (index: Int, diff: Double)? {
    guard a.count == b.count else { return nil }
    var worst = (index: -1, diff: 0.0)
    for i in a.indices {
        let d = abs(a[i] - b[i])
        if d > worst.diff || d.isNaN { worst = (i, d.isNaN ? .infinity : d) }
    }
    return worst
}
