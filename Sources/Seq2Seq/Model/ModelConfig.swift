/// A model's `config.json` (MODEL.md, format versions 1 and 2), parsed strictly:
/// unknown keys, wrong types and broken `requires` rules are errors that name the key.
///
/// Every key that format 2 adds is optional, and its default is format 1's behaviour.
public struct ModelConfig: Sendable, Equatable {
    /// The recurrent cell, as PyTorch's `nn.RNN` (tanh), `nn.GRU`, `nn.LSTM`.
    public enum Cell: String, Sendable, CaseIterable {
        /// `torch.nn.RNN` with tanh: one gate block.
        case rnnTanh = "rnn_tanh"
        /// `torch.nn.GRU`: gates `r, z, n`.
        case gru
        /// `torch.nn.LSTM`: gates `i, f, g, o`, with a cell state.
        case lstm
        /// Gate blocks stacked in the weights: 1, 3 (r, z, n) or 4 (i, f, g, o).
        public var gates: Int { self == .rnnTanh ? 1 : self == .gru ? 3 : 4 }
    }
    /// How the decoder's initial state is made from the encoder's.
    public enum Bridge: String, Sendable, CaseIterable {
        /// Each decoder layer starts from the same encoder layer's final state.
        case copy
        /// `tanh(bridge.{k} · u + b)` from the encoder summary; LSTM cells start at zero.
        case linearTanh = "linear_tanh"
        /// Every state starts at zero.
        case zeros
        /// Format 2: `act(bridge.{k} · z_k)` with `bridgeInput`, `bridgeActivation` and `bridgeCell`.
        case linear
    }
    /// What the `linear` bridge reads (format 2).
    public enum BridgeInput: String, Sendable, CaseIterable {
        /// `u`, the encoder summary (D).
        case summary
        /// The final hidden state of encoder layer `k` for decoder layer `k` (D).
        case layer
        /// The final hidden states of all encoder layers, stacked (Le·D).
        case stacked
    }
    /// An element-wise function applied after a linear map (format 2).
    public enum Activation: String, Sendable, CaseIterable {
        /// The hyperbolic tangent.
        case tanh
        /// `max(0, v)`.
        case relu
        /// The identity.
        case none
    }
    /// How the `linear` bridge starts LSTM cell states (format 2).
    public enum BridgeCell: String, Sendable, CaseIterable {
        /// Cell states start at zero.
        case zeros
        /// `c_0^k = s_0^k`.
        case hidden
        /// `bridge_cell.{k}` over the same input form built from the encoder's final cell states.
        case linear
    }
    /// The attention mechanism.
    public enum Attention: String, Sendable, CaseIterable {
        /// No attention: the decoder reads a fixed summary of the source.
        case none
        /// Additive attention from the previous decoder state, before the RNN (Bahdanau et al. 2015).
        case bahdanau
        /// Luong's dot-product score `h_t · m_j`.
        case luongDot = "luong_dot"
        /// Luong's general score `h_t · (W m_j + b)`.
        case luongGeneral = "luong_general"
        /// Luong's concat score `v · tanh(W_q h_t + W_k m_j)`.
        case luongConcat = "luong_concat"
        /// Luong's global attention (attention after the RNN, combine layer).
        public var isLuong: Bool { self == .luongDot || self == .luongGeneral || self == .luongConcat }
    }
    /// What the decoder RNN reads beside the target embedding (format 2's `decoder_input_feed`).
    public enum InputFeed: String, Sendable, CaseIterable {
        /// `c_t`, attention computed before the RNN from `s_{t−1}` (format 1 `bahdanau`).
        case context
        /// `o_{t−1}`, the previous output state, zeros at `t = 1` (format 1 Luong input feeding).
        case previousOutput = "previous_output"
        /// `u`, the encoder summary, at every step (format 1 `none`).
        case summary
        /// Nothing (`"none"`): the RNN reads `e_t` alone. Named apart from `Optional.none`, so that
        /// `decoderInputFeed = .embeddingOnly` cannot be mistaken for "the attention's default".
        case embeddingOnly = "none"

