import Foundation
import CMPI
import WoofCore

/// Sums the trainable gradients over all ranks and divides by the rank count, so every
/// rank applies the same update as one process on the whole global batch.
///
/// The flat gradient buffer of the `ParameterStore` is cut into buckets of about
/// `bucketBytes` at parameter boundaries. With `overlap`, a bucket's non-blocking allreduce
/// starts during the backward pass as soon as the last gradient in it is final (as
/// PyTorch DDP does); without it, one blocking allreduce runs after the backward pass.
public final class GradientSync {
    public let comm: Communicator
    public let overlap: Bool
    let store: ParameterStore
    /// Bucket ranges over `store.grads[0..<trainableCount]`.
    public let buckets: [Range<Int>]
    private var bucketOfOffset: [Int: Int] = [:]
    private var initialPending: [Int] = []
    private var pending: [Int] = []
    private var started: [Bool] = []
    private var requests: [MPI_Request?] = []

    /// Bytes handed to allreduce per step (4 × trainable parameters).
    public var bytesPerStep: Int { store.trainableCount * 4 }
    /// Time this rank spent blocked in communication during the last `finish()`.
    public private(set) var lastWaitSeconds = 0.0

    /// Bucket size used unless another is given (4 MiB).
    public static let defaultBucketBytes = 4 << 20

    public init(store: ParameterStore, comm: Communicator, overlap: Bool, bucketBytes: Int = GradientSync.defaultBucketBytes) {
        self.store = store; self.comm = comm; self.overlap = overlap
        var ranges: [Range<Int>] = []
        var start = 0
        var owners: [[Int]] = [[]]
        for e in store.entries where e.trainable {
            if e.offset + e.count - start > bucketBytes / 4 && e.offset > start {
                ranges.append(start..<e.offset); start = e.offset; owners.append([])
            }
            owners[owners.count - 1].append(e.offset)
        }
        if store.trainableCount > start { ranges.append(start..<store.trainableCount) }
        buckets = ranges
        for (b, offs) in owners.enumerated() { for o in offs { bucketOfOffset[o] = b } }
        initialPending = owners.map(\.count)
        pending = initialPending
        started = Array(repeating: false, count: ranges.count)
    }

    /// Call before the backward pass of each step.
    public func beginStep() {
        pending = initialPending
        for i in started.indices { started[i] = false }
        requests.removeAll(keepingCapacity: true)
    }

    /// Tape hook: the gradient of parameter `t` is final.
    public func gradientReady(_ t: Tensor) {
        guard overlap, comm.size > 1, let g = t.grad else { comm.progress(&requests); return }
        let offset = g - store.grads
        guard let b = bucketOfOffset[offset] else { return }
        pending[b] -= 1
        if pending[b] == 0 { start(b) }
        comm.progress(&requests)
    }

    private func start(_ b: Int) {
        started[b] = true
        let r = buckets[b]
        requests.append(comm.startAllreduceSum(store.grads + r.lowerBound, count: r.count))
    }

    /// Completes the allreduce of every bucket and averages over ranks.
    public func finish() {
        let t0 = DispatchTime.now().uptimeNanoseconds
        if overlap && comm.size > 1 {
            for b in buckets.indices where !started[b] { start(b) }
            comm.wait(&requests)
        } else {
            comm.allreduceSum(store.grads, count: store.trainableCount)
        }
        lastWaitSeconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        if comm.size > 1 {
            let inv = 1 / Float(comm.size), g = store.grads
            Parallel.forRanges(store.trainableCount, grain: 1 << 16) { r in for i in r { g[i] *= inv } }
        }
    }

    /// Rank 0's trainable values go to every rank; then all ranks check that every
    /// parameter agrees bit for bit. Returns nil when they do, else a description.
    public func broadcastAndVerify() -> String? {
        comm.broadcast(store.values, count: store.trainableCount)
        let sum = store.checksum()
        let (lo, hi) = comm.minMax(sum)
        return lo == hi ? nil : "parameter checksums differ across ranks after the broadcast (\(String(lo, radix: 16)) vs \(String(hi, radix: 16))): ranks hold different frozen weights"
    }
}
