import Foundation
import Testing

/// The bulk path of docs/deploy.md: the CLI's output is line-aligned with its input, so a corpus split into
/// shards (`split -n l/N`, Slurm arrays, Kubernetes indexed Jobs), translated shard by shard and concatenated
/// in shard order gives the unsharded output byte for byte.
@Suite("Sharded translation")
struct ShardTests {
    static func corpus(_ n: Int) throws -> [String] {
        let tsv = try String(contentsOfFile: Fixtures.repositoryRoot.appendingPathComponent("data/dates-heldout.tsv").path, encoding: .utf8)
        var lines = tsv.split(separator: "\n").prefix(n).map { String($0.split(separator: "\t")[0]) }
        lines[7] = ""  // a bad (empty) line keeps its place too
        return lines
    }

    @Test("split -n l/N shards translated separately concatenate to the unsharded output", arguments: [
        ["--format", "text", "--beam-size", "1"], ["--format", "text", "--beam-size", "3", "--batch-size", "7"],
    ])
    func concatenation(_ flags: [String]) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("shards-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let lines = try Self.corpus(48)
        try (lines.joined(separator: "\n") + "\n").write(toFile: dir + "/corpus.txt", atomically: true, encoding: .utf8)
        let whole = try CLITests.run(["translate", "--input", dir + "/corpus.txt"] + flags)
        #expect(whole.lines.count == lines.count)
        for n in [3, 7] {
            // The same split as the docs: GNU split's line-preserving chunks.
            let split = Process()
            split.executableURL = URL(fileURLWithPath: "/usr/bin/split")
            split.arguments = ["-n", "l/\(n)", "-d", dir + "/corpus.txt", dir + "/part-\(n)-"]
            try split.run()
            split.waitUntilExit()
            try #require(split.terminationStatus == 0)
            let parts = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("part-\(n)-") }.sorted()
            #expect(parts.count == n)
            var joined = ""
            var status: Int32 = 0
            for p in parts {
                let r = try CLITests.run(["translate", "--input", dir + "/" + p] + flags)
                joined += r.stdout
                status = max(status, r.status)
            }
            #expect(joined == whole.stdout, "\(n) shards do not concatenate to the unsharded output")
            #expect(status == whole.status)
        }
    }
}
