import XCTest
import WoofTestSupport
import WoofCore
@testable import WoofData
import WoofIO

/// Decode + eval transform of the 8 val images of the timm golden file reproduce its
/// `input` tensor (made by timm/torchvision with Pillow).
final class GoldenInputTests: XCTestCase {
    func testEvalTransformMatchesTimmGoldenInput() throws {
        guard FileManager.default.fileExists(atPath: TestPaths.golden) else {
            throw XCTSkip("golden file not found at \(TestPaths.golden)")
        }
        let file = try SafeTensorsFile(path: TestPaths.golden)
        let images = try XCTUnwrap(file.metadata["images"]).split(separator: ",").map(String.init)
        XCTAssertEqual(images.count, 8)
        let input = try file.tensor("input")
        XCTAssertEqual(input.shape, [images.count, 3, 224, 224])
        let per = ImageTransform.floatsPerImage
        let ws = TransformWorkspace()
        var mine = [Float](repeating: .nan, count: images.count * per)
        try mine.withUnsafeMutableBufferPointer { buf in
            for (i, rel) in images.enumerated() {
                try ws.loadEval(path: TestPaths.sharedData + "/" + rel, into: buf.baseAddress! + i * per)
            }
        }
        var identical = 0
        var maxDiff: Float = 0
        for (a, b) in zip(mine, input.data) {
            let d = abs(a - b)
            if d < 1e-6 { identical += 1 }
            maxDiff = max(maxDiff, d)
        }
        let fraction = Double(identical) / Double(mine.count)
        print(String(format: "golden input: %.6f of %d values identical (|diff| < 1e-6), max |diff| %.3g",
                     fraction, mine.count, Double(maxDiff)))
        XCTAssertGreaterThanOrEqual(fraction, 0.99)
        XCTAssertLessThanOrEqual(maxDiff, 2.0 / 255.0 + 1e-6)
    }
}
