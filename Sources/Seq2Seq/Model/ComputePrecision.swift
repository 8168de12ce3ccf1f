/// A compute type as the command line and the server spell it: one type (`int8`) or a pair (`int8_float16`,
/// CTranslate2's naming) whose second type runs the weight families the first leaves out.
///
/// `int8` quantizes its default families (the output layer, re-scored, and the bridge) and keeps attention,
/// decoder and encoder weights in float32; `int8_float16` runs those in float16 instead, which keeps the quality
/// gate (docs/MODEL.md, "Compute types") and reads about a third fewer weight bytes per generated token.
public struct ComputePrecision: Sendable, Hashable, LosslessStringConvertible {
    /// The type of the quantized families (`Seq2SeqModel(directory:computeType:families:otherFamilies:)`).
    public var type: ComputeType
    /// The type of every other family: float32, float16 or bfloat16.
    public var otherFamilies: ComputeType

    /// `type` for its families, `otherFamilies` for the rest.
    public init(_ type: ComputeType, otherFamilies: ComputeType = .float32) {
        self.type = type
        self.otherFamilies = otherFamilies
    }

    /// Parses `float32`, `float16`, `bfloat16`, `int8`, or `A_B` with `A` a reduced type and `B` one of
    /// `float32`, `float16`, `bfloat16` other than `A` (`int8_float16`, `int8_bfloat16`, `int8_float32` = `int8`).
    public init?(_ description: String) {
        let parts = description.split(separator: "_", omittingEmptySubsequences: false).map(String.init)
        guard let first = parts.first, let type = ComputeType(rawValue: first), parts.count <= 2 else { return nil }
        if parts.count == 2 {
            guard type != .float32, let other = ComputeType(rawValue: parts[1]), other != .int8, other != type else { return nil }
            self.init(type, otherFamilies: other)
        } else {
            self.init(type)
        }
    }

    /// `int8`, or `int8_float16` when the other families are not float32.
    public var description: String {
        otherFamilies == .float32 ? type.rawValue : "\(type.rawValue)_\(otherFamilies.rawValue)"
    }

    /// Every spelling `init(_:)` accepts, for help texts.
    public static let spellings = "float32, float16, bfloat16, int8, int8_float16, int8_bfloat16"
}
