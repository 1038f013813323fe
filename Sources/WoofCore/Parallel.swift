import Foundation
import CBLAS

/// Thread settings for the engine: row-parallel elementwise kernels and OpenBLAS.
public enum Parallel {
    /// Worker count for row-parallel kernels (default: all cores).
    nonisolated(unsafe) public static var threads = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Sets the number of threads OpenBLAS uses inside one sgemm call. The engine keeps
    /// this at 1 and splits gemms over its own workers (`pgemm`): OpenBLAS's pool spins
    /// after each call and would fight the row-parallel kernels for the same cores.
    public static func setBLASThreads(_ n: Int) { openblas_set_num_threads(Int32(max(1, n))) }
    public static var blasThreads: Int { Int(openblas_get_num_threads()) }

    /// OpenBLAS runs single-threaded unless told otherwise; touched by every `Tape`.
    static let blasSingleThreaded: Void = { openblas_set_num_threads(1) }()

    /// Sets the worker count for everything: row-parallel kernels and split gemms.
    public static func configure(threads n: Int) {
        threads = max(1, n)
        setBLASThreads(1)
    }

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

/// `sgemm` split over `Parallel.threads` workers along the larger of m and n; each worker
/// runs a single-threaded sgemm on its block of C, so blocks never overlap.
public func pgemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int,
                  _ alpha: Float, _ a: UnsafePointer<Float>, _ lda: Int,
                  _ b: UnsafePointer<Float>, _ ldb: Int,
                  _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
    let workers = Parallel.threads
    if workers <= 1 || Double(m) * Double(n) * Double(k) < 2e6 {
        sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc); return
    }
    if m >= n {
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let lo = (m * w / workers) & ~7, hi = w == workers - 1 ? m : (m * (w + 1) / workers) & ~7
            guard lo < hi else { return }
            sgemm(transA, transB, hi - lo, n, k, alpha, transA ? a + lo : a + lo * lda, lda, b, ldb, beta, c + lo * ldc, ldc)
        }
    } else {
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let lo = (n * w / workers) & ~15, hi = w == workers - 1 ? n : (n * (w + 1) / workers) & ~15
            guard lo < hi else { return }
            sgemm(transA, transB, m, hi - lo, k, alpha, a, lda, transB ? b + lo * ldb : b + lo, ldb, beta, c + lo, ldc)
        }
    }
}
