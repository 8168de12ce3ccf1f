import Seq2Seq

/// The JSON the `seq2seq` command line and `seq2seq-server` write: values encoded one by one (numbers as Swift
/// prints them, the shortest decimal that reads back exactly; non-finite numbers as `null`), and a
/// hypothesis's JSONL fields, so both speak the same format.
public enum JSONOutput {
    /// A JSON string literal.
    public static func string(_ s: String) -> String { JSONValue.literal(s) }
    /// A number, or `null` when not finite.
    public static func number(_ x: Double) -> String { x.isFinite ? "\(x)" : "null" }
    /// A number, or `null` when not finite.
    public static func number(_ x: Float) -> String { x.isFinite ? "\(x)" : "null" }
    /// `[1,2,3]`.
    public static func ints(_ a: [Int]) -> String { "[" + a.map(String.init).joined(separator: ",") + "]" }
    /// `[0.5,-1.25]`.
    public static func floats(_ a: [Float]) -> String { "[" + a.map { number($0) }.joined(separator: ",") + "]" }
    /// `[0.5,-1.25]`.
    public static func doubles(_ a: [Double]) -> String { "[" + a.map { number($0) }.joined(separator: ",") + "]" }
    /// `["a","b"]`.
    public static func strings(_ a: [String]) -> String { "[" + a.map(string).joined(separator: ",") + "]" }
    /// `{"k": v, ...}` from already-encoded values, in order.
    public static func object(_ members: [(String, String)]) -> String {
        "{" + members.map { "\(string($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
    }

    /// A hypothesis's JSONL fields, in order: `ids`, `tokens` (when known), `text` (when given), `log_prob`,
    /// `score`, `token_log_probs` (with `scores`) and `attention` (with `attention`: one row of source weights
    /// per generated token, or `null` when the hypothesis has none).
    public static func hypothesis(_ h: Hypothesis, text: String? = nil, attention: Bool, scores: Bool) -> [(String, String)] {
        var m: [(String, String)] = [("ids", ints(h.ids))]
        if let tokens = h.tokens { m.append(("tokens", strings(tokens))) }
        if let text { m.append(("text", string(text))) }
        m.append(("log_prob", number(h.logProb)))
        m.append(("score", number(h.score)))
        if scores { m.append(("token_log_probs", floats(h.tokenLogProbs))) }
        if attention {
            m.append(("attention", h.attention.map { "[" + $0.map(floats).joined(separator: ",") + "]" } ?? "null"))
        }
        return m
    }
}
