import Foundation

/// One batch handed out by `BatchLoader.next()`. The memory belongs to the loader and
/// stays valid until the next call to `next()` (or `startEpoch`/`stop`).
public struct Batch {
    /// Batch number within the epoch.
    public let index: Int
    /// Number of images (== batch size except possibly the last eval batch).
    public let count: Int
    /// `count × 3 × 224 × 224` floats, CHW per image.
    public let images: UnsafeMutablePointer<Float>
    /// Labels of the images.
    public let labels: UnsafeBufferPointer<Int32>
    /// Dataset sample indices of the images (after any substitution of bad images).
    public let sampleIndices: UnsafeBufferPointer<Int>

    public var labelArray: [Int] { labels.map { Int($0) } }
}

/// Throughput figures of a loader.
public struct LoaderStats {
    /// Images decoded and transformed successfully.
    public var images = 0
    /// Bad images skipped (train) or failed (eval).
    public var skipped = 0
    /// Summed seconds the workers spent decoding + transforming.
    public var workerSeconds = 0.0
    /// Seconds the consumer spent blocked in `next()` waiting for a batch.
    public var waitSeconds = 0.0
    /// Seconds since the current epoch started.
    public var wallSeconds = 0.0
    public var workers = 0

    /// Images per second of busy worker time (≈ per core when workers have their own cores).
    public var imagesPerSecondPerWorker: Double { workerSeconds > 0 ? Double(images) / workerSeconds : 0 }
    /// Images per second of wall time delivered so far.
    public var imagesPerSecond: Double { wallSeconds > 0 ? Double(images) / wallSeconds : 0 }
    public var summary: String {
        String(format: "loader: %d images, %.1f img/s wall, %.1f img/s per worker (%d workers), consumer waited %.2f s, %d skipped",
               images, imagesPerSecond, imagesPerSecondPerWorker, workers, waitSeconds, skipped)
    }
}

/// Decodes and transforms images on background threads into reusable, preallocated batch
/// buffers, `prefetch` batches ahead of the consumer, delivered in order.
///
/// - Train mode: per-epoch permutation from (seed, epoch), RandomResizedCrop + flip keyed
///   by (seed, epoch, sample index); a bad image is replaced by the next good sample of the
///   rank's order (deterministically), a warning is printed and `skippedImages` counts it.
///   With `dropLast`, every rank uses ⌊N / worldSize⌋ samples so all ranks take the same
///   number of steps.
/// - Eval mode: sorted order, eval transform; a bad image makes `next()` throw an error
///   naming the path.
/// Sharding: rank r of n takes every n-th element of the epoch's order, starting at r.
public final class BatchLoader {
    public enum Mode: Equatable {
        case train(seed: UInt64)
        case eval
    }

    public let dataset: ImageFolder
    public let batchSize: Int
    public let mode: Mode
    public let workers: Int
    public let prefetch: Int
    public let dropLast: Bool
    public let rank: Int
    public let worldSize: Int

    private let state: LoaderState

    /// - Parameters:
    ///   - workers: background threads (default 2).
    ///   - prefetch: batches prepared ahead of the one the consumer holds (≥ 2 recommended).
    ///   - dropLast: drop the incomplete last batch (default: true for train, false for eval).
    ///   - warn: where warnings about skipped images go (default: standard error).
    public init(dataset: ImageFolder, batchSize: Int, mode: Mode, workers: Int = 2, prefetch: Int = 2,
                dropLast: Bool? = nil, rank: Int = 0, worldSize: Int = 1,
                warn: ((String) -> Void)? = nil) {
        precondition(batchSize > 0, "batch size must be positive")
        precondition(worldSize > 0 && rank >= 0 && rank < worldSize, "rank \(rank) is not in 0..<\(worldSize)")
        self.dataset = dataset
        self.batchSize = batchSize
        self.mode = mode
        self.workers = max(1, workers)
        self.prefetch = max(1, prefetch)
        if case .train = mode { self.dropLast = dropLast ?? true } else { self.dropLast = dropLast ?? false }
        self.rank = rank
        self.worldSize = worldSize
        state = LoaderState(dataset: dataset, batchSize: batchSize, mode: mode, buffers: self.prefetch + 1,
                            warn: warn ?? { msg in FileHandle.standardError.write((msg + "\n").data(using: .utf8)!) })
        for w in 0..<self.workers {
            let st = state
            let t = Thread { st.workerLoop() }
            t.name = "woof-loader-\(w)"
            t.stackSize = 1 << 20
            st.workerStarted()
            t.start()
        }
    }

    deinit { state.stop() }

    /// The rank's sample order (dataset indices) for `epoch`, before batching.
    public func order(epoch: Int) -> [Int] {
        let n = dataset.count
        var mine: [Int]
        switch mode {
        case .train(let seed):
            mine = shard(epochPermutation(count: n, seed: seed, epoch: epoch), rank: rank, of: worldSize)
            if dropLast { mine = Array(mine.prefix(n / worldSize)) }
        case .eval:
            mine = shard(Array(0..<n), rank: rank, of: worldSize)
        }
        return mine
    }

