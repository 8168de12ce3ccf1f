#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Seq2SeqModel {
    /// The directory of the date normalizer that ships with the package (a SwiftPM resource), or nil.
    ///
    /// Looked up, in order: the `SEQ2SEQ_DEFAULT_MODEL` environment variable; the resource bundle
    /// `Seq2Seq_Seq2Seq.resources/dates` beside the running executable (where `swift build` puts it);
    /// the package's source tree this library was built from.
    public static var embeddedDateModelDirectory: String? {
        var candidates: [String] = []
        if let env = getenv("SEQ2SEQ_DEFAULT_MODEL") { candidates.append(String(cString: env)) }
        if let exe = executablePath() {
            let dir = exe.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
            candidates.append(dir + "/Seq2Seq_Seq2Seq.resources/dates")
            candidates.append(dir + "/Seq2Seq_Seq2Seq.bundle/Contents/Resources/dates")
        }
        let source = String(#filePath).split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        candidates.append(source + "/Resources/dates")
        return candidates.first { fileExists($0 + "/config.json") }
    }

    /// Loads the embedded character-level date normalizer ("24/11/2026" → "2026-11-24").
    /// `computeType`, `families` and `otherFamilies` as in `init(directory:checkFinite:computeType:families:otherFamilies:)`.
    public static func embeddedDateModel(computeType: ComputeType? = nil, families: Set<WeightFamily>? = nil,
                                         otherFamilies: ComputeType? = nil) throws -> Seq2SeqModel {
        guard let dir = embeddedDateModelDirectory else {
            throw Seq2SeqError.invalidModel("the embedded date model was not found beside the executable (Seq2Seq_Seq2Seq.resources/dates); pass --model DIR or set SEQ2SEQ_DEFAULT_MODEL")
        }
        return try Seq2SeqModel(directory: dir, computeType: computeType, families: families, otherFamilies: otherFamilies)
    }
}

private func executablePath() -> String? {
    #if os(Linux)
    var buf = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buf, buf.count - 1)
    guard n > 0 else { return nil }
    return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    #else
    return CommandLine.arguments.first
    #endif
}
