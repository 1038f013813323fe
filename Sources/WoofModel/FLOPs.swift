/// Multiply-add counts of the ViT, for GFLOP/s figures (2 FLOPs per multiply-add).
public enum FLOPs {
    /// Forward FLOPs per image, split into the patch embedding and the rest.
    public static func forward(_ c: ViTConfig) -> (patchEmbed: Double, rest: Double) {
        let t = Double(c.tokens), d = Double(c.embedDim), h = Double(c.mlpHidden)
        let pe = 2 * Double(c.numPatches) * Double(c.inChans * c.patchSize * c.patchSize) * d
        let perBlock = 2 * t * d * (3 * d) + 2 * 2 * t * t * d + 2 * t * d * d + 2 * 2 * t * d * h
        return (pe, Double(c.depth) * perBlock + 2 * d * Double(c.numClasses))
    }

    /// FLOPs per image of one training step (forward + backward) or of inference.
    /// Full: every gemm runs three times except the patch embedding (no image gradient).
    /// LoRA: no weight gradients for frozen W0 and no gradient at all below the first adapter.
    public static func perImage(_ c: ViTConfig, mode: String) -> Double {
        let (pe, rest) = forward(c)
        switch mode {
        case "full": return 2 * pe + 3 * rest
        case "lora": return pe + 2 * rest
        default: return pe + rest
        }
    }
}
