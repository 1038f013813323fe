import XCTest
import WoofTestSupport
import WoofData
import WoofIO
@testable import WoofTrain

/// Horizontal-flip test-time augmentation (issue 26's optional part): the mirror kernel, and
/// the evaluator's prediction from the mean logits of each image and its mirror, checked
/// against a forward pass per image made here.
final class EvaluatorTests: XCTestCase {
    func testMirrorReversesEveryRowOfEveryPlane() {
        let (count, channels, side) = (2, 3, 5)
        let original = (0..<(count * channels * side * side)).map(Float.init)
        var x = original
        x.withUnsafeMutableBufferPointer { mirrorHorizontally($0.baseAddress!, count: count, channels: channels, side: side) }
        for row in 0..<(count * channels * side) {
            for col in 0..<side { XCTAssertEqual(x[row * side + col], original[row * side + side - 1 - col]) }
        }
    }

    func testFlipTTAPredictsFromTheMeanLogitsOfEachImageAndItsMirror() throws {
        let weights = sharedPath("weights/vit_tiny_patch16_224.augreg_in21k_ft_in1k.safetensors")
        try XCTSkipUnless(FileManager.default.fileExists(atPath: weights) && FileManager.default.fileExists(atPath: TestPaths.sharedData + "/val"),
                          "no pretrained weights or shared data")
        let set = try ImageFolder(root: TestPaths.sharedData, split: "val").limited(to: 12)
        let model = try modelForEvaluation(weights: weights)
        // Batches of 5 so the last one is partial.
        let tta = try evaluate(model: model, loader: BatchLoader(dataset: set, batchSize: 5, mode: .eval), zeroShot: true, flipTTA: true)
        let plain = try evaluate(model: model, loader: BatchLoader(dataset: set, batchSize: 5, mode: .eval), zeroShot: true)
        XCTAssertEqual(tta.images, 12)

        let side = model.config.imgSize, plane = side * side, step = GradientStep(model: model)
        let transform = TransformWorkspace()
        var image = [Float](repeating: 0, count: 3 * plane), mirrored = image
        var expected: [Int] = [], expectedPlain: [Int] = []
        for i in 0..<set.count {
            try image.withUnsafeMutableBufferPointer { try transform.loadEval(path: set.path(of: i), into: $0.baseAddress!) }
            for c in 0..<3 { for y in 0..<side { for x in 0..<side { mirrored[c * plane + y * side + x] = image[c * plane + y * side + side - 1 - x] } } }
            let a = image.withUnsafeBufferPointer { step.logits(images: $0.baseAddress!, count: 1) }
            let b = mirrored.withUnsafeBufferPointer { step.logits(images: $0.baseAddress!, count: 1) }
            let woof = ImageWoof.imageNetIndices
            expected.append((0..<woof.count).max { a[woof[$0]] + b[woof[$0]] < a[woof[$1]] + b[woof[$1]] }!)
            expectedPlain.append((0..<woof.count).max { a[woof[$0]] < a[woof[$1]] }!)
        }
        XCTAssertEqual(tta.predictions.map(\.pred), expected)
        XCTAssertEqual(plain.predictions.map(\.pred), expectedPlain, "without the flag: one pass, as before")
        XCTAssertEqual(tta.correct, zip(expected, tta.predictions).filter { $0 == $1.label }.count)
    }
}