    /// Batches per epoch for this rank.
    public var batchesPerEpoch: Int {
        let n = order(epoch: 0).count
        return dropLast ? n / batchSize : (n + batchSize - 1) / batchSize
    }

    /// Starts (or restarts) `epoch`: cancels unfinished work and begins prefetching.
    public func startEpoch(_ epoch: Int) { startEpoch(epoch, fromBatch: 0) }

    /// Starts `epoch` at batch `fromBatch`: skips the first batches without decoding them (resuming mid-epoch gives
    /// the same later batches as an uninterrupted run).
    public func startEpoch(_ epoch: Int, fromBatch: Int) {
        let o = order(epoch: epoch)
        let batches = dropLast ? o.count / batchSize : (o.count + batchSize - 1) / batchSize
        state.begin(epoch: epoch, order: o, batches: batches, fromBatch: min(max(fromBatch, 0), batches))
    }

    /// The next batch of the epoch in order, or nil at its end. Blocks until it is ready.
    /// Releases the previously returned batch. In eval mode, throws the error of the first
    /// image of the batch that failed (naming its path).
    public func next() throws -> Batch? { try state.next() }

    /// Bad images skipped so far (all epochs), each file once.
    public var skippedImages: Int { state.withLock { state.skipped } }

    /// Train mode: `next()` throws once more than this fraction of the rank's samples has
    /// proved unreadable (nil: no limit). A batch that cannot be filled always throws.
    public var maxSkippedFraction: Double? {
        get { state.withLock { state.maxSkippedFraction } }
        set { state.withLock { state.maxSkippedFraction = newValue } }
    }

    /// Throughput figures so far.
    public var stats: LoaderStats { state.currentStats(workers: workers) }

    /// Stops the worker threads (also done on deinit).
    public func stop() { state.stop() }
}

private func nowSeconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }

/// Shared state of the loader and its workers, guarded by one condition lock.
final class LoaderState {
    let dataset: ImageFolder
    let batchSize: Int
    let mode: BatchLoader.Mode
    let nbuf: Int
    let warn: (String) -> Void
    let cond = NSCondition()

    // Preallocated buffers.
    let images: [UnsafeMutablePointer<Float>]
    let labels: [UnsafeMutablePointer<Int32>]
    let indices: [UnsafeMutablePointer<Int>]
    var done: [Int]
    var errors: [Error?]
    var errorSlots: [Int]

    // Epoch state.
    var epoch = 0
    var order: [Int] = []
    var batches = 0
    var used = 0            // samples used this epoch (≤ order.count)
    var nextTask = 0        // next position to claim
    var released = 0        // batches the consumer has released
    var consumerBatch = 0   // next batch to hand out
    var holding = false
    var inFlight = 0
    var stopping = false
    var liveWorkers = 0

    // Statistics.
    var skipped = 0
    /// Training samples found unreadable (each counted and reported once).
    var badSamples = Set<Int>()
    /// Stop when more than this fraction of the rank's training samples is unreadable.
    var maxSkippedFraction: Double?
    var imagesDone = 0
    var workerSeconds = 0.0
    var waitSeconds = 0.0
    var epochStart = nowSeconds()

