import Foundation
import WoofCore
import WoofModel
import WoofIO

/// Where a run stands: enough to continue it exactly.
public struct TrainState: Codable, Equatable {
    public var step = 0            // optimizer steps taken
    public var epoch = 0           // current epoch (0-based)
    public var batchInEpoch = 0    // batches of `epoch` already taken
    public var lossSum = 0.0       // running sums of the current epoch (all ranks)
    public var correct = 0
    public var seen = 0
    public var epochSeconds = 0.0  // wall time spent in the current epoch so far
    public var commSeconds = 0.0   // of which blocked in the gradient allreduce
    public var trainSeconds = 0.0  // wall time spent training, all epochs
    public var totalCommSeconds = 0.0
    public var skippedImages = 0
    public init() {}

    // Fields added later decode as zero, so older checkpoints still resume.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        step = try c.decodeIfPresent(Int.self, forKey: .step) ?? 0
        epoch = try c.decodeIfPresent(Int.self, forKey: .epoch) ?? 0
        batchInEpoch = try c.decodeIfPresent(Int.self, forKey: .batchInEpoch) ?? 0
        lossSum = try c.decodeIfPresent(Double.self, forKey: .lossSum) ?? 0
        correct = try c.decodeIfPresent(Int.self, forKey: .correct) ?? 0
        seen = try c.decodeIfPresent(Int.self, forKey: .seen) ?? 0
        epochSeconds = try c.decodeIfPresent(Double.self, forKey: .epochSeconds) ?? 0
        commSeconds = try c.decodeIfPresent(Double.self, forKey: .commSeconds) ?? 0
        trainSeconds = try c.decodeIfPresent(Double.self, forKey: .trainSeconds) ?? 0
        totalCommSeconds = try c.decodeIfPresent(Double.self, forKey: .totalCommSeconds) ?? 0
        skippedImages = try c.decodeIfPresent(Int.self, forKey: .skippedImages) ?? 0
    }
}

/// `checkpoint.safetensors`: the trainable parameters, AdamW's moments, and (in the
/// metadata) the optimizer step, the position in the data order and the run's config.
/// Data order and augmentation derive from (seed, epoch, index), so no RNG state is needed.
public enum Checkpoint {
    public static func save(to path: String, model: VisionTransformer, optimizer: AdamW,
                            state: TrainState, config: TrainConfig) throws {
        let p = model.params, n = p.trainableCount
        let tensors: [String: NamedTensor] = [
            "trainable": NamedTensor(shape: [n], data: Array(UnsafeBufferPointer(start: p.values, count: n))),
            "adamw.m": NamedTensor(shape: [n], data: Array(UnsafeBufferPointer(start: optimizer.m, count: n))),
            "adamw.v": NamedTensor(shape: [n], data: Array(UnsafeBufferPointer(start: optimizer.v, count: n))),
        ]
        let meta = [
            "format": "woof-dist checkpoint 1",
            "state": try JSONFile.line(state),
            "config": try JSONFile.line(config),
            "adamw_step": String(optimizer.step),
            "trainable_names": p.trainableNames.joined(separator: ","),
        ]
        try SafeTensorsFile.write(tensors, metadata: meta, to: path)
    }

    /// Loads a checkpoint into `model` and `optimizer`; the trainable layout must match.
    /// `check` sees the checkpoint's settings first, so a refusal can name what differs
    /// before any layout mismatch it causes.
    public static func load(from path: String, model: VisionTransformer, optimizer: AdamW,
                            check: (TrainConfig) throws -> Void = { _ in }) throws -> (TrainState, TrainConfig) {
        let f = try SafeTensorsFile(path: path)
        let p = model.params, n = p.trainableCount
        guard f.metadata["format"] == "woof-dist checkpoint 1",
              let stateJSON = f.metadata["state"], let configJSON = f.metadata["config"],
              let adamStep = f.metadata["adamw_step"].flatMap(Int.init) else {
            throw TrainError.checkpoint("\(path): not a woof-dist checkpoint (metadata missing)")
        }
        let config = try JSONFile.decode(TrainConfig.self, from: Data(configJSON.utf8), path: path, context: "metadata 'config': ")
        try check(config)
        guard f.metadata["trainable_names"] == p.trainableNames.joined(separator: ",") else {
            throw TrainError.checkpoint("\(path): its trainable parameters differ from this model's (different --mode or LoRA settings?)")
        }
        let values = try f.tensor("trainable"), m = try f.tensor("adamw.m"), v = try f.tensor("adamw.v")
        guard values.count == n, m.count == n, v.count == n else {
            throw TrainError.checkpoint("\(path): holds \(values.count) trainable values, the model has \(n) (data with another number of classes?)")
        }
        for (name, t) in [("trainable", values), ("adamw.m", m), ("adamw.v", v)] {
            if let i = t.data.firstIndex(where: { !$0.isFinite }) {
                let param = p.entries.first { $0.trainable && $0.offset <= i && i < $0.offset + $0.count }?.name ?? "?"
                throw TrainError.checkpoint("\(path): non-finite value in '\(name)' at element \(i) (parameter '\(param)'): the checkpoint is damaged; resume from an earlier one or start again")
            }
        }
        let state = try JSONFile.decode(TrainState.self, from: Data(stateJSON.utf8), path: path, context: "metadata 'state': ")
        values.data.withUnsafeBufferPointer { p.values.update(from: $0.baseAddress!, count: n) }
        optimizer.restore(step: adamStep, m: m.data, v: v.data)
        return (state, config)
    }
}