        /// Format 1's choice for an attention.
        public static func defaultFor(_ attention: Attention) -> InputFeed {
            attention == .bahdanau ? .context : attention == .none ? .summary : .previousOutput
        }
    }
    /// How text becomes tokens.
    public enum Tokenizer: String, Sendable, CaseIterable {
        /// Runs of Unicode white space separate tokens; output tokens are joined by one space.
        case whitespace
        /// One Unicode scalar a token (a space is a token); output tokens are concatenated.
        case characters
    }
    /// Ids of the special tokens. `bos` and `eos` are required; format 2 lets `pad` and `unk` be absent and
    /// `bos` equal `eos`.
    public struct SpecialTokens: Sendable, Equatable {
        /// Padding (absent in some format-2 models).
        public var pad: Int?
        /// The decoder's first input `y_0`.
        public var bos: Int
        /// End of sentence: the search stops after emitting it.
        public var eos: Int
        /// What unknown tokens map to (absent: an unknown token is an error).
        public var unk: Int?
        /// Special token ids, format 1's defaults unless given.
        public init(pad: Int? = 0, bos: Int = 1, eos: Int = 2, unk: Int? = 3) {
            self.pad = pad; self.bos = bos; self.eos = eos; self.unk = unk
        }
    }
    /// Decoding options a model directory asks for when the caller gives none (format 2).
    public struct DecodingDefaults: Sendable, Equatable {
        /// The beam size when the caller gives none.
        public var beamSize: Int?
        /// The minimum length when the caller gives none.
        public var minLength: Int?
        /// Defaults for the options given; nil leaves the engine's own.
        public init(beamSize: Int? = nil, minLength: Int? = nil) {
            self.beamSize = beamSize; self.minLength = minLength
        }
    }

    /// 1 or 2. Format 2 keys are accepted only with `formatVersion == 2`.
    public var formatVersion: Int
    /// The recurrent cell of the encoder and the decoder.
    public var cell: Cell
    /// `Vs`: source ids are `0 ..< sourceVocabSize`.
    public var sourceVocabSize: Int
    /// `Vt`: target ids are `0 ..< targetVocabSize`.
    public var targetVocabSize: Int
    /// `E`: the size of source and target embeddings.
    public var embeddingSize: Int
    /// `H`, the decoder's hidden size (and the encoder's per direction unless `encoderHiddenSize` is set).
    public var hiddenSize: Int
    /// `He`, the encoder's hidden size per direction (format 2); nil means `hiddenSize`.
    public var encoderHiddenSize: Int?
    /// `Le`: stacked encoder layers.
    public var encoderLayers: Int
    /// `Ld`: stacked decoder layers.
    public var decoderLayers: Int
    /// Whether each encoder layer also runs backward, its output being `[forward; backward]`.
    public var bidirectionalEncoder: Bool
    /// How the decoder's initial state is made.
    public var bridge: Bridge
    /// The `linear` bridge's input form (format 2; default `summary`).
    public var bridgeInput: BridgeInput
    /// The `linear` bridge's activation (format 2; default `tanh`).
    public var bridgeActivation: Activation
    /// The `linear` bridge's LSTM cell states (format 2; default `zeros`).
    public var bridgeCell: BridgeCell
    /// The attention mechanism.
    public var attention: Attention
    /// Used by `bahdanau` and `luong_concat` only.
    public var attentionSize: Int?
    /// What the decoder RNN reads beside `e_t` (format 2); nil means the attention's format-1 choice.
    public var decoderInputFeed: InputFeed?
    /// The Luong combine layer's activation (format 2; default `tanh`).
    public var combineActivation: Activation
    /// Applied to the target embedding `e_t` (format 2; default `none`).
    public var decoderEmbeddingActivation: Activation
    /// `O`: the size of `decoder.output_projection`, applied to `o_t` before `decoder.output` (format 2).
    public var outputProjectionSize: Int?
    /// Whether the output layer's weight is the target embedding table.
    public var tieTargetEmbeddings: Bool
    /// Append `eos` to every source (format 2).
    public var sourceAppendEOS: Bool
    /// Target ids never chosen by the search (format 2); their log-probabilities stay the model's own.
    public var suppressIDs: [Int]
    /// Target ids left out when output ids are turned into text (format 2).
    public var detokenizeSkipIDs: [Int]
    /// Format 1's tokenizer, used by each side that has no tokenizer of its own.
    public var tokenizer: Tokenizer
    /// The source side's own tokenizer (format 2's `source_tokenizer`); nil means `tokenizer`.
    public var sourceTokenizer: TokenizerConfig?
    /// The target side's own tokenizer (format 2's `target_tokenizer`); nil means `tokenizer`.
    public var targetTokenizer: TokenizerConfig?
    /// Ids of the special tokens.
    public var specialTokens: SpecialTokens
    /// Decoding options used when the caller does not set them (format 2).
    public var decodingDefaults: DecodingDefaults
    /// How the weights are stored when the model is a stored quantized one (`seq2seq quantize`); nil for a
    /// float model. Any format version may carry it (docs/MODEL.md, "Stored quantized models").
    public var quantization: StoredQuantization?