    init(dataset: ImageFolder, batchSize: Int, mode: BatchLoader.Mode, buffers: Int, warn: @escaping (String) -> Void) {
        self.dataset = dataset
        self.batchSize = batchSize
        self.mode = mode
        self.nbuf = buffers
        self.warn = warn
        let per = ImageTransform.floatsPerImage * batchSize
        images = (0..<buffers).map { _ in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: per)
            p.initialize(repeating: 0, count: per)
            return p
        }
        labels = (0..<buffers).map { _ in
            let p = UnsafeMutablePointer<Int32>.allocate(capacity: batchSize); p.initialize(repeating: 0, count: batchSize); return p
        }
        indices = (0..<buffers).map { _ in
            let p = UnsafeMutablePointer<Int>.allocate(capacity: batchSize); p.initialize(repeating: 0, count: batchSize); return p
        }
        done = [Int](repeating: 0, count: buffers)
        errors = [Error?](repeating: nil, count: buffers)
        errorSlots = [Int](repeating: Int.max, count: buffers)
    }

    deinit {
        for p in images { p.deallocate() }
        for p in labels { p.deallocate() }
        for p in indices { p.deallocate() }
    }

    func withLock<T>(_ body: () -> T) -> T { cond.lock(); defer { cond.unlock() }; return body() }

    func workerStarted() { withLock { liveWorkers += 1 } }

    func batchCount(_ b: Int) -> Int { min(batchSize, used - b * batchSize) }

    /// Cancels outstanding work, waits for in-flight images, installs the new epoch.
    func begin(epoch: Int, order: [Int], batches: Int, fromBatch: Int) {
        cond.lock()
        nextTask = used  // no new claims
        while inFlight > 0 { cond.wait() }
        self.epoch = epoch
        self.order = order
        self.batches = batches
        used = min(order.count, batches * batchSize)
        nextTask = min(fromBatch * batchSize, used)
        released = fromBatch
        consumerBatch = fromBatch
        holding = false
        for i in 0..<nbuf { done[i] = 0; errors[i] = nil; errorSlots[i] = Int.max }
        epochStart = nowSeconds()
        cond.broadcast()
        cond.unlock()
    }

    func stop() {
        cond.lock()
        stopping = true
        cond.broadcast()
        while liveWorkers > 0 { cond.wait() }
        cond.unlock()
    }

    func currentStats(workers: Int) -> LoaderStats {
        withLock {
            LoaderStats(images: imagesDone, skipped: skipped, workerSeconds: workerSeconds, waitSeconds: waitSeconds,
                        wallSeconds: nowSeconds() - epochStart, workers: workers)
        }
    }

    func next() throws -> Batch? {
        cond.lock()
        defer { cond.unlock() }
        if holding { releaseLocked() }
        guard consumerBatch < batches else { return nil }
        let b = consumerBatch
        let slot = b % nbuf
        let n = batchCount(b)
        let t0 = nowSeconds()
        while done[slot] < n && !stopping { cond.wait() }
        waitSeconds += nowSeconds() - t0
        if stopping && done[slot] < n { return nil }
        consumerBatch += 1
        holding = true
        if let e = errors[slot] {
            releaseLocked()
            throw e
        }
        return Batch(index: b, count: n, images: images[slot],
                     labels: UnsafeBufferPointer(start: labels[slot], count: n),
                     sampleIndices: UnsafeBufferPointer(start: indices[slot], count: n))
    }

    private func releaseLocked() {
        let slot = (consumerBatch - 1) % nbuf
        done[slot] = 0
        errors[slot] = nil
        errorSlots[slot] = Int.max
        released += 1
        holding = false
        cond.broadcast()
    }

    func workerLoop() {
        let ws = TransformWorkspace()
        cond.lock()
        while true {
            if stopping { break }
            if nextTask < used && nextTask / batchSize < released + nbuf {
                let pos = nextTask
                nextTask += 1
                inFlight += 1
                let ep = epoch
                cond.unlock()
                process(pos: pos, epoch: ep, ws: ws)
                cond.lock()
                inFlight -= 1
                cond.broadcast()
                continue
            }
            cond.wait()
        }
        liveWorkers -= 1
        cond.broadcast()
        cond.unlock()
    }

    /// Fills slot `pos % batchSize` of batch `pos / batchSize`. Runs without the lock; the
    /// epoch fields it reads are not changed while `inFlight > 0`.
    private func process(pos: Int, epoch: Int, ws: TransformWorkspace) {
        let b = pos / batchSize, s = pos % batchSize, slot = b % nbuf
        let out = images[slot] + s * ImageTransform.floatsPerImage
        let t0 = nowSeconds()
        var error: Error? = nil
        var chosen = order[pos]
        var okImages = 0
        var failures: [(sample: Int, message: String)] = []
        switch mode {
        case .eval:
            do {
                try ws.loadEval(path: dataset.path(of: chosen), into: out)
                okImages = 1
            } catch let e {
                error = e
            }
        case .train(let seed):
            // Try the sample, then the following ones of this rank's order (wrapping).
            let attempts = min(order.count, 64)
            var ok = false
            for k in 0..<attempts {
                let idx = order[(pos + k) % order.count]
                do {
                    try ws.loadTrain(path: dataset.path(of: idx), seed: seed, epoch: epoch, index: idx, into: out)
                    chosen = idx
                    ok = true
                    break
                } catch let e {
                    failures.append((idx, "\(e)"))
                }
            }
            if ok { okImages = 1 } else {
                out.update(repeating: 0, count: ImageTransform.floatsPerImage)
                error = DatasetError(path: dataset.path(of: order[pos]), problem: "no readable training image among the \(attempts) tried from here on: the batch cannot be filled")
            }
        }
        labels[slot][s] = Int32(dataset.samples[chosen].label)
        indices[slot][s] = chosen
        let dt = nowSeconds() - t0

        cond.lock()
        workerSeconds += dt
        imagesDone += okImages
        if case .train = mode {
            for f in failures where badSamples.insert(f.sample).inserted {
                skipped += 1
                warn("warning: skipping unreadable image \(f.message)")
            }
            if let limit = maxSkippedFraction, Double(badSamples.count) > limit * Double(order.count), error == nil {
                error = DatasetError(path: dataset.root, problem: "\(badSamples.count) of this rank's \(order.count) training images are unreadable, more than the \(String(format: "%g", 100 * limit))% allowed; the last: \(failures.last?.message ?? "?")")
            }
        } else if error != nil {
            skipped += 1
        }
        if let e = error, s < errorSlots[slot] { errors[slot] = e; errorSlots[slot] = s }  // first failing image
        done[slot] += 1
        if done[slot] == batchCount(b) { cond.broadcast() }
        cond.unlock()
    }
}
