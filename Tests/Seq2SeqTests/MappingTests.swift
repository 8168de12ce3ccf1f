import Foundation
import Seq2Seq
import Testing

/// Weights are read in place from the mapped file: loading costs resident memory only for what is touched.
@Suite("Memory-mapped weights")
struct MappingTests {
    /// Resident set size of this process, bytes (Linux).
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return -1 }
        let fields = text.split(separator: " ")
        return (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    @Test("Loading a 100 MB model without the finite check leaves resident memory far below the file size")
    func lazyLoad() throws {
        // A model whose source embedding is 100 MB of zeros (a sparse file: written instantly, read as zeros).
        let config = ModelConfig(cell: .gru, sourceVocabSize: 400_000, targetVocabSize: 11, embeddingSize: 64, hiddenSize: 8,
                                 bridge: .zeros, attention: .none)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("seq2seq-mmap-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var entries: [String] = []
        var offset = 0
        for spec in config.tensorSpecs where !spec.optional {
            let bytes = spec.shape.reduce(1, *) * 4
            entries.append("\"\(spec.name)\": {\"dtype\": \"F32\", \"shape\": \(spec.shape), \"data_offsets\": [\(offset), \(offset + bytes)]}")
            offset += bytes
        }
        var header = Array(("{" + entries.joined(separator: ", ") + "}").utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var head = Data()
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { head.append(contentsOf: $0) }
        head.append(contentsOf: header)
        let path = dir.appendingPathComponent("model.safetensors").path
        try head.write(to: URL(fileURLWithPath: path))
        let fileSize = head.count + offset
        #expect(truncate(path, off_t(fileSize)) == 0)
        try configJSON(config).write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)

        let before = Self.residentBytes()
        let model = try Seq2SeqModel(directory: dir.path, checkFinite: false)
        let afterLoad = Self.residentBytes()
        #expect(afterLoad - before < fileSize / 10,
                "loading grew resident memory by \(afterLoad - before) bytes for a \(fileSize)-byte file")
        // Translating touches only the embedding rows of the source ids (and the small decoder).
        let out = try Translator(model: model).translate([[5, 399_999]], options: DecodingOptions(maxLength: 3))
        #expect(out[0].best.ids.count <= 3)
        #expect(Self.residentBytes() - before < fileSize / 10)
        // The finite check reads every weight (and finds only zeros).
        _ = try Seq2SeqModel(directory: dir.path)
    }
}
