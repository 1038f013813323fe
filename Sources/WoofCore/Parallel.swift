import Foundation
import CBLAS

/// Thread settings for the engine: row-parallel elementwise kernels and OpenBLAS.
public enum Parallel {
    /// Worker count for row-parallel kernels (default: all cores).
    nonisolated(unsafe) public static var threads = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Sets the number of threads OpenBLAS uses for sgemm.
    public static func setBLASThreads(_ n: Int) { openblas_set_num_threads(Int32(max(1, n))) }
    public static var blasThreads: Int { Int(openblas_get_num_threads()) }

    /// Runs `body` over `0..<n` split into contiguous chunks, one per worker. Work below
    /// `grain` items stays on the calling thread (thread hand-off costs more than it saves).
    @inline(__always)
    public static func forRanges(_ n: Int, grain: Int = 4096, _ body: (Range<Int>) -> Void) {
        let workers = min(threads, max(1, n / max(grain, 1)))
        if workers <= 1 { if n > 0 { body(0..<n) }; return }
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let lo = n * w / workers, hi = n * (w + 1) / workers
            if lo < hi { body(lo..<hi) }
        }
    }

    /// Like `forRanges` but also passes the worker index, for per-worker partial sums.
    /// Returns the number of workers used.
    @discardableResult @inline(__always)
    public static func forChunks(_ n: Int, grain: Int = 4096, _ body: (Int, Range<Int>) -> Void) -> Int {
        let workers = min(threads, max(1, n / max(grain, 1)))
        if workers <= 1 { if n > 0 { body(0, 0..<n) }; return 1 }
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let lo = n * w / workers, hi = n * (w + 1) / workers
            if lo < hi { body(w, lo..<hi) }
        }
        return workers
    }
}

/// Row-major `C = alpha * op(A) * op(B) + beta * C` through OpenBLAS.
@inline(__always)
public func sgemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int,
                  _ alpha: Float, _ a: UnsafePointer<Float>, _ lda: Int,
                  _ b: UnsafePointer<Float>, _ ldb: Int,
                  _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
}
