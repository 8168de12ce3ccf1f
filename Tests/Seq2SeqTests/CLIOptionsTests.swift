import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing

/// The decoding options and the progress line through the real `seq2seq` executable.
@Suite("Command line: decoding options and progress")
struct CLIOptionsTests {
    static let model = CLITests.golden("g04_gru_bahdanau_linear_beam5_nbest5_lp06") + "/model"

    static func json(_ line: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    @Test("Sampling flags: reproducible per line whatever the batch size; n-best samples; scores on request")
    func sampling() throws {
        let input = (0..<6).map { "{\"source_ids\": [\(4 + $0), 7, 9]}" }.joined(separator: "\n") + "\n"
        let flags = ["translate", "--model", Self.model, "--format", "jsonl", "--sampling-topk", "0", "--seed", "17",
                     "--n-best", "2", "--return-scores"]
        let a = try CLITests.run(flags + ["--batch-size", "1"], stdin: input)
        let b = try CLITests.run(flags + ["--batch-size", "4"], stdin: input)
        #expect(a.status == 0 && b.status == 0, "stderr: \(a.stderr) \(b.stderr)")
        // The same samples (log-probabilities may differ in the last float digits between batch compositions).
        let ids = { (r: CLITests.Run) in try r.lines.map { try Self.json($0)["ids"] as? [Int] ?? [] } }
        #expect(try ids(a) == ids(b))
        for line in a.lines {
            let o = try Self.json(line)
            #expect((o["n_best"] as? [Any])?.count == 2)
            #expect((o["token_log_probs"] as? [Double]) != nil)
        }
        let other = try CLITests.run(flags.dropLast(5) + ["--seed", "18", "--n-best", "2", "--return-scores"], stdin: input)
        #expect(try ids(other) != ids(a))
    }

    @Test("JSONL lines carry their own options and target prefixes; a bad option is an error line naming it")
    func perLineOptions() throws {
        let input = """
            {"source_ids": [5, 6, 7], "target_prefix": [7, 8], "no_repeat_ngram_size": 1}
            {"source_ids": [5, 6, 7], "beam_size": 2, "length_penalty_kind": "wu", "return_scores": true}
            {"source_ids": [5, 6, 7], "repetition_penalty": -1}
            {"source_ids": [5, 6, 7], "max_input_length": 2}
            {"source_ids": [5, 6, 7], "sampling_topk": 3, "n_best": 3}

            """
        let r = try CLITests.run(["translate", "--model", Self.model, "--format", "jsonl", "--beam-size", "1"], stdin: input)
        #expect(r.status == 1)
        try #require(r.lines.count == 5, "\(r.stdout)")
        let first = try Self.json(r.lines[0])
        let ids = try #require(first["ids"] as? [Int])
        #expect(Array(ids.prefix(2)) == [7, 8] && Set(ids).count == ids.count)
        #expect(try Self.json(r.lines[1])["token_log_probs"] != nil)
        #expect((try Self.json(r.lines[2])["error"] as? String)?.contains("repetition_penalty") == true)
        #expect((try Self.json(r.lines[3])["warnings"] as? [String])?.first?.contains("max_input_length") == true)
        #expect((try Self.json(r.lines[4])["n_best"] as? [Any])?.count == 3)
    }

    @Test("Text format: --target-prefix, --suppress-ids, --max-length-a/-b; bad flags are refused naming them")
    func textFlags() throws {
        let r = try CLITests.run(["translate", "--target-prefix", "2025", "--beam-size", "3", "Tuesday, 24 November 2026"])
        #expect(r.status == 0 && r.stdout.hasPrefix("2025"), "\(r.stdout) \(r.stderr)")
        for (flags, name) in [(["--sampling-topp", "2", "--sampling-topk", "0"], "sampling_topp"),
                              (["--max-length", "5", "--max-length-a", "1"], "--max-length"),
                              (["--suppress-ids", "1,x"], "--suppress-ids"),
                              (["--length-penalty-kind", "square"], "length-penalty-kind"),
                              (["--no-repeat-ngram-size=-1"], "no_repeat_ngram_size")] {
            let bad = try CLITests.run(["translate"] + flags + ["24.11.26"])
            #expect(bad.status != 0 && bad.stderr.contains(name), "\(flags): \(bad.stderr)")
        }
    }

    /// Runs the command with standard error on a pseudo-terminal; returns standard output and what the terminal got.
    static func runOnTerminal(_ arguments: [String]) throws -> (stdout: String, terminal: String, status: Int32) {
        let cli = try #require(Fixtures.cliPath)
        // posix_openpt and friends are not in the Glibc module: look them up in the loaded C library through
        // RTLD_DEFAULT (a nil handle), without dlopen: ThreadSanitizer rescans the loaded libraries on every
        // dlopen and dies on its called_from_lib suppression when OpenBLAS has two executable mappings.
        func function<T>(_ name: String, _: T.Type) throws -> T {
            unsafeBitCast(try #require(dlsym(nil, name), "\(name) not found"), to: T.self)
        }
        typealias IntFunction = @convention(c) (Int32) -> Int32
        let openpt = try function("posix_openpt", IntFunction.self)
        let grantpt = try function("grantpt", IntFunction.self)
        let unlockpt = try function("unlockpt", IntFunction.self)
        let ptsname = try function("ptsname", (@convention(c) (Int32) -> UnsafeMutablePointer<CChar>?).self)
        let master = openpt(O_RDWR | O_NOCTTY)
        try #require(master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0)
        let slave = open(String(cString: try #require(ptsname(master))), O_RDWR | O_NOCTTY)
        try #require(slave >= 0)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: cli)
        p.arguments = arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle(fileDescriptor: slave, closeOnDealloc: false)
        p.standardInput = FileHandle.nullDevice
        var env = ProcessInfo.processInfo.environment
        env["TERM"] = "xterm"
        p.environment = env
        try p.run()
        close(slave)
        // The terminal is drained while the child runs (a slow build redraws often enough to fill its buffer).
        final class Box: @unchecked Sendable { var data = Data() }
        let terminal = Box()
        let drained = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = read(master, &buffer, buffer.count)  // EIO once the child has exited and all is read
                if n <= 0 { break }
                terminal.data.append(contentsOf: buffer[0..<n])
            }
            drained.signal()
        }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        drained.wait()
        close(master)
        return (String(decoding: o, as: UTF8.self), String(decoding: terminal.data, as: UTF8.self), p.terminationStatus)
    }

    static func slowInput() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("progress-\(getpid()).txt").path
        // Enough lines that the run outlasts the first redraw (after 250 ms) several times over.
        let dates = (0..<60).map { "\(1 + $0 % 28) November 20\($0 % 90 + 10)" }.joined(separator: "\n") + "\n"
        try dates.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("On a terminal a progress line is drawn and erased at the end; in a pipe or with --quiet it never appears")
    func progressLine() throws {
        let path = try Self.slowInput()
        defer { try? FileManager.default.removeItem(atPath: path) }
        // Beam search in a debug build is slow enough for several redraws.
        let args = ["translate", "--beam-size", "5", "--batch-size", "1", "--input", path]
        let tty = try Self.runOnTerminal(args)
        #expect(tty.status == 0)
        #expect(tty.terminal.contains("translate: ") && tty.terminal.contains("/60 lines") && tty.terminal.contains("tokens/s"),
                "terminal got \(tty.terminal.debugDescription)")
        #expect(tty.terminal.hasSuffix("\r\u{1B}[K"), "the line is erased at the end: \(tty.terminal.suffix(40).debugDescription)")
        #expect(tty.stdout.split(separator: "\n").count == 60 && !tty.stdout.contains("\u{1B}"))
        let quiet = try Self.runOnTerminal(args + ["--quiet"])
        #expect(quiet.terminal.isEmpty && quiet.stdout == tty.stdout)
        let piped = try CLITests.run(args)
        #expect(piped.stderr.isEmpty && piped.stdout == tty.stdout)
    }

    @Test("bench --configs times each configuration and reports its weight traffic; a bad configuration is refused")
    func benchConfigs() throws {
        let r = try CLITests.run(["bench", "--model", Self.model, "--workloads", "W1,W3", "--sentences", "1", "--repeats", "1",
                                  "--source-length", "4", "--target-length", "3", "--json", "--configs", "float32,int8-inv", "--quantize", "all"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let rows = try r.lines.map(Self.json)
        #expect(rows.map { $0["config"] as? String } == ["float32", "int8-inv", "float32", "int8-inv"])
        #expect(rows.map { $0["batch_invariant"] as? Bool } == [false, true, false, true])
        let mb = rows.map { $0["weight_mb_per_token"] as? Double ?? 0 }
        #expect(mb[0] > 0 && mb[1] > 0 && mb[1] < mb[0] / 2, "int8 over every family streams under half of float32's bytes: \(mb)")
        let bad = try CLITests.run(["bench", "--model", Self.model, "--configs", "float32,int4"])
        #expect(bad.status != 0 && bad.stderr.contains("int4"), "stderr: \(bad.stderr)")
    }
}
