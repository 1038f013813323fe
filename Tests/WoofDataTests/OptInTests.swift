import Foundation
import XCTest
@testable import WoofData

/// Slow checks, skipped unless asked for:
/// - `WOOF_DATA_BENCH=1`: decode + transform throughput on 512 real train images.
/// - `WOOF_EVAL_HASHES=FILE`: writes "relative-path FNV-1a" of the eval-transformed bytes of
///   every val image, for comparison with a Pillow run outside the repository.
final class OptInTests: XCTestCase {
    func testBenchmarkRealImages() throws {
        guard ProcessInfo.processInfo.environment["WOOF_DATA_BENCH"] != nil else { throw XCTSkip("set WOOF_DATA_BENCH=1") }
        let ds = try ImageFolder(root: TestPaths.sharedData, split: "train")
        for threads in [1, 2] {
            print(benchmarkDataPipeline(dataset: ds, images: 512, threads: threads, train: true).summary)
            print(benchmarkDataPipeline(dataset: ds, images: 512, threads: threads, train: false).summary)
        }
        let loader = BatchLoader(dataset: ds.filtered { $0 % 17 == 0 }, batchSize: 32, mode: .train(seed: 0))
        loader.startEpoch(0)
        while try loader.next() != nil {}
        print(loader.stats.summary)
    }

    func testWriteEvalHashes() throws {
        guard let out = ProcessInfo.processInfo.environment["WOOF_EVAL_HASHES"] else { throw XCTSkip("set WOOF_EVAL_HASHES=FILE") }
        let ds = try ImageFolder(root: TestPaths.sharedData, split: "val")
        let ws = TransformWorkspace()
        let f = UnsafeMutablePointer<Float>.allocate(capacity: ImageTransform.floatsPerImage)
        defer { f.deallocate() }
        var lines: [String] = []
        for i in 0..<ds.count {
            try ws.loadEval(path: ds.path(of: i), into: f)
            lines.append("\(ds.samples[i].relativePath) \(String(fnv1a(denormalizeCHW(f)), radix: 16))")
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: out, atomically: true, encoding: .utf8)
    }
}
