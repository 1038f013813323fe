import Foundation

/// Result of `benchmarkDataPipeline`.
public struct DataBenchmarkResult {
    public var images: Int
    public var failures: Int
    public var seconds: Double
    public var threads: Int
    /// Seconds spent in JPEG decode (file read included) and in the transform, summed over threads.
    public var decodeSeconds: Double
    public var transformSeconds: Double
    public var imagesPerSecond: Double { seconds > 0 ? Double(images) / seconds : 0 }
    public var imagesPerSecondPerThread: Double { imagesPerSecond / Double(max(threads, 1)) }
    public var summary: String {
        String(format: "data pipeline (%@): %d images in %.2f s on %d thread(s): %.1f img/s, %.1f img/s per thread (decode %.0f%%, transform %.0f%%)%@",
               trainMode ? "decode + train transform" : "decode + eval transform",
               images, seconds, threads, imagesPerSecond, imagesPerSecondPerThread,
               100 * decodeSeconds / max(decodeSeconds + transformSeconds, 1e-12),
               100 * transformSeconds / max(decodeSeconds + transformSeconds, 1e-12),
               failures > 0 ? ", \(failures) failures" : "")
    }
    public var trainMode: Bool
}

/// Measures decode + transform throughput on real images: `images` samples spread evenly
/// over `dataset`, processed by `threads` threads (each with its own workspace), train
/// transform (seed 0, epoch 0) or eval transform. For `woof-dist bench --mode data`.
public func benchmarkDataPipeline(dataset: ImageFolder, images: Int = 256, threads: Int = 1,
                                  train: Bool = true) -> DataBenchmarkResult {
    let n = min(images, dataset.count)
    let step = max(1, dataset.count / max(n, 1))
    let picks = (0..<n).map { ($0 * step) % max(dataset.count, 1) }
    let threads = max(1, threads)
    // Warm-up: page in the files once so the figure measures decode, not the disk.
    for i in picks { _ = try? readFileBytes(dataset.path(of: i)) }

    final class Totals { let lock = NSLock(); var failures = 0, decodeSec = 0.0, transformSec = 0.0 }
    let totals = Totals()
    let group = DispatchGroup()
    let start = DispatchTime.now().uptimeNanoseconds
    for t in 0..<threads {
        group.enter()
        let thread = Thread {
            let ws = TransformWorkspace()
            let out = UnsafeMutablePointer<Float>.allocate(capacity: ImageTransform.floatsPerImage)
            defer { out.deallocate() }
            var fails = 0, dsec = 0.0, tsec = 0.0
            for k in stride(from: t, to: picks.count, by: threads) {
                let i = picks[k]
                let t0 = DispatchTime.now().uptimeNanoseconds
                do {
                    let data = try readFileBytes(dataset.path(of: i))
                    let (w, h) = try decodeJPEG(data: data, name: dataset.path(of: i), into: &ws.decoded)
                    let t1 = DispatchTime.now().uptimeNanoseconds
                    if train {
                        let aug = trainAugmentation(width: w, height: h, seed: 0, epoch: 0, index: i)
                        ws.trainTransform(src: UnsafePointer(ws.decoded.pointer!), width: w, height: h, augmentation: aug, into: out)
                    } else {
                        ws.evalTransform(src: UnsafePointer(ws.decoded.pointer!), width: w, height: h, into: out)
                    }
                    let t2 = DispatchTime.now().uptimeNanoseconds
                    dsec += Double(t1 - t0) * 1e-9
                    tsec += Double(t2 - t1) * 1e-9
                } catch {
                    fails += 1
                }
            }
            totals.lock.lock()
            totals.failures += fails; totals.decodeSec += dsec; totals.transformSec += tsec
            totals.lock.unlock()
            group.leave()
        }
        thread.start()
    }
    group.wait()
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
    return DataBenchmarkResult(images: n - totals.failures, failures: totals.failures, seconds: seconds, threads: threads,
                               decodeSeconds: totals.decodeSec, transformSeconds: totals.transformSec, trainMode: train)
}
