import Foundation
import WoofCore

/// Writers of the files other tools load: a timm state_dict, its config, and a peft adapter.
public enum Export {
    /// `model.safetensors` (timm names, LoRA merged) and `config.json` in `dir`.
    public static func timmModel(_ model: VisionTransformer, to dir: String, classNames: [String]) throws {
        try SafeTensorsFile.write(model.timmStateDict(), metadata: ["format": "pt"], to: dir + "/model.safetensors")
        let c = model.config
        let config: [String: Any] = [
            "architecture": "vit_tiny_patch16_224",
            "num_classes": c.numClasses,
            "num_features": c.embedDim,
            "global_pool": "token",
            "model_args": ["img_size": c.imgSize, "patch_size": c.patchSize, "embed_dim": c.embedDim,
                           "depth": c.depth, "num_heads": c.numHeads, "mlp_ratio": c.mlpRatio, "num_classes": c.numClasses],
            "pretrained_cfg": [
                "input_size": [c.inChans, c.imgSize, c.imgSize], "interpolation": "bicubic", "crop_pct": 0.9,
                "crop_mode": "center", "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "num_classes": c.numClasses,
            ],
            "label_names": classNames,
        ]
        try writeJSON(config, to: dir + "/config.json")
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
        let config: [String: Any] = [
            "peft_type": "LORA",
            "task_type": NSNull(),
            "base_model_name_or_path": "timm/vit_tiny_patch16_224.augreg_in21k_ft_in1k",
            "r": lora.rank,
            "lora_alpha": Double(lora.alpha),
            "lora_dropout": 0.0,
            // A full-match regex: a plain "proj" would also catch the patch embedding's conv.
            "target_modules": "blocks\\.\\d+\\.(" + modules.joined(separator: "|") + ")",
            "modules_to_save": ["head"],
            "bias": "none",
            "fan_in_fan_out": false,
            "init_lora_weights": true,
            "inference_mode": true,
            "use_rslora": false,
            "use_dora": false,
            "layers_to_transform": NSNull(),
            "layers_pattern": NSNull(),
            "rank_pattern": [String: Any](),
            "alpha_pattern": [String: Any](),
            "revision": NSNull(),
        ]
        try writeJSON(config, to: dir + "/adapter_config.json")
    }

    public static func writeJSON(_ object: Any, to path: String) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        try AtomicFile.write(data + Data("\n".utf8), to: path)
    }

    public static func writeJSON<T: Encodable>(encodable: T, to path: String) throws {
        let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try enc.encode(encodable) + Data("\n".utf8), to: path)
    }
}
