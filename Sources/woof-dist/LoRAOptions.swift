import ArgumentParser
import WoofModel

/// The LoRA adapter options `train` and `bench` share (defaults from `LoRAConfig`).
struct LoRAOptions: ParsableArguments {
    @Option(help: "LoRA rank r.")
    var loraRank: Int = LoRAConfig().rank
    @Option(help: "LoRA alpha (the update is scaled by alpha/r).")
    var loraAlpha: Double = Double(LoRAConfig().alpha)
    @Option(help: "Comma-separated layers that get LoRA adapters, from qkv, proj, fc1, fc2.")
    var loraTargets: String = LoRAConfig.allTargets.joined(separator: ",")

    var targets: [String] { loraTargets.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
    var config: LoRAConfig { LoRAConfig(rank: loraRank, alpha: Float(loraAlpha), targets: targets) }
}
