import Foundation
import WoofCore
import WoofIO

/// Writers of the files other tools load: a timm state_dict, its config, and a peft adapter.
public enum Export {
    /// `model.safetensors` (timm names, LoRA merged) and `config.json` in `dir`.
    public static func timmModel(_ model: VisionTransformer, to dir: String, classNames: [String]) throws {
        try SafeTensorsFile.write(model.timmStateDict(), metadata: ["format": "pt"], to: dir + "/model.safetensors")
        try JSONFile.write(TimmConfig(model.config, classNames: classNames), to: dir + "/config.json")
    }

    /// HF peft's LoRA adapter layout: `adapter_config.json` + `adapter_model.safetensors`
    /// with keys `base_model.model.<module>.lora_A.weight`, and the head (a module to save)
    /// as `base_model.model.head.weight` / `.bias`.
    public static func peftAdapter(_ model: VisionTransformer, lora: LoRAConfig, to dir: String) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var tensors: [String: NamedTensor] = [:]
        for e in model.params.entries where e.name.contains("lora_") || e.name.hasPrefix("head.") {
            tensors["base_model.model." + e.name] = NamedTensor(shape: e.shape, data: model.params[e.name].array)
        }
        try SafeTensorsFile.write(tensors, metadata: ["format": "pt"], to: dir + "/adapter_model.safetensors")
        let layers = model.config.denseLayers
        let modules = lora.targets.compactMap { t in layers.first { $0.short == t } }
            .map { $0.module.replacingOccurrences(of: ".", with: "\\.") }
        try JSONFile.write(PeftAdapterConfig(rank: lora.rank, alpha: Double(lora.alpha), modules: modules), to: dir + "/adapter_config.json")
    }
}

/// timm's `config.json` for a fine-tuned ViT-Ti (what `timm.create_model` reads with the
/// state_dict beside it).
public struct TimmConfig: Encodable, Equatable {
    public var architecture = "vit_tiny_patch16_224"
    public var numClasses: Int
    public var numFeatures: Int
    public var globalPool = "token"
    public var modelArgs: ModelArgs
    public var pretrainedCfg: PretrainedCfg
    /// The classes' WordNet ids, in output order.
    public var labelNames: [String]

    /// The arguments `timm.create_model` builds the network with.
    public struct ModelArgs: Encodable, Equatable {
        public var imgSize: Int, patchSize: Int, embedDim: Int, depth: Int, numHeads: Int
        public var mlpRatio: Double, numClasses: Int
        enum CodingKeys: String, CodingKey {
            case depth, imgSize = "img_size", patchSize = "patch_size", embedDim = "embed_dim", numHeads = "num_heads"
            case mlpRatio = "mlp_ratio", numClasses = "num_classes"
        }
    }

    /// The evaluation transform timm applies (ImageTransform's eval path matches it).
    public struct PretrainedCfg: Encodable, Equatable {
        public var inputSize: [Int]
        public var interpolation = "bicubic"
        public var cropPct = 0.9
        public var cropMode = "center"
        public var mean = [0.5, 0.5, 0.5]
        public var std = [0.5, 0.5, 0.5]
        public var numClasses: Int
        enum CodingKeys: String, CodingKey {
            case interpolation, mean, std, inputSize = "input_size", cropPct = "crop_pct", cropMode = "crop_mode"
            case numClasses = "num_classes"
        }
    }

    enum CodingKeys: String, CodingKey {
        case architecture, numClasses = "num_classes", numFeatures = "num_features", globalPool = "global_pool"
        case modelArgs = "model_args", pretrainedCfg = "pretrained_cfg", labelNames = "label_names"
    }

    /// The config of a model with configuration `c` and output classes `classNames`.
    public init(_ c: ViTConfig, classNames: [String]) {
        numClasses = c.numClasses
        numFeatures = c.embedDim
        modelArgs = ModelArgs(imgSize: c.imgSize, patchSize: c.patchSize, embedDim: c.embedDim, depth: c.depth,
                              numHeads: c.numHeads, mlpRatio: c.mlpRatio, numClasses: c.numClasses)
        pretrainedCfg = PretrainedCfg(inputSize: [c.inChans, c.imgSize, c.imgSize], numClasses: c.numClasses)
        labelNames = classNames
    }
}

/// HF peft's `adapter_config.json` for the LoRA adapter (what `PeftModel.from_pretrained`
/// reads). peft's unset options are written as `null`, as peft writes them.
public struct PeftAdapterConfig: Encodable, Equatable {
    public var rank: Int
    public var alpha: Double
    /// A full-match regex of the adapted modules: a plain "proj" would also catch the patch
    /// embedding's conv.
    public var targetModules: String
    public var baseModel = "timm/vit_tiny_patch16_224.augreg_in21k_ft_in1k"
    public var modulesToSave = ["head"]

    /// `modules`: the adapted modules' names within a block, regex-escaped.
    public init(rank: Int, alpha: Double, modules: [String]) {
        self.rank = rank; self.alpha = alpha
        targetModules = "blocks\\.\\d+\\.(" + modules.joined(separator: "|") + ")"
    }

    enum CodingKeys: String, CodingKey {
        case r, bias, revision
        case peftType = "peft_type", taskType = "task_type", baseModel = "base_model_name_or_path"
        case loraAlpha = "lora_alpha", loraDropout = "lora_dropout", targetModules = "target_modules"
        case modulesToSave = "modules_to_save", fanInFanOut = "fan_in_fan_out", initLoraWeights = "init_lora_weights"
        case inferenceMode = "inference_mode", useRslora = "use_rslora", useDora = "use_dora"
        case layersToTransform = "layers_to_transform", layersPattern = "layers_pattern"
        case rankPattern = "rank_pattern", alphaPattern = "alpha_pattern"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode("LORA", forKey: .peftType)
        try c.encode(baseModel, forKey: .baseModel)
        try c.encode(rank, forKey: .r)
        try c.encode(alpha, forKey: .loraAlpha)
        try c.encode(0.0, forKey: .loraDropout)
        try c.encode(targetModules, forKey: .targetModules)
        try c.encode(modulesToSave, forKey: .modulesToSave)
        try c.encode("none", forKey: .bias)
        for (key, value) in [(CodingKeys.fanInFanOut, false), (.initLoraWeights, true), (.inferenceMode, true),
                             (.useRslora, false), (.useDora, false)] {
            try c.encode(value, forKey: key)
        }
        for key in [CodingKeys.taskType, .layersToTransform, .layersPattern, .revision] { try c.encodeNil(forKey: key) }
        for key in [CodingKeys.rankPattern, .alphaPattern] { try c.encode([String: Int](), forKey: key) }
    }
}
