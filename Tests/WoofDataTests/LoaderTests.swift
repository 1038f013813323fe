import XCTest
import WoofTestSupport
@testable import WoofData

final class LoaderTests: XCTestCase {
    func testLoadsBatchesFromSharedTrainSplit() throws {
        guard FileManager.default.fileExists(atPath: TestPaths.sharedData + "/train") else {
            throw XCTSkip("shared data not found at \(TestPaths.sharedData)")
        }
        let full = try ImageFolder(root: TestPaths.sharedData, split: "train")
        XCTAssertEqual(full.classes.count, 10)
        XCTAssertEqual(full.classes.first, "n02086240")
        // 60 images spread over all classes.
        let step = full.count / 60
        let ds = full.filtered { $0 % step == 0 }.limited(to: 60)
        XCTAssertEqual(ds.count, 60)
        XCTAssertEqual(Set(ds.samples.map(\.label)).count, 10)

        let loader = BatchLoader(dataset: ds, batchSize: 16, mode: .train(seed: 3), workers: 2, prefetch: 2)
        XCTAssertEqual(loader.batchesPerEpoch, 3)   // drop-last: 60 / 16
        loader.startEpoch(0)
        var seen: [Int] = []
        var batches = 0
        while let b = try loader.next() {
            XCTAssertEqual(b.count, 16)
            XCTAssertEqual(b.index, batches)
            for i in 0..<b.count {
                XCTAssertEqual(Int(b.labels[i]), ds.samples[b.sampleIndices[i]].label)
                let img = b.images + i * ImageTransform.floatsPerImage
                var lo: Float = 9, hi: Float = -9
                for k in 0..<ImageTransform.floatsPerImage { lo = min(lo, img[k]); hi = max(hi, img[k]) }
                XCTAssertTrue(lo >= -1 && hi <= 1 && hi > lo, "image range \(lo)...\(hi)")
            }
            seen += Array(b.sampleIndices)
            batches += 1
        }
        XCTAssertEqual(batches, 3)
        XCTAssertEqual(seen, Array(loader.order(epoch: 0).prefix(48)))
        XCTAssertEqual(loader.skippedImages, 0)

        // Same epoch again: identical pixels (independent of thread scheduling).
        loader.startEpoch(0)
        let first = try XCTUnwrap(try loader.next())
        let copy = Array(UnsafeBufferPointer(start: first.images, count: 16 * ImageTransform.floatsPerImage))
        let loader2 = BatchLoader(dataset: ds, batchSize: 16, mode: .train(seed: 3), workers: 1, prefetch: 3)
        loader2.startEpoch(0)
        let again = try XCTUnwrap(try loader2.next())
        XCTAssertEqual(copy, Array(UnsafeBufferPointer(start: again.images, count: 16 * ImageTransform.floatsPerImage)))
        print(loader.stats.summary)

        // Resuming mid-epoch skips batches without changing the later ones.
        loader.startEpoch(0)
        _ = try loader.next(); let second = try XCTUnwrap(try loader.next())
        let secondPixels = Array(UnsafeBufferPointer(start: second.images, count: 16 * ImageTransform.floatsPerImage))
        loader.startEpoch(0, fromBatch: 1)
        let resumed = try XCTUnwrap(try loader.next())
        XCTAssertEqual(resumed.index, 1)
        XCTAssertEqual(secondPixels, Array(UnsafeBufferPointer(start: resumed.images, count: 16 * ImageTransform.floatsPerImage)))

        // Eval mode: sorted order, last partial batch kept, sharded.
        let ev = BatchLoader(dataset: ds, batchSize: 16, mode: .eval, rank: 1, worldSize: 2)
        XCTAssertEqual(ev.batchesPerEpoch, 2)   // 30 samples
        ev.startEpoch(0)
        var evSeen: [Int] = []
        while let b = try ev.next() { evSeen += Array(b.sampleIndices) }
        XCTAssertEqual(evSeen, Array(stride(from: 1, to: 60, by: 2)))
    }

