import Foundation
import Testing

/// The real `seq2seq` executable, run as a user would.
@Suite("Command line")
struct CLITests {
    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
        var lines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) }
    }

    static func run(_ arguments: [String], stdin: String? = nil, environment: [String: String?] = [:]) throws -> Run {
        let cli = try #require(Fixtures.cliPath, "the seq2seq executable was not found beside the test bundle (run swift build first)")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: cli)
        p.arguments = arguments
        if !environment.isEmpty {
            var env = ProcessInfo.processInfo.environment
            for (k, v) in environment { env[k] = v }
            p.environment = env
        }
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = inp
        try p.run()
        if let stdin { inp.fileHandleForWriting.write(Data(stdin.utf8)) }
        try inp.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    static func golden(_ name: String) -> String { Fixtures.ownDirectory.appendingPathComponent(name).path }

    @Test("Text output matches the golden file verbatim (characters tokenizer, greedy)")
    func textVerbatim() throws {
        let dir = Self.golden("g07_gru_bahdanau_linear_bi_characters")
        let r = try Self.run(["translate", "--model", dir + "/model", "--beam-size", "1", "--input", dir + "/text_inputs.txt"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let expected = try String(contentsOfFile: dir + "/expected_text_output.txt", encoding: .utf8)
        #expect(r.stdout == expected)
    }

    @Test("Bad JSONL lines get an error line naming the line; the good lines are still translated; exit status 1")
    func badLines() throws {
        let model = Self.golden("g08_rnn_bahdanau_copy_bad_inputs") + "/model"
        let input = """
            {"source_ids": [5, 6, 7]}
            {"source_ids": [5, 6
            {"source_ids": [999]}
            {"source_ids": []}
            {"source_ids": [-1]}
            not json at all
            {"source": 3}

            {"source_ids": [8]}
            """
        let r = try Self.run(["translate", "--model", model, "--format", "jsonl", "--beam-size", "2"], stdin: input + "\n")
        #expect(r.status == 1)
        let lines = r.lines
        try #require(lines.count == 9, "expected 9 output lines, got \(lines.count): \(r.stdout)")
        for (i, line) in lines.enumerated() {
            let isError = line.hasPrefix("{\"error\"")
            let shouldFail = ![0, 8].contains(i)
            #expect(isError == shouldFail, "line \(i + 1): \(line)")
            if isError { #expect(line.contains("line \(i + 1):"), "error does not name line \(i + 1): \(line)") }
        }
        #expect(lines[2].contains("999") && lines[2].contains("vocabulary"))
        #expect(lines[3].contains("empty"))
    }

    @Test("Translating arguments in text format, and the same through standard input")
    func argumentsAndStdin() throws {
        let model = Self.golden("g07_gru_bahdanau_linear_bi_characters") + "/model"
        let a = try Self.run(["translate", "--model", model, "abc", "a"])
        let b = try Self.run(["translate", "--model", model], stdin: "abc\na\n")
        #expect(a.status == 0 && b.status == 0)
        #expect(a.lines.count == 2)
        #expect(a.stdout == b.stdout)
    }

    @Test("An empty text line is an error on standard error, answered by an empty line; the rest is translated")
    func emptyTextLine() throws {
        let model = Self.golden("g07_gru_bahdanau_linear_bi_characters") + "/model"
        let r = try Self.run(["translate", "--model", model], stdin: "abc\n\nab\n")
        let good = try Self.run(["translate", "--model", model, "abc", "ab"])
        #expect(r.status == 1)
        #expect(r.lines == [good.lines[0], "", good.lines[1]])
        #expect(r.stderr.contains("line 2") && r.stderr.contains("empty"))
    }

    @Test("A bad model directory is one clear message and exit status 2")
    func badModel() throws {
        let r = try Self.run(["translate", "--model", "/nonexistent/model", "x"])
        #expect(r.status == 2)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.contains("/nonexistent/model") && r.stderr.split(separator: "\n").count == 1, "stderr: \(r.stderr)")
        let invalid = try Self.run(["translate", "--model", Self.golden("i02_wrong_shape") + "/model", "x"])
        #expect(invalid.status == 2 && invalid.stderr.contains("shape"))
    }

    @Test("A line longer than 16 MiB is answered with an error and not held; the next line is translated")
    func endlessLine() throws {
        let model = Self.golden("g08_rnn_bahdanau_copy_bad_inputs") + "/model"
        let long = String(repeating: "7", count: 17 << 20)
        let r = try Self.run(["translate", "--model", model, "--format", "jsonl", "--beam-size", "1"],
                             stdin: "{\"source_ids\": [\(long)]}\n{\"source_ids\": [5, 6]}\n")
        #expect(r.status == 1)
        #expect(r.lines.count == 2)
        #expect(r.lines.first?.contains("line 1") == true && r.lines.first?.contains("longer than") == true)
        #expect(r.lines.last?.hasPrefix("{\"ids\"") == true)
    }

    @Test("An unreadable input file is a clear message")
    func missingInput() throws {
        let r = try Self.run(["translate", "--model", Self.golden("g07_gru_bahdanau_linear_bi_characters") + "/model",
                              "--input", "/nonexistent/input.txt"])
        #expect(r.status == 2 && r.stderr.contains("/nonexistent/input.txt"))
    }

    @Test("Options out of range are refused before any work")
    func badOptions() throws {
        let model = Self.golden("g07_gru_bahdanau_linear_bi_characters") + "/model"
        for args in [["--beam-size", "0"], ["--n-best", "3", "--beam-size", "2"], ["--max-length", "0"], ["--beam-size", "100000"]] {
            let r = try Self.run(["translate", "--model", model] + args + ["abc"])
            #expect(r.status != 0 && r.status < 128 && !r.stderr.isEmpty, "\(args): status \(r.status)")
        }
    }

    @Test("Output to a closed pipe ends quietly")
    func closedPipe() throws {
        let cli = try #require(Fixtures.cliPath)
        let model = Self.golden("g07_gru_bahdanau_linear_bi_characters") + "/model"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "yes abc | head -n 3000 | '\(cli)' translate --model '\(model)' --beam-size 1 | head -n 1; echo \"status ${PIPESTATUS:-}\""]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(o.split(separator: "\n").count >= 1)
        #expect(!e.contains("Fatal error") && !e.contains("Crash") && !e.contains("Stack dump"), "stderr: \(e)")
    }

    @Test("inspect shows the configuration and the parameter count")
    func inspect() throws {
        let r = try Self.run(["inspect", "--model", Self.golden("g01_rnn_luong_general_linear_bi_enc2") + "/model"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("rnn_tanh") && r.stdout.contains("luong_general") && r.stdout.contains("parameters"))
    }
}