    /// A configuration; call `validate()` to check MODEL.md's rules. The format is 1 unless a format-2
    /// parameter differs from its default.
    public init(cell: Cell, sourceVocabSize: Int, targetVocabSize: Int, embeddingSize: Int, hiddenSize: Int,
                encoderLayers: Int = 1, decoderLayers: Int = 1, bidirectionalEncoder: Bool = false,
                bridge: Bridge = .copy, attention: Attention = .bahdanau, attentionSize: Int? = nil,
                tieTargetEmbeddings: Bool = false, tokenizer: Tokenizer = .whitespace,
                specialTokens: SpecialTokens = SpecialTokens(),
                encoderHiddenSize: Int? = nil, bridgeInput: BridgeInput = .summary,
                bridgeActivation: Activation = .tanh, bridgeCell: BridgeCell = .zeros,
                decoderInputFeed: InputFeed? = nil, combineActivation: Activation = .tanh,
                decoderEmbeddingActivation: Activation = .none, outputProjectionSize: Int? = nil,
                sourceAppendEOS: Bool = false, suppressIDs: [Int] = [], detokenizeSkipIDs: [Int] = [],
                decodingDefaults: DecodingDefaults = DecodingDefaults(),
                sourceTokenizer: TokenizerConfig? = nil, targetTokenizer: TokenizerConfig? = nil) {
        self.formatVersion = 1
        self.cell = cell
        self.sourceVocabSize = sourceVocabSize
        self.targetVocabSize = targetVocabSize
        self.embeddingSize = embeddingSize
        self.hiddenSize = hiddenSize
        self.encoderHiddenSize = encoderHiddenSize
        self.encoderLayers = encoderLayers
        self.decoderLayers = decoderLayers
        self.bidirectionalEncoder = bidirectionalEncoder
        self.bridge = bridge
        self.bridgeInput = bridgeInput
        self.bridgeActivation = bridgeActivation
        self.bridgeCell = bridgeCell
        self.attention = attention
        self.attentionSize = attentionSize
        self.decoderInputFeed = decoderInputFeed
        self.combineActivation = combineActivation
        self.decoderEmbeddingActivation = decoderEmbeddingActivation
        self.outputProjectionSize = outputProjectionSize
        self.tieTargetEmbeddings = tieTargetEmbeddings
        self.sourceAppendEOS = sourceAppendEOS
        self.suppressIDs = suppressIDs
        self.detokenizeSkipIDs = detokenizeSkipIDs
        self.tokenizer = tokenizer
        self.specialTokens = specialTokens
        self.decodingDefaults = decodingDefaults
        self.sourceTokenizer = sourceTokenizer
        self.targetTokenizer = targetTokenizer
        if usesFormat2 { formatVersion = 2 }
    }

    /// Whether any format-2 parameter differs from its default (or pad/unk are absent, or bos = eos).
    public var usesFormat2: Bool { !format2Uses.isEmpty }

    /// `He`: the encoder's hidden size per direction.
    public var encoderHidden: Int { encoderHiddenSize ?? hiddenSize }

    /// `D`: the encoder's output size, `He` or `2·He` when bidirectional.
    public var encoderOutputSize: Int { bidirectionalEncoder ? 2 * encoderHidden : encoderHidden }

    /// The decoder's input feed, with format 1's default made explicit.
    public var inputFeed: InputFeed { decoderInputFeed ?? InputFeed.defaultFor(attention) }

    /// The size of the fed vector `f_t`: `D` (context, summary), `H` (previous output) or 0.
    public var inputFeedSize: Int {
        switch inputFeed {
        case .context, .summary: return encoderOutputSize
        case .previousOutput: return hiddenSize
        case .embeddingOnly: return 0
        }
    }

    /// `I`: the decoder's first-layer input size, `E` plus the input feed's size.
    public var decoderInputSize: Int { embeddingSize + inputFeedSize }

    /// The size of the vector `decoder.output` reads: `O` with an output projection, else `H`.
    public var outputInputSize: Int { outputProjectionSize ?? hiddenSize }

    /// The `linear` bridge's input size for one decoder layer: `D`, or `Le·D` for `stacked`.
    public var bridgeInputSize: Int { bridgeInput == .stacked ? encoderLayers * encoderOutputSize : encoderOutputSize }
}
