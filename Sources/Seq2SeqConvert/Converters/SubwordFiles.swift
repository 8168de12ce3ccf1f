import Seq2Seq
import Seq2SeqText

/// A subword model (SentencePiece model or BPE codes) that a toolkit's configuration names for one side,
/// to be copied into the converted model directory.
public struct SubwordFile: Sendable {
    public var side: ModelConfig.Side
    /// Where the file was found.
    public var path: String
    /// How the toolkit applies it (the file name inside the model directory is set when written).
    public var tokenizer: ModelConfig.TokenizerConfig
}

/// Explicit subword model paths that override what a checkpoint recorded (`--src-subword-model`,
/// `--tgt-subword-model`).
public struct SubwordOverrides: Sendable {
    public var source: String?
    public var target: String?
    public init(source: String? = nil, target: String? = nil) { self.source = source; self.target = target }

    func path(_ side: ModelConfig.Side) -> String? { side == .source ? source : target }
}

extension SubwordFile {
    /// The file for `side`: the override, else the path the toolkit recorded at training time, else the file
    /// of the same name in `searchDirectories` (beside the checkpoint or in the model directory).
    static func locate(side: ModelConfig.Side, recorded: String?, tokenizer: ModelConfig.TokenizerConfig,
                       overrides: SubwordOverrides, searchDirectories: [String], what: String) throws -> SubwordFile {
        guard let recorded = recorded ?? overrides.path(side) else {
            throw Seq2SeqError.invalidModel("\(what) names no \(side.rawValue) subword model; give --\(side == .source ? "src" : "tgt")-subword-model FILE")
        }
        let path = try ModelText.locateSubwordFile(recorded: recorded, override: overrides.path(side),
                                                   searchDirectories: searchDirectories)
        return SubwordFile(side: side, path: path, tokenizer: tokenizer)
    }
}

/// The folder of `path` (`.` for a bare file name).
func directoryOf(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
}
