import XCTest
import WoofTestSupport
import WoofCore
@testable import WoofData

final class DatasetTests: XCTestCase {
    /// root/{train,val}/{a,b}/ with small JPEGs.
    func makeDataset(_ dir: ScratchDir, classes: [String] = ["n2", "n1"], perClass: Int = 3, valClasses: [String]? = nil) {
        let jpeg = smallJPEG()
        for c in classes { for i in 0..<perClass { dir.write("train/\(c)/img_\(i).JPEG", jpeg) } }
        for c in valClasses ?? classes { for i in 0..<perClass { dir.write("val/\(c)/v_\(i).jpg", jpeg) } }
    }

    func testLayoutLabelsAndSorting() throws {
        let dir = ScratchDir()
        makeDataset(dir)
        dir.write("train/n1/notes.txt", Data("x".utf8))          // ignored
        dir.write("train/n1/upper.JpEg", smallJPEG())              // any case
        dir.write("train/.hidden/x.JPEG", smallJPEG())             // hidden folder ignored
        let train = try ImageFolder(root: dir.path, split: "train")
        XCTAssertEqual(train.classes, ["n1", "n2"])
        XCTAssertEqual(train.count, 7)
        XCTAssertEqual(train.samples.map(\.relativePath), train.samples.map(\.relativePath).sorted())
        XCTAssertEqual(train.samples.first?.relativePath, "train/n1/img_0.JPEG")
        XCTAssertEqual(train.samples.first?.label, 0)
        XCTAssertEqual(train.samples.last?.label, 1)
        XCTAssertEqual(train.path(of: 0), dir.path + "/train/n1/img_0.JPEG")
        let val = try ImageFolder(root: dir.path, split: "val")
        XCTAssertEqual(val.count, 6)
        XCTAssertEqual(val.samples[0].relativePath, "val/n1/v_0.jpg")
        XCTAssertEqual(val.limited(to: 2).count, 2)
    }

    /// `--hold-out N`: N images of every class, disjoint from the rest, the same whatever
    /// the other classes hold; a class that would be left with nothing to train on is refused.
    func testHoldingOutPerClass() throws {
        let dir = ScratchDir()
        makeDataset(dir, perClass: 6)
        let train = try ImageFolder(root: dir.path, split: "train")
        let (kept, heldOut) = try train.holdingOut(perClass: 2)
        XCTAssertEqual(heldOut.count, 4)
        XCTAssertEqual(kept.count, 8)
        for label in 0..<2 { XCTAssertEqual(heldOut.samples.filter { $0.label == label }.count, 2) }
        XCTAssert(Set(kept.samples.map(\.relativePath)).isDisjoint(with: heldOut.samples.map(\.relativePath)))
        XCTAssertEqual(kept.samples.map(\.relativePath), kept.samples.map(\.relativePath).sorted())
        XCTAssertEqual(try train.holdingOut(perClass: 2).heldOut.samples, heldOut.samples, "deterministic")
        for i in 6..<12 { dir.write("train/n2/img_\(i).JPEG", smallJPEG()) }
        let grown = try ImageFolder(root: dir.path, split: "train")
        XCTAssertEqual(try grown.holdingOut(perClass: 2).heldOut.samples.filter { $0.label == 0 }, heldOut.samples.filter { $0.label == 0 },
                       "a class's choice does not depend on the other classes")
        XCTAssertEqual(try train.holdingOut(perClass: 0).kept.samples, train.samples)
        XCTAssertThrowsError(try train.holdingOut(perClass: 6)) { error in
            XCTAssert("\(error)".contains("train/n1") && "\(error)".contains("too few"), "\(error)")
        }
    }

