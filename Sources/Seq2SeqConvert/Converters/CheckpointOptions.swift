import Seq2Seq

/// A toolkit's saved options (an `argparse.Namespace`, a dict from YAML or OmegaConf) read by key, with the
/// toolkit's defaults where a key is absent. Errors name the key and the file.
struct CheckpointOptions {
    let value: PickleValue
    let origin: String

    /// Whether the options hold `key` with a value other than None.
    func has(_ key: String) -> Bool { value[key].map { !$0.isNone } ?? false }

    func string(_ key: String, default d: String? = nil) throws -> String {
        switch value[key] {
        case .string(let s)?: return s
        case nil, .none?:
            if let d { return d }
            throw Seq2SeqError.invalidModel("\(origin): option \(key) is missing")
        case let v?: throw Seq2SeqError.invalidModel("\(origin): option \(key) is \(v.kindName), expected a string")
        }
    }

    func int(_ key: String, default d: Int? = nil) throws -> Int {
        switch value[key] {
        case .int(let i)?: return i
        case .bool(let b)?: return b ? 1 : 0
        case .string(let s)? where Int(s) != nil: return Int(s)!
        case nil, .none?:
            if let d { return d }
            throw Seq2SeqError.invalidModel("\(origin): option \(key) is missing")
        case let v?: throw Seq2SeqError.invalidModel("\(origin): option \(key) is \(v.kindName), expected an integer")
        }
    }

    /// A boolean option; integers 0/1 and the strings "true"/"false"/"1"/"0" (as argparse leaves them) count.
    func bool(_ key: String, default d: Bool = false) throws -> Bool {
        switch value[key] {
        case .bool(let b)?: return b
        case .int(let i)?: return i != 0
        case .string(let s)?:
            switch s.lowercased() {
            case "true", "1", "yes": return true
            case "false", "0", "no", "": return false
            default: throw Seq2SeqError.invalidModel("\(origin): option \(key) is \"\(s)\", expected a boolean")
            }
        case nil, .none?: return d
        case let v?: throw Seq2SeqError.invalidModel("\(origin): option \(key) is \(v.kindName), expected a boolean")
        }
    }

    func double(_ key: String, default d: Double) throws -> Double {
        switch value[key] {
        case nil, .none?: return d
        case let v?:
            guard let x = v.double else {
                throw Seq2SeqError.invalidModel("\(origin): option \(key) is \(v.kindName), expected a number")
            }
            return x
        }
    }

    /// The sub-options under `key` (a nested dict or namespace), or empty options when absent.
    func section(_ key: String) -> CheckpointOptions {
        CheckpointOptions(value: value[key] ?? .dict([]), origin: origin)
    }
}

/// Throws the converter's refusal for a feature the format cannot represent, naming the toolkit option.
func unsupported(_ origin: String, _ option: String, _ why: String) -> Seq2SeqError {
    .invalidModel("\(origin): \(option) is not supported: \(why)")
}
