import Foundation
import WoofCore
import WoofIO

/// What a weight load did: keys copied, and the head left fresh when it was replaced.
public struct LoadReport: CustomStringConvertible {
    public var loaded: [String] = []
    public var skippedHead: [String] = []
    public var description: String {
        "loaded \(loaded.count) tensors" + (skippedHead.isEmpty ? "" : "; kept a fresh head (\(skippedHead.joined(separator: ", ")) not taken)")
    }
}

extension VisionTransformer {
    /// Loads timm state_dict tensors. Every base parameter must be present with its exact
    /// shape and every key in the file must belong to the model; otherwise the error lists
    /// each missing key, unexpected key and shape mismatch by name. With `replaceHead`, the
    /// file's head is skipped (its class count may differ) and the model keeps its own.
    /// LoRA adapters are not expected in the file (see `loadAdapters`).
    @discardableResult
    public func loadWeights(_ file: SafeTensorsFile, replaceHead: Bool = false) throws -> LoadReport {
        var problems: [String] = []
        var report = LoadReport()
        let isHead = { (n: String) in n == "head.weight" || n == "head.bias" }
        for e in params.entries where !e.name.contains("lora_") {
            if replaceHead && isHead(e.name) { continue }
            guard let t = file[e.name] else { problems.append("missing key '\(e.name)' (shape \(e.shape))"); continue }
            guard t.shape == e.shape else {
                problems.append("shape mismatch for '\(e.name)': file has \(t.shape), model needs \(e.shape)"); continue
            }
            if let bad = t.data.firstIndex(where: { !$0.isFinite }) {
                problems.append("non-finite value in '\(e.name)' (\(t.data[bad]) at element \(bad))")
            }
        }
        for name in file.names where !params.contains(name) || name.contains("lora_") {
            if replaceHead && isHead(name) { continue }
            problems.append("unexpected key '\(name)' (shape \(file[name]!.shape))")
        }
        if !problems.isEmpty {
            let count = { (k: String) in problems.filter { $0.hasPrefix(k) }.count }
            let nonFinite = count("non-finite") > 0 ? "\(count("non-finite")) tensors with NaN or infinity, " : ""
            let summary = "\(nonFinite)\(count("shape mismatch")) shape mismatches, \(count("missing")) missing keys, \(count("unexpected")) unexpected keys for a \(config.embedDim)-dim, depth-\(config.depth), \(config.numClasses)-class ViT"
            problems = problems.filter { $0.hasPrefix("non-finite") } + problems.filter { $0.hasPrefix("shape") } + problems.filter { $0.hasPrefix("missing") } + problems.filter { $0.hasPrefix("unexpected") }
            if problems.count > 12 { problems = Array(problems.prefix(12)) + ["… and \(problems.count - 12) more"] }
            problems.insert(summary, at: 0)
            throw ModelError.weights(path: file.path, problems: problems)
        }
        if isMerged { isMerged = false }
        for e in params.entries where !e.name.contains("lora_") {
            if replaceHead && isHead(e.name) { if file[e.name] != nil { report.skippedHead.append(e.name) }; continue }
            params.set(e.name, file[e.name]!.data)
            report.loaded.append(e.name)
        }
        return report
    }

    /// Loads timm weights from a path.
    @discardableResult
    public func loadWeights(path: String, replaceHead: Bool = false) throws -> LoadReport {
        try loadWeights(SafeTensorsFile(path: path), replaceHead: replaceHead)
    }

    /// Loads LoRA A/B tensors (names `blocks.N.attn.qkv.lora_A.weight`, optionally with peft's
    /// `base_model.model.` prefix) and, when present, the head.
    public func loadAdapters(_ file: SafeTensorsFile) throws {
        var problems: [String] = []
        let prefix = "base_model.model."
        var byName: [String: NamedTensor] = [:]
        for n in file.names {
            var key = n.hasPrefix(prefix) ? String(n.dropFirst(prefix.count)) : n
            key = key.replacingOccurrences(of: ".modules_to_save.default", with: "")
            byName[key] = file[n]!
        }
        for e in params.entries where e.name.contains("lora_") {
            guard let t = byName[e.name] else { problems.append("missing adapter '\(e.name)'"); continue }
            if t.shape != e.shape { problems.append("shape mismatch for '\(e.name)': file \(t.shape), model \(e.shape)") }
        }
        for (k, t) in byName where !(k.contains("lora_") && params.contains(k)) && !(k.hasPrefix("head.") && params.contains(k)) {
            problems.append("unexpected key '\(k)' (shape \(t.shape))")
        }
        guard problems.isEmpty else { throw ModelError.weights(path: file.path, problems: problems) }
        for (k, t) in byName {
            if let e = params.entry(k), e.shape == t.shape { params.set(k, t.data) }
        }
    }

    /// The model as a timm state_dict, LoRA folded into copies of the base weights
    /// (`W0 + (α/r)·BA`); the model itself is left untouched, bit for bit.
    public func timmStateDict() -> [String: NamedTensor] {
        var out: [String: NamedTensor] = [:]
        for e in params.entries where !e.name.contains("lora_") {
            out[e.name] = NamedTensor(shape: e.shape, data: params[e.name].array)
        }
        guard !isMerged else { return out }
        for blk in blocks {
            for l in [blk.qkv, blk.proj, blk.fc1, blk.fc2] {
                guard l.loraA != nil else { continue }
                let key = l.name + ".weight"
                var w = out[key]!.data
                w.withUnsafeMutableBufferPointer { l.addLowRankUpdate(into: $0.baseAddress!) }
                out[key] = NamedTensor(shape: l.weight.shape, data: w)
            }
        }
        return out
    }
}
