import XCTest
import WoofTestSupport
import WoofCore
@testable import WoofModel
import WoofIO

/// The tiny ViT config stored in the golden file's metadata.
func tinyConfig(_ f: SafeTensorsFile) throws -> ViTConfig {
    let json = try JSONSerialization.jsonObject(with: Data(f.metadata["config"]!.utf8)) as! [String: Any]
    return ViTConfig(imgSize: json["img_size"] as! Int, patchSize: json["patch_size"] as! Int,
                     embedDim: json["embed_dim"] as! Int, depth: json["depth"] as! Int,
                     numHeads: json["num_heads"] as! Int, mlpRatio: json["mlp_ratio"] as! Double,
                     numClasses: json["num_classes"] as! Int, qkvBias: json["qkv_bias"] as! Bool)
}

/// Parity with PyTorch + timm (tensors in ../shared/golden, made in float64).
final class GoldenTests: XCTestCase {
    static let tolerance = 1e-4
    var report: [String] = []

    func expectClose(_ ours: [Float], _ ref: [Float], _ what: String, tol: Double = GoldenTests.tolerance,
                     file: StaticString = #filePath, line: UInt = #line) -> Double {
        let e = relativeError(ours, ref)
        XCTAssertLessThan(e, tol, "\(what): relative error \(e)", file: file, line: line)
        return e
    }

    func runTiny(mode: TrainMode, adapters: SafeTensorsFile?) throws -> (VisionTransformer, Tape, Tensor, Tensor, [Int: Tensor], SafeTensorsFile) {
        let weights = try SafeTensorsFile(path: sharedPath("golden/tiny_vit.safetensors"))
        let model = try VisionTransformer(config: tinyConfig(weights), mode: mode)
        try model.loadWeights(weights)
        if let adapters { try model.loadAdapters(adapters) }
        let io = try SafeTensorsFile(path: sharedPath(adapters == nil ? "golden/tiny_vit_io.safetensors" : "golden/tiny_vit_lora_io.safetensors"))
        let input = try io.tensor("input")
        let tape = Tape()
        let images = Tensor(input.data, shape: input.shape)
        let (logits, attn) = model.forward(tape, images: images, captureAttention: Set(0..<model.config.depth))
        let labels = try io.tensor("labels").data.map { Int32($0) }
        let loss = tape.crossEntropy(logits, labels: labels)
        model.params.zeroGrads()
        tape.backward(loss)
        return (model, tape, logits, loss, attn, io)
    }

