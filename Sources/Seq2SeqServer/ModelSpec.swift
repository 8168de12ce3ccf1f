import Foundation
import Seq2Seq

/// One `--model` argument of `seq2seq-server`: `[NAME=]DIR`, where DIR is a model directory or `@embedded`
/// (the date model inside the package, so that it can be served beside other models from any working directory).
///
/// Without a name, a directory's model is named by its last path component and the embedded model `dates`. A `=`
/// is read as the name's end only when no `/` comes before it, so a path such as `runs/lr=0.1` needs no name.
/// A directory literally called `@embedded` is reached as `./@embedded`.
public struct ModelSpec: Equatable, Sendable {
    /// Where the weights come from.
    public enum Source: Equatable, Sendable {
        /// The embedded date normalizer (`Seq2SeqModel.embeddedDateModel`).
        case embedded
        /// A model directory (`config.json`, `model.safetensors`, vocabularies).
        case directory(String)
    }

    /// The word DIR is spelled as to mean the embedded model.
    public static let embeddedKeyword = "@embedded"

    /// The name requests use (`"model"` in a body; `GET /v1/models` lists it).
    public var name: String
    /// Where the weights come from.
    public var source: Source

    /// Reads one `--model` argument.
    /// - Throws: `Seq2SeqError.invalidOptions` for an empty name or directory.
    public init(parsing argument: String) throws {
        let name: String?
        let location: String
        if let eq = argument.firstIndex(of: "="), !argument[..<eq].contains("/") {
            name = String(argument[..<eq])
            location = String(argument[argument.index(after: eq)...])
        } else {
            name = nil
            location = argument
        }
        guard !location.isEmpty else {
            throw Seq2SeqError.invalidOptions("--model \(argument): no directory (expected [NAME=]DIR or [NAME=]\(Self.embeddedKeyword))")
        }
        source = location == Self.embeddedKeyword ? .embedded : .directory(location)
        switch (name, source) {
        case let (name?, _): self.name = name
        case (nil, .embedded): self.name = "dates"
        case let (nil, .directory(dir)): self.name = URL(fileURLWithPath: dir).standardizedFileURL.lastPathComponent
        }
        guard !self.name.isEmpty else {
            throw Seq2SeqError.invalidOptions("--model \(argument): an empty model name (expected [NAME=]DIR)")
        }
    }

    /// Loads the model in `computeType` (nil: as stored), reduced families as `Seq2SeqModel(directory:)` takes them.
    public func load(computeType: ComputeType? = nil, otherFamilies: ComputeType? = nil) throws -> Seq2SeqModel {
        switch source {
        case .embedded: try Seq2SeqModel.embeddedDateModel(computeType: computeType, otherFamilies: otherFamilies)
        case let .directory(dir): try Seq2SeqModel(directory: dir, computeType: computeType, otherFamilies: otherFamilies)
        }
    }

    /// The specs of a command line's `--model` arguments: the embedded model alone when there are none.
    /// - Throws: `Seq2SeqError.invalidOptions` for an argument `init(parsing:)` refuses, or two models with one name.
    public static func parse(_ arguments: [String]) throws -> [ModelSpec] {
        let specs = arguments.isEmpty ? [ModelSpec(name: "dates", source: .embedded)] : try arguments.map(ModelSpec.init(parsing:))
        var seen = Set<String>()
        for spec in specs where !seen.insert(spec.name).inserted {
            throw Seq2SeqError.invalidOptions("two models are named \(spec.name): name one with --model NAME=DIR")
        }
        return specs
    }

    /// A spec from its parts.
    public init(name: String, source: Source) {
        self.name = name
        self.source = source
    }
}
