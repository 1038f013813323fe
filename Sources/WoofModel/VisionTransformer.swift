import Foundation
import WoofCore

/// timm's `VisionTransformer` (class token, pre-norm blocks, final norm, linear head) with
/// timm's state_dict names, on the project's autograd engine.
///
/// All parameters live in one `ParameterStore`; which of them are trainable follows
/// `mode`. LoRA adapters are named as peft names them without its prefix
/// (`blocks.N.attn.qkv.lora_A.weight`).
public final class VisionTransformer {
    public let config: ViTConfig
    public let mode: TrainMode
    public let params: ParameterStore
    /// True once LoRA adapters have been folded into the base weights.
    public internal(set) var isMerged = false

    struct Block {
        let norm1w, norm1b, norm2w, norm2b: Tensor
        let qkv, proj, fc1, fc2: Linear
    }
    let blocks: [Block]
    let head: Linear

    /// Builds the model with freshly initialised parameters (timm's scheme: trunc-normal
    /// σ .02 for weights, zero biases, unit LayerNorm scales; LoRA A Kaiming-uniform, B zero).
    public init(config: ViTConfig, mode: TrainMode = .full, seed: UInt64 = 0) throws {
        try config.validate()
        if case .lora(let l) = mode { try l.validate() }
        self.config = config
        self.mode = mode
        let d = config.embedDim
        let baseTrainable = mode == .full
        let lora: LoRAConfig? = { if case .lora(let l) = mode { return l } else { return nil } }()
        var specs: [ParameterStore.Spec] = []
        func add(_ name: String, _ shape: [Int], trainable: Bool = baseTrainable) {
            specs.append(.init(name, shape, trainable: trainable))
        }
        add("cls_token", [1, 1, d])
        add("pos_embed", [1, config.tokens, d])
        add("patch_embed.proj.weight", [d, config.inChans, config.patchSize, config.patchSize])
        add("patch_embed.proj.bias", [d])
        for i in 0..<config.depth {
            add("blocks.\(i).norm1.weight", [d]); add("blocks.\(i).norm1.bias", [d])
            add("blocks.\(i).norm2.weight", [d]); add("blocks.\(i).norm2.bias", [d])
            for layer in config.denseLayers {
                let name = "blocks.\(i).\(layer.module)", out = layer.outputs, inp = layer.inputs
                add("\(name).weight", [out, inp])
                if layer.short != "qkv" || config.qkvBias { add("\(name).bias", [out]) }
                if let lora, lora.targets.contains(layer.short) {
                    add("\(name).lora_A.weight", [lora.rank, inp], trainable: true)
                    add("\(name).lora_B.weight", [out, lora.rank], trainable: true)
                }
            }
        }
        add("norm.weight", [d]); add("norm.bias", [d])
        // The head is trainable in every training mode.
        add("head.weight", [config.numClasses, d], trainable: mode != .frozen)
        add("head.bias", [config.numClasses], trainable: mode != .frozen)
        let store = ParameterStore(specs)
        params = store

        func linear(_ name: String) -> Linear {
            let hasA = store.contains("\(name).lora_A.weight")
            return Linear(name: name, weight: store["\(name).weight"],
                          bias: store.contains("\(name).bias") ? store["\(name).bias"] : nil,
                          loraA: hasA ? store["\(name).lora_A.weight"] : nil,
                          loraB: hasA ? store["\(name).lora_B.weight"] : nil,
                          scale: lora?.scale ?? 1)
        }
        blocks = (0..<config.depth).map { i in
            Block(norm1w: store["blocks.\(i).norm1.weight"], norm1b: store["blocks.\(i).norm1.bias"],
                  norm2w: store["blocks.\(i).norm2.weight"], norm2b: store["blocks.\(i).norm2.bias"],
                  qkv: linear("blocks.\(i).attn.qkv"), proj: linear("blocks.\(i).attn.proj"),
                  fc1: linear("blocks.\(i).mlp.fc1"), fc2: linear("blocks.\(i).mlp.fc2"))
        }
        head = linear("head")
        initialize(seed: seed)
    }

    /// Re-initialises every parameter from `seed`.
    public func initialize(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        for e in params.entries {
            let t = params[e.name]
            if e.name.hasSuffix("lora_B.weight") || (e.name.hasSuffix(".bias")) {
                t.data.update(repeating: 0, count: t.count)
            } else if e.name.hasSuffix("lora_A.weight") {
                // kaiming_uniform_(a=√5) as in peft/loralib: bound = 1/√fan_in.
                let bound = 1 / Float(e.shape[1]).squareRoot()
                for i in 0..<t.count { t.data[i] = rng.uniformFloat(-bound, bound) }
            } else if e.name.contains("norm") {
                t.data.update(repeating: 1, count: t.count)
            } else {
                for i in 0..<t.count { t.data[i] = rng.truncatedNormal(std: 0.02) }
            }
        }
    }

