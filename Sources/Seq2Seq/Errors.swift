/// Everything a user can get wrong, as a thrown error with a message that names the problem.
///
/// The engine never traps on user input: a broken model directory, a bad
/// option or a bad token id all arrive here.
public enum Seq2SeqError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The model directory, its config, its tensors or its vocabularies are not what MODEL.md requires.
    case invalidModel(String)
    /// A request (source ids, target ids, text) cannot be processed.
    case invalidInput(String)
    /// Decoding options are out of range.
    case invalidOptions(String)

    /// The message alone, without the category.
    public var message: String {
        switch self {
        case .invalidModel(let m), .invalidInput(let m), .invalidOptions(let m): return m
        }
    }

    public var description: String {
        switch self {
        case .invalidModel(let m): return "invalid model: \(m)"
        case .invalidInput(let m): return "invalid input: \(m)"
        case .invalidOptions(let m): return "invalid options: \(m)"
        }
    }
}
