import Foundation
import WoofCore
import WoofModel
import WoofIO

/// `woof-dist bench --mode gemm`: OpenBLAS sgemm on the ViT's own matrix products at a
/// batch, on one thread and split over the engine's workers (`pgemm`), and the roofline R
/// the engine's modes are measured against.
public struct GemmTiming: Codable {
    /// "qkv forward", "fc1 dW"…; M×N×K of the product.
    public var product: String
    public var m: Int, n: Int, k: Int
    public var oneThreadGflopPerSecond: Double, allThreadsGflopPerSecond: Double

    enum CodingKeys: String, CodingKey {
        case product, m, n, k
        case oneThreadGflopPerSecond = "one_thread_gflop_per_s", allThreadsGflopPerSecond = "all_threads_gflop_per_s"
    }
}

/// The summary line, FLOP-weighted over all products. R is the rate the engine's gemms
/// reach: split over its workers (`pgemm`). The ideal is threads × the one-thread rate; where
/// the "cores" are hyperthreads of one core (as on some VMs) R stays near the one-thread rate.
public struct GemmRoofline: Codable {
    public var threads: Int, batch: Int
    public var oneThreadGflopPerSecond: Double, allThreadsGflopPerSecond: Double, rGflopPerSecond: Double
    public var idealGflopPerSecond: Double

    enum CodingKeys: String, CodingKey {
        case threads, batch
        case oneThreadGflopPerSecond = "one_thread_gflop_per_s", allThreadsGflopPerSecond = "all_threads_gflop_per_s"
        case rGflopPerSecond = "r_gflop_per_s", idealGflopPerSecond = "ideal_gflop_per_s"
    }
}

public enum GemmBenchmark {
    /// One product: its name, whether A and B are transposed, and M, N, K.
    public struct Shape { public var name: String; public var transA: Bool, transB: Bool; public var m: Int, n: Int, k: Int
                          public var flops: Double { 2 * Double(m) * Double(n) * Double(k) } }

    /// The forward product y = x·Wᵀ and both backward ones, dx = dy·W and dW = dyᵀ·x, of each
    /// linear layer in a block (rows = batch × tokens).
    public static func shapes(_ c: ViTConfig, batch: Int) -> [Shape] {
        let rows = batch * c.tokens, d = c.embedDim, h = c.mlpHidden
        return [("qkv", d, 3 * d), ("proj", d, d), ("fc1", d, h), ("fc2", h, d)].flatMap { name, input, out in
            [Shape(name: "\(name) forward", transA: false, transB: true, m: rows, n: out, k: input),
             Shape(name: "\(name) dx", transA: false, transB: false, m: rows, n: input, k: out),
             Shape(name: "\(name) dW", transA: true, transB: false, m: out, n: input, k: rows)]
        }
    }

    /// Median seconds of `repeats` calls of `product` (after one untimed).
    static func seconds(repeats: Int, _ product: () -> Void) -> Double {
        product()
        var t: [Double] = []
        for _ in 0..<repeats {
            let t0 = DispatchTime.now().uptimeNanoseconds
            product()
            t.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        return t.sorted()[t.count / 2]
    }

    /// Times every shape on one thread and on `threads` workers.
    public static func run(batch: Int, threads: Int, repeats: Int, log: (String) -> Void = { _ in }) -> (rows: [GemmTiming], roofline: GemmRoofline) {
        Parallel.configure(threads: threads)
        var rows: [GemmTiming] = []
        var one = (flops: 0.0, s: 0.0), all = (flops: 0.0, s: 0.0)
        for s in shapes(.vitTiny(numClasses: 10), batch: batch) {
            let a = [Float](repeating: 0.01, count: s.m * s.k), b = [Float](repeating: 0.01, count: s.k * s.n)
            var c = [Float](repeating: 0, count: s.m * s.n)
            let (lda, ldb) = (s.transA ? s.m : s.k, s.transB ? s.k : s.n)
            let (t1, tn) = a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
                (seconds(repeats: repeats) { sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, pa.baseAddress!, lda, pb.baseAddress!, ldb, 0, pc.baseAddress!, s.n) },
                 seconds(repeats: repeats) { pgemm(s.transA, s.transB, s.m, s.n, s.k, 1, pa.baseAddress!, lda, pb.baseAddress!, ldb, 0, pc.baseAddress!, s.n) })
            } } }
            let row = GemmTiming(product: s.name, m: s.m, n: s.n, k: s.k,
                                 oneThreadGflopPerSecond: s.flops / t1 / 1e9, allThreadsGflopPerSecond: s.flops / tn / 1e9)
            log(s.name.padding(toLength: 13, withPad: " ", startingAt: 0)
                + String(format: "%5d×%4d×%5d  1 thread %6.1f GFLOP/s, %d threads %6.1f GFLOP/s",
                         s.m, s.n, s.k, row.oneThreadGflopPerSecond, threads, row.allThreadsGflopPerSecond))
            rows.append(row)
            one.flops += s.flops; one.s += t1; all.flops += s.flops; all.s += tn
        }
        let roofline = GemmRoofline(threads: threads, batch: batch, oneThreadGflopPerSecond: one.flops / one.s / 1e9,
                                    allThreadsGflopPerSecond: all.flops / all.s / 1e9,
                                    rGflopPerSecond: all.flops / all.s / 1e9,
                                    idealGflopPerSecond: Double(threads) * one.flops / one.s / 1e9)
        return (rows, roofline)
    }
}
