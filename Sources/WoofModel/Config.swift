import Foundation

/// Architecture of a timm `VisionTransformer` (class-token pooling, pre-norm blocks).
public struct ViTConfig: Codable, Equatable, Sendable {
    public var imgSize: Int
    public var patchSize: Int
    public var inChans: Int = 3
    public var embedDim: Int
    public var depth: Int
    public var numHeads: Int
    public var mlpRatio: Double = 4
    public var numClasses: Int
    public var qkvBias: Bool = true
    public var eps: Float = 1e-6

    public init(imgSize: Int, patchSize: Int, inChans: Int = 3, embedDim: Int, depth: Int, numHeads: Int,
                mlpRatio: Double = 4, numClasses: Int, qkvBias: Bool = true, eps: Float = 1e-6) {
        self.imgSize = imgSize; self.patchSize = patchSize; self.inChans = inChans; self.embedDim = embedDim
        self.depth = depth; self.numHeads = numHeads; self.mlpRatio = mlpRatio; self.numClasses = numClasses
        self.qkvBias = qkvBias; self.eps = eps
    }

    /// timm's `vit_tiny_patch16_224`: ViT-Ti/16, dim 192, depth 12, 3 heads.
    public static func vitTiny(numClasses: Int = 1000) -> ViTConfig {
        ViTConfig(imgSize: 224, patchSize: 16, embedDim: 192, depth: 12, numHeads: 3, numClasses: numClasses)
    }

    public var numPatches: Int { (imgSize / patchSize) * (imgSize / patchSize) }
    public var tokens: Int { numPatches + 1 }
    public var mlpHidden: Int { Int(Double(embedDim) * mlpRatio) }

    /// Checks the numbers describe a buildable model.
    public func validate() throws {
        func bad(_ s: String) -> ModelError { ModelError.invalidConfig(s) }
        guard imgSize > 0, patchSize > 0, imgSize % patchSize == 0 else { throw bad("img size \(imgSize) is not a positive multiple of patch size \(patchSize)") }
        guard embedDim > 0, numHeads > 0, embedDim % numHeads == 0 else { throw bad("embed dim \(embedDim) is not divisible by \(numHeads) heads") }
        guard depth > 0, numClasses > 0, inChans > 0, mlpRatio > 0 else { throw bad("depth, classes, channels and mlp ratio must be positive") }
    }
}

/// A dense layer of a transformer block: the one table of the layers LoRA can adapt.
public struct DenseLayer: Sendable {
    /// The short name used by `--lora-targets` and result files: qkv, proj, fc1, fc2.
    public let short: String
    /// timm's module path inside a block (`attn.qkv`).
    public let module: String
    public let inputs: Int
    public let outputs: Int
    /// Parameters of the dense layer (weight and bias).
    public var denseParameters: Int { inputs * outputs + outputs }
    /// Parameters of a rank-r adapter on it: r·(in + out).
    public func loraParameters(rank: Int) -> Int { rank * (inputs + outputs) }
}

extension ViTConfig {
    /// The dense layers of every block, in order.
    public var denseLayers: [DenseLayer] {
        let d = embedDim, hidden = mlpHidden
        return [DenseLayer(short: "qkv", module: "attn.qkv", inputs: d, outputs: 3 * d),
                DenseLayer(short: "proj", module: "attn.proj", inputs: d, outputs: d),
                DenseLayer(short: "fc1", module: "mlp.fc1", inputs: d, outputs: hidden),
                DenseLayer(short: "fc2", module: "mlp.fc2", inputs: hidden, outputs: d)]
    }
}

/// Which dense layers get LoRA adapters, and their rank and scale.
public struct LoRAConfig: Codable, Equatable, Sendable {
    /// The dense layers of a block that can carry adapters (timm names).
    public static let allTargets = ViTConfig.vitTiny().denseLayers.map(\.short)
    /// How result files (bench.csv, runs.csv) spell a target set: the names joined by "+".
    public static func key(_ targets: [String]) -> String { targets.joined(separator: "+") }
    /// The key of all four targets.
    public static let allTargetsKey = key(allTargets)
    public var rank: Int = 8
    public var alpha: Float = 16
    public var targets: [String] = LoRAConfig.allTargets

    public init(rank: Int = 8, alpha: Float = 16, targets: [String] = LoRAConfig.allTargets) {
        self.rank = rank; self.alpha = alpha; self.targets = targets
    }
    /// The multiplier α/r of the low-rank update.
    public var scale: Float { alpha / Float(rank) }

    public func validate() throws {
        guard rank > 0 else { throw ModelError.invalidConfig("LoRA rank must be positive, got \(rank)") }
        guard alpha > 0, alpha.isFinite else { throw ModelError.invalidConfig("LoRA alpha must be positive, got \(alpha)") }
        guard !targets.isEmpty else { throw ModelError.invalidConfig("LoRA needs at least one target") }
        for t in targets where !LoRAConfig.allTargets.contains(t) {
            throw ModelError.invalidConfig("unknown LoRA target '\(t)' (choose from \(LoRAConfig.allTargets.joined(separator: ", ")))")
        }
    }
}

/// What is trained: everything, LoRA adapters plus the head, the head only (a linear
/// probe), or nothing (inference).
public enum TrainMode: Equatable, Sendable {
    case full
    case lora(LoRAConfig)
    case headOnly
    case frozen
}

public enum ModelError: Error, CustomStringConvertible, Equatable {
    case invalidConfig(String)
    case weights(path: String, problems: [String])

    public var description: String {
        switch self {
        case .invalidConfig(let s): return "invalid model configuration: \(s)"
        case .weights(let path, let problems):
            return "\(path): cannot load weights:\n  " + problems.joined(separator: "\n  ")
        }
    }
}