    /// Gives the head fresh weights (trunc-normal σ .02, zero bias) from `seed`.
    public func reinitializeHead(seed: UInt64) {
        var rng = SplitMix64(seed: seed, stream: 0x4EAD)
        let w = params["head.weight"], b = params["head.bias"]
        for i in 0..<w.count { w.data[i] = rng.truncatedNormal(std: 0.02) }
        b.data.update(repeating: 0, count: b.count)
    }

    /// What a forward pass computed besides the logits (arena tensors: valid until the tape
    /// is reset).
    public struct Trace {
        public var logits: Tensor
        /// Attention probabilities [B, heads, T, T] by block index.
        public var attention: [Int: Tensor] = [:]
        /// The residual stream [B, T, D] entering each requested block.
        public var blockInputs: [Int: Tensor] = [:]
    }

    /// The forward pass; `images` is [B, C, H, W] (normalised). Returns logits [B, classes].
    /// Attention probabilities [B, heads, T, T] of the blocks in `captureAttention` are
    /// returned by block index (arena tensors: valid until the tape is reset).
    public func forward(_ tape: Tape, images: Tensor, captureAttention: Set<Int> = []) -> (logits: Tensor, attention: [Int: Tensor]) {
        let t = trace(tape, images: images, attention: captureAttention)
        return (t.logits, t.attention)
    }

    /// The forward pass, keeping the attention of the blocks in `attention` and the tokens
    /// entering the blocks in `blockInputs`.
    public func trace(_ tape: Tape, images: Tensor, attention: Set<Int> = [], blockInputs: Set<Int> = []) -> Trace {
        let c = config
        precondition(images.shape.count == 4 && images.shape[1] == c.inChans && images.shape[2] == c.imgSize && images.shape[3] == c.imgSize,
                     "images \(images.shape) do not match the model's input [B, \(c.inChans), \(c.imgSize), \(c.imgSize)]")
        var x = tape.patchEmbed(images, params["patch_embed.proj.weight"], params["patch_embed.proj.bias"], patch: c.patchSize)
        x = tape.embedTokens(x, cls: params["cls_token"], pos: params["pos_embed"])
        var kept: [Int: Tensor] = [:], inputs: [Int: Tensor] = [:]
        // Not recording and keeping nothing, a block's activations are dead once the next block
        // has its input: each block's output goes back into one carried tensor and the arena
        // rewinds, so inference holds one block's activations instead of all twelve.
        let recycle = !tape.isRecording && attention.isEmpty && blockInputs.isEmpty && tape.attentionProbe == nil
        let carry = x
        for (i, blk) in blocks.enumerated() {
            let mark = tape.arena.mark()
            if blockInputs.contains(i) { inputs[i] = x }
            var h = tape.layerNorm(x, blk.norm1w, blk.norm1b, eps: c.eps)
            h = blk.qkv(tape, h, merged: isMerged)
            // Attention probabilities are kept only when asked for (else recomputed in the
            // backward); the residual adds and fc2's GELU are fused into proj's and fc2's gemms.
            let (a, probs) = tape.attention(h, heads: c.numHeads, keepProbabilities: attention.contains(i))
            if attention.contains(i) { kept[i] = probs }
            x = blk.proj(tape, a, merged: isMerged, fusion: LinearFusion(residual: x))
            h = tape.layerNorm(x, blk.norm2w, blk.norm2b, eps: c.eps)
            h = blk.fc1(tape, h, merged: isMerged)
            x = blk.fc2(tape, h, merged: isMerged, fusion: LinearFusion(geluInput: true, residual: x))
            if recycle {
                carry.data.update(from: x.data, count: x.count)
                tape.arena.rewind(to: mark)
                x = carry
            }
        }
        // LayerNorm acts per token, so normalising only the class token gives timm's logits.
        let cls = tape.selectToken(x, index: 0)
        let pooled = tape.layerNorm(cls, params["norm.weight"], params["norm.bias"], eps: c.eps)
        return Trace(logits: head(tape, pooled), attention: kept, blockInputs: inputs)
    }

    /// Logits only.
    public func callAsFunction(_ tape: Tape, _ images: Tensor) -> Tensor { forward(tape, images: images).logits }

    // MARK: LoRA merge

    /// Folds every adapter into its base weight (`W0 += (α/r)·BA`), as peft's merge does.
    public func mergeAdapters() {
        guard !isMerged else { return }
        for blk in blocks { for l in [blk.qkv, blk.proj, blk.fc1, blk.fc2] { l.foldAdapter(sign: 1) } }
        isMerged = true
    }

    /// Undoes `mergeAdapters()` (training can continue).
    public func unmergeAdapters() {
        guard isMerged else { return }
        for blk in blocks { for l in [blk.qkv, blk.proj, blk.fc1, blk.fc2] { l.foldAdapter(sign: -1) } }
        isMerged = false
    }

    public var trainableParameterCount: Int { params.trainableCount }
    public var parameterCount: Int { params.count }
}
