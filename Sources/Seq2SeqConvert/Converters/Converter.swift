import Foundation
import Seq2Seq

/// Converts checkpoints of the toolkits RNN translation models are trained with into MODEL.md model
/// directories, natively: the checkpoint's pickle is interpreted, never executed, and no Python is needed.
///
/// ```swift
/// let converted = try Converter.convert(.openNMT(checkpoint: "model_step_1000.pt"))
/// print(converted.summary)
/// let model = try converted.write(to: "my_model")     // config.json, model.safetensors, vocabularies
/// ```
public enum Converter {
    /// Where a model comes from.
    public enum Source: Sendable {
        /// An OpenNMT-py 3.x `model_step_N.pt`.
        case openNMT(checkpoint: String)
        /// A JoeyNMT 2.x model directory (`config.yaml`, `src_vocab.txt`, `trg_vocab.txt`), with `best.ckpt` or
        /// the given checkpoint.
        case joeyNMT(modelDirectory: String, checkpoint: String? = nil)
        /// A fairseq LSTM checkpoint and the data directory with `dict.SRC.txt` and `dict.TGT.txt` (languages from
        /// the checkpoint's task options unless given).
        case fairseq(checkpoint: String, dataDirectory: String, sourceLanguage: String? = nil, targetLanguage: String? = nil)
        /// The PyTorch seq2seq tutorial's encoder and decoder, saved with the README's recipe.
        case pytorchTutorial(checkpoint: String)
    }

    /// Reads and maps a toolkit model. Refuses what the model format cannot represent (copy attention,
    /// coverage, context gates, SRU, sparsemax, adaptive softmax, source features, …) with a message naming
    /// the toolkit option.
    ///
    /// When the toolkit's configuration names a subword model (SentencePiece or BPE codes), it is carried into
    /// the model directory: found at the recorded path, else by its file name beside the checkpoint (or in the
    /// model directory), unless `subwordOverrides` gives the file.
    ///
    /// - Throws: `Seq2SeqError.invalidModel` naming the file, tensor or option at fault.
    public static func convert(_ source: Source, subwordOverrides: SubwordOverrides = .init()) throws -> ConvertedModel {
        switch source {
        case .openNMT(let path): return try OpenNMTConverter.convert(checkpoint: path, subwordOverrides: subwordOverrides)
        case .joeyNMT(let dir, let checkpoint):
            return try JoeyNMTConverter.convert(modelDirectory: dir, checkpoint: checkpoint, subwordOverrides: subwordOverrides)
        case .fairseq(let path, let data, let src, let tgt):
            return try FairseqConverter.convert(checkpoint: path, dataDirectory: data, sourceLanguage: src,
                                                targetLanguage: tgt, subwordOverrides: subwordOverrides)
        case .pytorchTutorial(let path): return try TutorialConverter.convert(checkpoint: path)
        }
    }
}

extension Seq2SeqModel {
    /// Converts a toolkit checkpoint and loads it, without a model directory of the caller's: the converted
    /// files go to a temporary directory that is removed once loaded (the weights stay mapped).
    ///
    /// Converting costs a full read of the checkpoint; an app that loads the same model often should
    /// `Converter.convert(_:).write(to:)` once and load the directory.
    public convenience init(converting source: Converter.Source) throws {
        let converted = try Converter.convert(source)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("seq2seq-convert-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try converted.write(to: dir)
        try self.init(directory: dir)
    }
}