    func testTinyViTForwardBackwardMatchesTimm() throws {
        let (model, _, logits, loss, attn, io) = try runTiny(mode: .full, adapters: nil)
        var worst: [String: Double] = [:]
        worst["logits"] = expectClose(logits.array, try io.tensor("logits").data, "logits")
        worst["loss"] = expectClose(loss.array, try io.tensor("loss").data, "loss")
        var gradWorst = 0.0, gradName = ""
        var checked = 0
        for e in model.params.entries {
            let ref = try io.tensor("grad.\(e.name)").data
            let err = expectClose(model.params[e.name].gradArray!, ref, "grad.\(e.name)")
            if err > gradWorst { gradWorst = err; gradName = e.name }
            checked += 1
        }
        XCTAssertEqual(checked, 32, "every timm parameter has a reference gradient")
        for b in 0..<model.config.depth {
            worst["attn.blocks.\(b)"] = expectClose(attn[b]!.array, try io.tensor("attn.blocks.\(b)").data, "attn.blocks.\(b)")
        }
        print("[parity] tiny_vit:", worst.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.2e", $0.value))" }.joined(separator: ", "),
              "; worst grad \(gradName) \(String(format: "%.2e", gradWorst))")
    }

    func testTinyLoRAMatchesPeft() throws {
        let adapters = try SafeTensorsFile(path: sharedPath("golden/tiny_vit_lora.safetensors"))
        let lora = LoRAConfig(rank: Int(adapters.metadata["rank"]!)!, alpha: Float(adapters.metadata["alpha"]!)!,
                              targets: adapters.metadata["targets"]!.split(separator: ",").map(String.init))
        let (model, _, logits, loss, _, io) = try runTiny(mode: .lora(lora), adapters: adapters)
        _ = expectClose(logits.array, try io.tensor("logits").data, "lora logits")
        _ = expectClose(loss.array, try io.tensor("loss").data, "lora loss")
        var gradWorst = 0.0
        let trainable = model.params.trainableNames
        XCTAssertEqual(Set(trainable), Set(io.names.filter { $0.hasPrefix("grad.") }.map { String($0.dropFirst(5)) }),
                       "exactly the LoRA tensors and the head are trainable")
        for name in trainable {
            gradWorst = max(gradWorst, expectClose(model.params[name].gradArray!, try io.tensor("grad.\(name)").data, "grad.\(name)"))
        }
        // Frozen base weights carry no gradient buffer at all.
        XCTAssertNil(model.params["blocks.0.attn.qkv.weight"].grad)
        // Merging folds (α/r)·BA into W0 and gives the same logits.
        model.mergeAdapters()
        let tape = Tape(); tape.isRecording = false
        let input = try io.tensor("input")
        let merged = model(tape, Tensor(input.data, shape: input.shape))
        let mergeErr = expectClose(merged.array, logits.array, "merged vs unmerged logits", tol: 1e-5)
        print("[parity] tiny_vit_lora: logits \(String(format: "%.2e", relativeError(logits.array, try io.tensor("logits").data))), worst grad \(String(format: "%.2e", gradWorst)), merged-vs-unmerged \(String(format: "%.2e", mergeErr))")
    }

    func testPretrainedViTTinyMatchesTimm() throws {
        let model = try VisionTransformer(config: .vitTiny(numClasses: 1000), mode: .frozen)
        try model.loadWeights(path: sharedPath("weights/vit_tiny_patch16_224.augreg_in21k_ft_in1k.safetensors"))
        XCTAssertEqual(model.parameterCount, 5_717_416)
        let io = try SafeTensorsFile(path: sharedPath("golden/vit_tiny_pretrained_io.safetensors"))
        let input = try io.tensor("input")
        let tape = Tape(); tape.isRecording = false
        let (logits, attn) = model.forward(tape, images: Tensor(input.data, shape: input.shape), captureAttention: [11])
        let ref = try io.tensor("logits").data
        let le = expectClose(logits.array, ref, "pretrained logits")
        let ours = logits.array
        for i in 0..<8 {
            let a = (0..<1000).max { ours[i * 1000 + $0] < ours[i * 1000 + $1] }!
            let b = (0..<1000).max { ref[i * 1000 + $0] < ref[i * 1000 + $1] }!
            XCTAssertEqual(a, b, "image \(i): argmax \(a) vs timm \(b)")
        }
        let ae = expectClose(attn[11]!.array, try io.tensor("attn.blocks.11").data, "attn.blocks.11")
        print("[parity] pretrained vit_tiny: logits \(String(format: "%.2e", le)), attn.blocks.11 \(String(format: "%.2e", ae))")
    }

    /// Inference that keeps nothing reuses each block's activations for the next block: the
    /// same logits, bit for bit, as a pass that keeps them (and so timm's), in a fraction of the memory.
    func testRecycledInferenceMatchesAndHoldsOneBlockAtATime() throws {
        let model = try VisionTransformer(config: .vitTiny(numClasses: 1000), mode: .frozen)
        try model.loadWeights(path: sharedPath("weights/vit_tiny_patch16_224.augreg_in21k_ft_in1k.safetensors"))
        let io = try SafeTensorsFile(path: sharedPath("golden/vit_tiny_pretrained_io.safetensors"))
        let input = try io.tensor("input")
        let keeping = Tape(); keeping.isRecording = false
        let kept = model.forward(keeping, images: Tensor(input.data, shape: input.shape), captureAttention: [11]).logits.array
        let recycling = Tape(); recycling.isRecording = false
        let recycled = model(recycling, Tensor(input.data, shape: input.shape)).array
        XCTAssertEqual(recycled, kept)
        _ = expectClose(recycled, try io.tensor("logits").data, "recycled logits")
        XCTAssertLessThan(Double(recycling.arena.peakBytes), 0.25 * Double(keeping.arena.peakBytes),
                          "peak \(recycling.arena.peakBytes) vs \(keeping.arena.peakBytes) bytes")
        // The tape stays usable: a second pass on the same arena gives the same logits.
        recycling.reset()
        XCTAssertEqual(model(recycling, Tensor(input.data, shape: input.shape)).array, kept)
    }

    func testWrongWeightsAreRejectedByName() throws {
        let model = try VisionTransformer(config: .vitTiny(numClasses: 10), mode: .full)
        XCTAssertThrowsError(try model.loadWeights(path: sharedPath("golden/tiny_vit.safetensors"))) { e in
            let msg = "\(e)"
            XCTAssertTrue(msg.contains("tiny_vit.safetensors"), msg)
            XCTAssertTrue(msg.contains("shape mismatch for 'patch_embed.proj.weight': file has [48, 3, 8, 8], model needs [192, 3, 16, 16]"), msg)
            XCTAssertTrue(msg.contains("missing keys"), msg)
        }
        // A 1000-class file into a 10-class model: the head must be replaced explicitly.
        let real = try SafeTensorsFile(path: sharedPath("weights/vit_tiny_patch16_224.augreg_in21k_ft_in1k.safetensors"))
        XCTAssertThrowsError(try model.loadWeights(real)) { e in XCTAssertTrue("\(e)".contains("head.weight"), "\(e)") }
        let rep = try model.loadWeights(real, replaceHead: true)
        XCTAssertEqual(rep.skippedHead.sorted(), ["head.bias", "head.weight"])
    }

    func testLoRATrainableCountsAndLayout() throws {
        let model = try VisionTransformer(config: .vitTiny(numClasses: 10), mode: .lora(LoRAConfig()))
        // r 8 on qkv, proj, fc1, fc2 of 12 blocks + 10-class head.
        let perBlock = 8 * (192 + 576) + 8 * (192 + 192) + 8 * (192 + 768) + 8 * (768 + 192)
        XCTAssertEqual(model.trainableParameterCount, 12 * perBlock + 10 * 192 + 10)
        let full = try VisionTransformer(config: .vitTiny(numClasses: 10), mode: .full)
        XCTAssertEqual(full.trainableParameterCount, 5_717_416 - 990 * 193)
        XCTAssertThrowsError(try VisionTransformer(config: .vitTiny(), mode: .lora(LoRAConfig(rank: 0))))
        XCTAssertThrowsError(try VisionTransformer(config: .vitTiny(), mode: .lora(LoRAConfig(targets: ["qkv", "attn"]))))
    }
}
