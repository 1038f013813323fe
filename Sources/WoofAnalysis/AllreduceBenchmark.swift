import Foundation
import WoofDist
import WoofIO

/// `woof-dist bench --mode allreduce`: the time of one blocking float allreduce per message
/// size, the raw data an α–β model of the network is fitted to (`NetworkModel`).
public struct AllreduceTiming {
    public var ranks: Int, bytes: Int
    /// Median and fastest of the repetitions (s).
    public var medianSeconds: Double, minSeconds: Double

    public static let csvColumns = ["ranks", "bytes", "allreduce_s", "allreduce_min_s"]
    public var csvRow: [String] {
        [String(ranks), String(bytes), String(format: "%.6f", medianSeconds), String(format: "%.6f", minSeconds)]
    }

    /// Default sizes: 4 KiB to 32 MiB (the full model's gradient is 22 MB, LoRA's 1.2 MB).
    public static let defaultBytes = [4096, 16384, 65536, 262_144, 1 << 20, 4 << 20, 16 << 20, 32 << 20]
}

/// Times `repeats` allreduces (after one untimed) of each size on every rank; all ranks
/// must call it with the same arguments. A barrier before each one keeps a slow rank's
/// arrival out of the next timing.
public func runAllreduceBenchmark(bytes sizes: [Int], repeats: Int, log: (String) -> Void = { _ in }) -> [AllreduceTiming] {
    let comm = Communicator.world
    var rows: [AllreduceTiming] = []
    for size in sizes {
        let count = max(1, size / 4)
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: count)
        buffer.initialize(repeating: 1e-3, count: count)
        defer { buffer.deallocate() }
        var times: [Double] = []
        for i in 0...repeats {
            comm.barrier()
            let t0 = DispatchTime.now().uptimeNanoseconds
            comm.allreduceSum(buffer, count: count)
            if i > 0 { times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9) }
        }
        times.sort()
        let row = AllreduceTiming(ranks: comm.size, bytes: 4 * count, medianSeconds: times[times.count / 2], minSeconds: times[0])
        log(String(format: "allreduce %d bytes: median %.3f ms", row.bytes, row.medianSeconds * 1000))
        rows.append(row)
    }
    return rows
}
