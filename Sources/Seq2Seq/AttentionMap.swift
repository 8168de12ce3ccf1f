/// An attention alignment ready to draw: one row per generated token (the `eos` step included), one
/// column per source token, each row summing to one.
public struct AttentionMap: Sendable, Equatable {
    /// Labels of the source tokens (columns).
    public var sourceLabels: [String]
    /// Labels of the generated tokens (rows).
    public var targetLabels: [String]
    /// `weights[row][column]`.
    public var weights: [[Float]]

    /// A map from labels and weights; rows and columns must match the labels.
    public init(sourceLabels: [String], targetLabels: [String], weights: [[Float]]) {
        self.sourceLabels = sourceLabels
        self.targetLabels = targetLabels
        self.weights = weights
    }

    /// The map of a hypothesis: source labels from the model's source vocabulary (ids when it has none),
    /// target labels from its tokens plus `</s>` for the eos step. `source` is the source as given to the
    /// translator; with `source_append_eos` the appended `eos` is a column too (the attention rows span it).
    /// Nil when the hypothesis has no attention or its rows do not match the source.
    public init?(model: Seq2SeqModel, source: [Int], hypothesis h: Hypothesis) {
        guard let rows = h.attention, !rows.isEmpty else { return nil }
        let encoded = model.encoderInputs([source])[0]
        guard rows.allSatisfy({ $0.count == encoded.count }) else { return nil }
        let src = encoded.map { id in model.sourceVocabulary?.token(for: id) ?? String(id) }
        var tgt = (model.targetTokens(for: h.ids) ?? h.ids.map(String.init))
        if rows.count > tgt.count { tgt.append("</s>") }
        self.init(sourceLabels: src.map(Self.visible), targetLabels: tgt.map(Self.visible), weights: rows)
    }

    /// A label with white space made visible (a space is `␣`).
    static func visible(_ s: String) -> String {
        s.isEmpty ? "∅" : String(s.unicodeScalars.map { $0 == " " ? "␣" : $0.properties.isWhitespace ? "·" : Character($0) })
    }

    /// A text heat map for a terminal: generated tokens down, source tokens across, darker = more weight
    /// (shades ` ░▒▓█` for weights in fifths of the row's range [0, 1]).
    public func terminal() -> String {
        let shades: [Character] = [" ", "░", "▒", "▓", "█"]
        let labelWidth = max(targetLabels.map(\.count).max() ?? 1, 1)
        let cell = max(2, sourceLabels.map(\.count).max() ?? 1)
        func pad(_ s: String, _ w: Int) -> String { s + String(repeating: " ", count: max(0, w - s.count)) }
        var out = String(repeating: " ", count: labelWidth + 1) + "│"
        for s in sourceLabels { out += pad(s, cell) + " " }
        out += "\n" + String(repeating: "─", count: labelWidth + 1) + "┼" + String(repeating: "─", count: (cell + 1) * sourceLabels.count) + "\n"
        for (label, row) in zip(targetLabels, weights) {
            out += pad(label, labelWidth) + " │"
            for w in row {
                let level = min(4, max(0, Int((w * 5).rounded(.down))))
                out += String(repeating: shades[level], count: cell) + " "
            }
            out += "\n"
        }
        return out
    }

    /// A standalone SVG heat map with labelled axes (plain SVG text, no scripts or external resources).
    public func svg(title: String = "") -> String {
        let cell = 22.0
        let labelChars = Double(max(targetLabels.map(\.count).max() ?? 1, 4))
        let left = 16 + labelChars * 8, top = 64.0 + (title.isEmpty ? 0 : 22)
        let width = left + cell * Double(sourceLabels.count) + 24
        let height = top + cell * Double(targetLabels.count) + 40
        func esc(_ s: String) -> String {
            s.replacingAll("&", "&amp;").replacingAll("<", "&lt;").replacingAll(">", "&gt;").replacingAll("\"", "&quot;")
        }
        func num(_ x: Double) -> String { String(Int(x.rounded())) }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(num(width))\" height=\"\(num(height))\" font-family=\"monospace\" font-size=\"13\">\n"
        svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        if !title.isEmpty { svg += "<text x=\"8\" y=\"20\" font-size=\"15\">\(esc(title))</text>\n" }
        svg += "<text x=\"\(num(left))\" y=\"\(num(top - 44))\" fill=\"#555\">source →</text>\n"
        svg += "<text x=\"8\" y=\"\(num(top + cell * Double(targetLabels.count) + 24))\" fill=\"#555\">↑ output</text>\n"
        for (j, s) in sourceLabels.enumerated() {
            let x = left + cell * (Double(j) + 0.5)
            svg += "<text x=\"\(num(x))\" y=\"\(num(top - 8))\" text-anchor=\"middle\">\(esc(s))</text>\n"
        }
        for (i, (label, row)) in zip(targetLabels, weights).enumerated() {
            let y = top + cell * Double(i)
            svg += "<text x=\"\(num(left - 6))\" y=\"\(num(y + cell * 0.7))\" text-anchor=\"end\">\(esc(label))</text>\n"
            for (j, w) in row.enumerated() {
                let v = Double(min(max(w, 0), 1))
                let shade = Int((255 * (1 - v)).rounded())
                let color = "rgb(\(shade),\(Int((255 - 0.6 * (255 - Double(shade))).rounded())),255)"
                svg += "<rect x=\"\(num(left + cell * Double(j)))\" y=\"\(num(y))\" width=\"\(num(cell))\" height=\"\(num(cell))\" fill=\"\(color)\" stroke=\"#eee\"><title>\(esc(label)) ← \(esc(sourceLabels[j])): \(String(format3(v)))</title></rect>\n"
            }
        }
        svg += "</svg>\n"
        return svg
    }
}

private func format3(_ v: Double) -> String {
    let r = (v * 1000).rounded() / 1000
    return "\(r)"
}

extension String {
    fileprivate func replacingAll(_ a: String, _ b: String) -> String {
        var out = ""
        var rest = Substring(self)
        while let r = rest.range(of: a) {
            out += rest[..<r.lowerBound] + b
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}

extension Substring {
    fileprivate func range(of s: String) -> Range<Substring.Index>? {
        guard !s.isEmpty else { return nil }
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(s) { return i..<index(i, offsetBy: s.count) }
            i = index(after: i)
        }
        return nil
    }
}
