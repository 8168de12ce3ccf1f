import CAllocationCounter
import Foundation
@testable import Seq2Seq
import Testing

/// `seq2seq` restarts itself with `OPENBLAS_CORETYPE` when OpenBLAS chose kernels narrower than the CPU's
/// vectors (`BLASThreads.suggestedOpenBLASCore`), and leaves a user's choice alone.
@Suite("OpenBLAS kernels chosen for the CPU",
       .disabled(if: s2s_built_with_sanitizer() == 1, "two machine measurements of seconds each; the plain debug pass runs it"))
struct OpenBLASCoreTests {
    /// The core named on the `machine (...)` line of `seq2seq bench --limits`.
    static func cliCore(_ environment: [String: String?]) throws -> String {
        let r = try CLITests.run(["bench", "--limits", "--workloads", "W1", "--sentences", "1", "--repeats", "1",
                                  "--source-length", "4", "--target-length", "2"], environment: environment)
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let line = try #require(r.stdout.split(separator: "\n").first { $0.hasPrefix("machine (") }, "\(r.stdout)")
        let core = try #require(line.range(of: "(core "), "\(line)")
        return String(line[core.upperBound...].prefix { $0 != ")" })
    }

    @Test("The command line runs the suggested core when there is one, else OpenBLAS's own; OPENBLAS_CORETYPE wins")
    func restart() throws {
        // In this process OpenBLAS loaded with the test runner's environment (no restart).
        let own = BLAS.coreName
        let suggested = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil ? BLASThreads.suggestedOpenBLASCore : nil
        #expect(try Self.cliCore(["OPENBLAS_CORETYPE": nil]).lowercased() == (suggested ?? own).lowercased())
        if let suggested {
            // Where OpenBLAS picks too narrow a core, the suggestion is a wider one it has.
            #expect(["SkylakeX", "Haswell"].contains(suggested))
            #expect(!own.lowercased().hasPrefix(suggested.lowercased()))
        }
        // A user's choice stands (no restart, no loop).
        #expect(try Self.cliCore(["OPENBLAS_CORETYPE": "Prescott"]) == "Prescott")
    }
}