    /// Unreadable training data stops the loader instead of yielding zero tensors: a batch
    /// that cannot be filled, or more bad files than the allowed fraction.
    func testUnreadableTrainingDataStopsTheLoader() throws {
        let dir = ScratchDir()
        for c in ["a", "b"] { for i in 0..<6 { dir.write("train/\(c)/\(i).JPEG", Data("not an image".utf8)) } }
        let ds = try ImageFolder(root: dir.path, split: "train")
        let none = BatchLoader(dataset: ds, batchSize: 4, mode: .train(seed: 1), workers: 2, warn: { _ in })
        none.startEpoch(0)
        XCTAssertThrowsError(try none.next()) { XCTAssertTrue("\($0)".contains("the batch cannot be filled"), "\($0)") }
        XCTAssertEqual(none.skippedImages, 12, "each bad file counted once")

        let jpeg = smallJPEG()
        for c in ["a", "b"] { for i in 0..<6 { dir.write("train/\(c)/\(i).JPEG", jpeg) } }
        dir.write("train/a/3.JPEG", Data())
        dir.write("train/b/4.JPEG", Data())
        let some = BatchLoader(dataset: ds, batchSize: 4, mode: .train(seed: 1), workers: 2, warn: { _ in })
        some.maxSkippedFraction = 0.1
        some.startEpoch(0)
        XCTAssertThrowsError(try { while try some.next() != nil {} }()) {
            XCTAssertTrue("\($0)".contains("2 of this rank's 12 training images are unreadable, more than the 10% allowed"), "\($0)")
        }
    }

    func testCorruptFilesAreSkippedInTrainAndThrowInEval() throws {
        let dir = ScratchDir()
        let jpeg = smallJPEG()
        for c in ["a", "b"] { for i in 0..<6 { dir.write("train/\(c)/\(i).JPEG", jpeg) } }
        dir.write("train/a/3.JPEG", jpeg.prefix(jpeg.count / 2))      // truncated
        dir.write("train/b/4.JPEG", Data())                           // empty
        dir.write("train/b/5.JPEG", Data("not an image".utf8))        // not a JPEG
        let ds = try ImageFolder(root: dir.path, split: "train")
        XCTAssertEqual(ds.count, 12)

        final class Warnings { let lock = NSLock(); var lines: [String] = [] }
        let warnings = Warnings()
        let loader = BatchLoader(dataset: ds, batchSize: 4, mode: .train(seed: 1), workers: 2,
                                 warn: { line in warnings.lock.lock(); warnings.lines.append(line); warnings.lock.unlock() })
        loader.startEpoch(0)
        var batches = 0
        while let b = try loader.next() {
            XCTAssertEqual(b.count, 4)
            for i in 0..<4 {
                let p = ds.samples[b.sampleIndices[i]].relativePath
                XCTAssertFalse(["train/a/3.JPEG", "train/b/4.JPEG", "train/b/5.JPEG"].contains(p), "bad image \(p) delivered")
            }
            batches += 1
        }
        XCTAssertEqual(batches, 3)
        XCTAssertEqual(loader.skippedImages, 3)
        XCTAssertEqual(warnings.lines.count, 3)
        XCTAssertTrue(warnings.lines.contains { $0.contains(dir.path + "/train/b/4.JPEG") && $0.contains("empty") }, "\(warnings.lines)")
        XCTAssertTrue(warnings.lines.contains { $0.contains("train/a/3.JPEG") && $0.contains("truncated") }, "\(warnings.lines)")

        let ev = BatchLoader(dataset: ds, batchSize: 4, mode: .eval)
        ev.startEpoch(0)
        var thrown: [String] = []
        var delivered = 0
        for _ in 0..<3 {
            do { if let b = try ev.next() { delivered += b.count } } catch { thrown.append("\(error)") }
        }
        XCTAssertNil(try ev.next())
        XCTAssertEqual(delivered, 4)   // batches 0 and 2 contain bad files, batch 1 is clean
        XCTAssertEqual(thrown.count, 2)
        XCTAssertTrue(thrown[0].contains(dir.path + "/train/a/3.JPEG"), "\(thrown)")
    }

    func testBenchmarkHookRuns() throws {
        let dir = ScratchDir()
        for i in 0..<8 { dir.write("train/a/\(i).JPEG", smallJPEG(width: 320, height: 256)) }
        let ds = try ImageFolder(root: dir.path, split: "train")
        let r = benchmarkDataPipeline(dataset: ds, images: 8, threads: 1)
        XCTAssertEqual(r.images, 8)
        XCTAssertEqual(r.failures, 0)
        XCTAssertGreaterThan(r.imagesPerSecond, 0)
    }
}
