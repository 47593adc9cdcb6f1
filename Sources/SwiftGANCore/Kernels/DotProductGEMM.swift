import CShim

/// C += A B^T for row-major A (M x K) and B (N x K) read where they lie, for products whose K is long: the weight
/// gradients of im2col convolutions, outGrad x columns^T, where K is the batch's output pixels (thousands) and im2col
/// writes the columns with K contiguous. The register tile holds 4 x 6 dot products as vectors of 16 partial sums over
/// K, so neither operand is copied into panels; the partial sums are reduced once per block of K. OpenBLAS copies
/// both operands first (a fifth of its time on these shapes) and ran them at 90-180 GFLOP/s.
enum DotProductGEMM {
    /// Whether this build has the kernel (AVX-512: its 24 vector sums need 24 of the 32 registers).
    static let isAvailable = PackedGEMM.isAvailable
    /// Rows of A, and of B, in a register tile.
    static let tileRows = 4
    static let tileColumns = 6
    /// Steps of K per block: A's block (M x depth floats) stays in the level-2 cache while a tile's rows of B's block
    /// stay in level 1.
    static let depth = 1024
    /// The shortest K worth the kernel: below it, reducing the partial sums costs more than the packing it saves.
    static let minDepth = 512

    /// C += A B^T (A: M x K with leading dimension lda, B: N x K with ldb, C: M x N with ldc), parallel over column
    /// groups of C. For each block of K, a group's six rows of B stay in the level-1 cache while the tiles run down
    /// A's block (level 2).
    static func addProduct(
        m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let groups = (n + tileColumns - 1) / tileColumns, chunks = Swift.min(Threads.count, groups)
        nonisolated(unsafe) let (a, b, c) = (a, b, c)
        parallelFor(chunks, costPerItem: m * n * k / chunks) { chunk in
            let j0 = groups * chunk / chunks * tileColumns,
                j1 = Swift.min(n, groups * (chunk + 1) / chunks * tileColumns)
            for k0 in Swift.stride(from: 0, to: k, by: depth) {
                let steps = Swift.min(depth, k - k0)
                for j in Swift.stride(from: j0, to: j1, by: tileColumns) {
                    let columns = Swift.min(tileColumns, j1 - j), bTile = b + j * ldb + k0
                    for i in Swift.stride(from: 0, to: m, by: tileRows) {
                        let rows = Swift.min(tileRows, m - i), aTile = a + i * lda + k0, cTile = c + i * ldc + j
                        if rows == tileRows && columns == tileColumns {
                            tile(k: steps, a: aTile, lda: lda, b: bTile, ldb: ldb, c: cTile, ldc: ldc)
                        } else {
                            edgeTile(
                                rows: rows, columns: columns, k: steps, a: aTile, lda: lda, b: bTile, ldb: ldb,
                                c: cTile, ldc: ldc)
                        }
                    }
                }
            }
        }
    }

    /// Six rows of B at one step of K.
    private struct Columns {
        var b0, b1, b2, b3, b4, b5: SIMD16<Float>

        @inline(__always) init(_ b: UnsafePointer<Float>, _ ldb: Int) {
            b0 = load16(b)
            b1 = load16(b + ldb)
            b2 = load16(b + 2 * ldb)
            b3 = load16(b + 3 * ldb)
            b4 = load16(b + 4 * ldb)
            b5 = load16(b + 5 * ldb)
        }
    }

    /// A row of the tile: the partial sums of its six dot products.
    private struct Sums {
        var s0 = SIMD16<Float>(), s1 = SIMD16<Float>(), s2 = SIMD16<Float>()
        var s3 = SIMD16<Float>(), s4 = SIMD16<Float>(), s5 = SIMD16<Float>()

        @inline(__always) init() {}

        @inline(__always) mutating func add(_ a: SIMD16<Float>, times b: Columns) {
            s0 = sg_multiply_add16(a, b.b0, s0)
            s1 = sg_multiply_add16(a, b.b1, s1)
            s2 = sg_multiply_add16(a, b.b2, s2)
            s3 = sg_multiply_add16(a, b.b3, s3)
            s4 = sg_multiply_add16(a, b.b4, s4)
            s5 = sg_multiply_add16(a, b.b5, s5)
        }

        /// Adds the six dot products to c[0..<6].
        @inline(__always) func add(into c: UnsafeMutablePointer<Float>) {
            c[0] += total(s0)
            c[1] += total(s1)
            c[2] += total(s2)
            c[3] += total(s3)
            c[4] += total(s4)
            c[5] += total(s5)
        }
    }

    /// The 4 x 6 tile of C += A B^T over k steps (rows of A and B `ld` apart).
    @inline(__always) private static func tile(
        k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>,
        ldc: Int
    ) {
        var (r0, r1, r2, r3) = (Sums(), Sums(), Sums(), Sums())
        let whole = k & ~15
        var kk = 0
        while kk < whole {
            let columns = Columns(b + kk, ldb)
            r0.add(load16(a + kk), times: columns)
            r1.add(load16(a + lda + kk), times: columns)
            r2.add(load16(a + 2 * lda + kk), times: columns)
            r3.add(load16(a + 3 * lda + kk), times: columns)
            kk += 16
        }
        r0.add(into: c)
        r1.add(into: c + ldc)
        r2.add(into: c + 2 * ldc)
        r3.add(into: c + 3 * ldc)
        if whole < k {
            edgeTile(
                rows: tileRows, columns: tileColumns, k: k - whole, a: a + whole, lda: lda, b: b + whole, ldb: ldb,
                c: c, ldc: ldc)
        }
    }

    /// A partial tile (or the last steps of K), one dot product at a time.
    private static func edgeTile(
        rows: Int, columns: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let whole = k & ~15
        for i in 0..<rows {
            for j in 0..<columns {
                let (x, y) = (a + i * lda, b + j * ldb)
                var sums = SIMD16<Float>()
                for kk in Swift.stride(from: 0, to: whole, by: 16) {
                    sums = sg_multiply_add16(load16(x + kk), load16(y + kk), sums)
                }
                var sum = total(sums)
                for kk in whole..<k { sum += x[kk] * y[kk] }
                c[i * ldc + j] += sum
            }
        }
    }
}

/// Sixteen floats from p, unaligned.
@inline(__always) private func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}

/// The sum of the lanes, halving the vector until one lane is left.
@inline(__always) private func total(_ v: SIMD16<Float>) -> Float {
    let eight = v.lowHalf + v.highHalf, four = eight.lowHalf + eight.highHalf, two = four.lowHalf + four.highHalf
    return two[0] + two[1]
}
