import Foundation
import WoofCore
import WoofModel
import WoofDist

/// One gradient computation: (parameters, batch) → the flat gradient buffer of the
/// trainable parameters (`model.params.grads`), summed over the batch and divided by
/// `normalizer` (the global batch size under data parallelism). Returns the mean loss of
/// this batch.
public struct GradientStep {
    public let model: VisionTransformer
    public let tape: Tape
    public var labelSmoothing: Float = 0
    /// Data parallelism: gradients are handed to it as they become final during the
    /// backward pass; the caller completes the reduction with `sync.finish()`.
    public let sync: GradientSync?

    /// `tape`: pass another step's tape to share its arena (evaluation between training
    /// epochs then needs no memory of its own).
    public init(model: VisionTransformer, labelSmoothing: Float = 0, sync: GradientSync? = nil, tape: Tape = Tape()) {
        self.model = model; self.labelSmoothing = labelSmoothing; self.sync = sync; self.tape = tape
        if let sync { tape.onLeafGradientReady = { sync.gradientReady($0) } }
    }

    /// `images` holds `labels.count` images of [C, H, W] each, normalised. Returns the mean
    /// loss and how many images the model (before the update) classified correctly.
    @discardableResult
    public func callAsFunction(images: UnsafePointer<Float>, labels: [Int32]) -> (loss: Float, correct: Int) {
        let c = model.config
        tape.reset()
        tape.isRecording = true
        model.params.zeroGrads()
        sync?.beginStep()
        let x = tape.input(images, shape: [labels.count, c.inChans, c.imgSize, c.imgSize])
        let logits = model(tape, x)
        let loss = tape.crossEntropy(logits, labels: labels, smoothing: labelSmoothing)
        var correct = 0
        let nc = logits.lastDim
        for i in 0..<labels.count {
            let row = logits.data + i * nc
            var best = 0
            for j in 1..<nc where row[j] > row[best] { best = j }
            if best == Int(labels[i]) { correct += 1 }
        }
        tape.backward(loss)
        return (loss.data[0], correct)
    }

    /// Forward only; returns logits [B, classes] copied out of the arena.
    public func logits(images: UnsafePointer<Float>, count: Int) -> [Float] {
        let c = model.config
        tape.reset()
        tape.isRecording = false
        let x = tape.input(images, shape: [count, c.inChans, c.imgSize, c.imgSize])
        return model(tape, x).array
    }
}