    private func assertDatasetError(_ root: String, _ split: String, path: String, _ needle: String,
                                    file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ImageFolder(root: root, split: split), file: file, line: line) { error in
            guard let e = error as? DatasetError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertEqual(e.path, path, "\(e)", file: file, line: line)
            XCTAssertTrue(e.description.contains(needle), "\(e)", file: file, line: line)
        }
    }

    func testErrorsNameThePath() {
        let dir = ScratchDir()
        assertDatasetError(dir.path + "/nope", "train", path: dir.path + "/nope", "does not exist")
        assertDatasetError(dir.path, "train", path: dir.path + "/train", "missing")
        makeDataset(dir)
        assertDatasetError(dir.path, "test", path: dir.path + "/test", "missing")
        dir.mkdir("train/n3")
        assertDatasetError(dir.path, "train", path: dir.path + "/train/n3", "no .JPEG")
        dir.write("train/n3/a.JPEG", smallJPEG())
        // val lacks n3 now.
        assertDatasetError(dir.path, "val", path: dir.path + "/val", "differ")
        dir.write("val/n3/a.JPEG", smallJPEG())
        dir.write("val/n9/a.JPEG", smallJPEG())
        assertDatasetError(dir.path, "val", path: dir.path + "/val", "extra n9")
    }

    func testDataRootResolution() {
        let dir = ScratchDir()
        XCTAssertEqual(resolveDataRoot(explicit: "/x", environment: ["WOOF_DATA": "/y"], currentDirectory: dir.path),
                       DataRoot(path: "/x", source: .argument))
        XCTAssertEqual(resolveDataRoot(explicit: nil, environment: ["WOOF_DATA": "/y"], currentDirectory: dir.path),
                       DataRoot(path: "/y", source: .environment))
        XCTAssertEqual(resolveDataRoot(explicit: nil, environment: [:], currentDirectory: dir.path).source, .shared)
        XCTAssertEqual(resolveDataRoot(explicit: nil, environment: [:], currentDirectory: dir.path).path,
                       dir.path + "/../shared/data/imagewoof2-256")
        dir.mkdir("data/imagewoof2-320")
        XCTAssertEqual(resolveDataRoot(explicit: nil, environment: [:], currentDirectory: dir.path),
                       DataRoot(path: dir.path + "/data/imagewoof2-320", source: .local))
    }

    func testPermutationsAndShards() {
        let n = 1001
        let p = epochPermutation(count: n, seed: 7, epoch: 3)
        XCTAssertEqual(p, epochPermutation(count: n, seed: 7, epoch: 3), "same seed and epoch, same order")
        XCTAssertNotEqual(p, epochPermutation(count: n, seed: 7, epoch: 4))
        XCTAssertNotEqual(p, epochPermutation(count: n, seed: 8, epoch: 3))
        XCTAssertEqual(p.sorted(), Array(0..<n))
        XCTAssertNotEqual(p, Array(0..<n))
        for ranks in [1, 2, 3, 4, 7] {
            let shards = (0..<ranks).map { shard(p, rank: $0, of: ranks) }
            XCTAssertEqual(shards.flatMap { $0 }.sorted(), Array(0..<n), "shards of \(ranks) ranks cover")
            XCTAssertEqual(Set(shards.flatMap { $0 }).count, n, "shards of \(ranks) ranks are disjoint")
            XCTAssertLessThanOrEqual(shards.map(\.count).max()! - shards.map(\.count).min()!, 1)
            XCTAssertEqual(shards[0].first, p[0])
            if ranks > 1 { XCTAssertEqual(shards[1].first, p[1]) }
        }
    }

    func testTrainAugmentationIsReproducibleAndValid() {
        var flips = 0
        var areas: [Double] = []
        for index in 0..<2000 {
            let a = trainAugmentation(width: 341, height: 256, seed: 1, epoch: 2, index: index)
            XCTAssertEqual(a, trainAugmentation(width: 341, height: 256, seed: 1, epoch: 2, index: index))
            let b = a.crop
            XCTAssertTrue(b.top >= 0 && b.left >= 0 && b.top + b.height <= 256 && b.left + b.width <= 341, "\(b)")
            let ratio = Double(b.width) / Double(b.height)
            XCTAssertTrue(ratio > 0.7 && ratio < 1.4, "\(b)")
            areas.append(Double(b.width * b.height) / Double(341 * 256))
            if a.flip { flips += 1 }
        }
        XCTAssertNotEqual(trainAugmentation(width: 341, height: 256, seed: 1, epoch: 2, index: 0),
                          trainAugmentation(width: 341, height: 256, seed: 1, epoch: 3, index: 0))
        XCTAssertTrue((900...1100).contains(flips), "flip rate \(flips)/2000")
        XCTAssertGreaterThan(areas.min()!, 0.33)
        XCTAssertLessThanOrEqual(areas.max()!, 1.0)
        // The fallback: an extreme aspect ratio never fits 10 tries -> centre crop at ratio bound.
        var rng = SplitMix64(keys: 5)
        let b = randomResizedCropBox(width: 1000, height: 10, rng: &rng)
        XCTAssertTrue(b.height <= 10 && b.width <= 1000)

        let im = syntheticImage(width: 120, height: 90)
        let o1 = UnsafeMutablePointer<Float>.allocate(capacity: ImageTransform.floatsPerImage)
        let o2 = UnsafeMutablePointer<Float>.allocate(capacity: ImageTransform.floatsPerImage)
        defer { o1.deallocate(); o2.deallocate() }
        trainTransform(im, seed: 9, epoch: 1, index: 17, into: o1)
        trainTransform(im, seed: 9, epoch: 1, index: 17, into: o2)
        XCTAssertEqual(memcmp(o1, o2, ImageTransform.floatsPerImage * 4), 0)
    }
}
