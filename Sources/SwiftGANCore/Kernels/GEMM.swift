import CShim

/// C = alpha * op(A) * op(B) + beta * C, row-major, with op = transpose when the flag is set.
/// A is M x K after op, B is K x N after op, C is M x N with leading dimension ldc.
///
/// OpenBLAS runs single-threaded; the engine splits C into column (or row) blocks over its own threads. So only
/// one set of threads ever runs, and OpenBLAS's workers never spin against the engine's parallel loops.
func sgemm(
    transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    guard m > 0, n > 0 else { return }
    if k == 0 {
        for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
        return
    }
    nonisolated(unsafe) let a = a, b = b, c = c
    func block(_ rows: Range<Int>, _ cols: Range<Int>) {
        let aBlock = transA ? a + rows.lowerBound : a + rows.lowerBound * lda
        let bBlock = transB ? b + cols.lowerBound * ldb : b + cols.lowerBound
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(rows.count), Int32(cols.count), Int32(k), alpha, aBlock, Int32(lda), bBlock, Int32(ldb), beta,
            c + rows.lowerBound * ldc + cols.lowerBound, Int32(ldc))
    }
    let threads = Threads.count
    let work = m * n * k
    guard threads > 1, work >= 1 << 21 else { return block(0..<m, 0..<n) }
    // Split the larger of M and N into one block per thread, in multiples of 16 (the kernels' register tiles).
    let splitColumns = n >= m
    let extent = splitColumns ? n : m
    let parts = Swift.min(threads, Swift.max(1, extent / 16))
    parallelFor(parts, costPerItem: 1 << 20) { p in
        let lo = (extent * p / parts) & ~15, hi = p == parts - 1 ? extent : (extent * (p + 1) / parts) & ~15
        if splitColumns { block(0..<m, lo..<hi) } else { block(lo..<hi, 0..<n) }
    }
}
