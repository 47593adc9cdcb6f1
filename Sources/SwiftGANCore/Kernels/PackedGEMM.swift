import CShim

/// C = A B on operands already laid out as the register tiles of one micro-kernel, for the products whose operands
/// the engine writes itself (the Winograd convolutions': transformed weights packed once per weight, transformed
/// inputs written straight into panels). OpenBLAS packs both operands in every call and clears C before it
/// accumulates: 10-20% of a Winograd convolution's GEMM time, which these products skip.
///
/// A (M x K) is packed as row panels [ceil(M / rows)][K][rows] (zero past row M), B (K x N) as column panels
/// [ceil(N / columns)][K][columns]; C is row-major. The micro-kernel holds a rows x columns tile of C in registers
/// (12 x 32: 24 of AVX-512's 32 vector registers) while it runs over K, one broadcast of A and two vectors of B per
/// row and step. It exists where the engine is compiled for AVX-512 (`isAvailable`); elsewhere OpenBLAS runs every
/// product.
enum PackedGEMM {
    /// Whether this build of the engine has the micro-kernel.
    static let isAvailable = SG_AVX512 != 0
    /// Rows of C in a register tile (and of A in a row panel).
    static let rows = 12
    /// Columns of C in a register tile (and of B in a column panel).
    static let columns = 32

    /// Floats of an M x K matrix packed as row panels.
    static func rowPanelsCount(m: Int, k: Int) -> Int { (m + rows - 1) / rows * rows * k }

    /// Floats of a K x N matrix packed as column panels.
    static func columnPanelsCount(k: Int, n: Int) -> Int { (n + columns - 1) / columns * columns * k }

    /// Where element (k, j) of a K x N matrix packed as column panels lies.
    @inline(__always) static func columnPanelOffset(k: Int, column j: Int, depth: Int) -> Int {
        (j / columns) * (depth * columns) + k * columns + j % columns
    }

    /// Packs the M x K matrix A (A[i, k] = a[i * lda + k], or with `transposed` a[k * lda + i]) as row panels, zero
    /// past row M.
    static func packRows(
        _ a: UnsafePointer<Float>, lda: Int, transposed: Bool = false, m: Int, k: Int,
        into panels: UnsafeMutablePointer<Float>
    ) {
        packPanels(a, lda: lda, transposed: transposed, count: m, depth: k, height: rows, into: panels)
    }

    /// Packs the K x N matrix B from its transpose (B[k, j] = bt[j * ldb + k]) as column panels, zero past column N.
    static func packColumns(
        transposed bt: UnsafePointer<Float>, ldb: Int, k: Int, n: Int, into panels: UnsafeMutablePointer<Float>
    ) {
        packPanels(bt, lda: ldb, count: n, depth: k, height: columns, into: panels)
    }

    /// Packs `count` lines of `depth` floats (line i, step kk at source[i * ld + kk], or with `transposed` at
    /// source[kk * ld + i]) as panels [ceil(count / height)][depth][height], zero past line `count`: A's row panels
    /// (height `rows`) and B's column panels from B's transpose (height `columns`).
    private static func packPanels(
        _ source: UnsafePointer<Float>, lda ld: Int, transposed: Bool = false, count: Int, depth k: Int, height: Int,
        into panels: UnsafeMutablePointer<Float>
    ) {
        for i0 in Swift.stride(from: 0, to: count, by: height) {
            let panel = panels + i0 * k, lines = Swift.min(height, count - i0)
            if transposed {  // each step of k is a run of `lines` floats
                for kk in 0..<k {
                    let (src, dst) = (source + kk * ld + i0, panel + kk * height)
                    for r0 in Swift.stride(from: 0, to: height, by: 8) {
                        store8(
                            load8(src + r0, Swift.max(0, Swift.min(8, lines - r0))), dst + r0, Swift.min(8, height - r0)
                        )
                    }
                }
                continue
            }
            // Eight steps of k of eight (then the remaining) lines at a time, transposed in registers.
            var kk = 0
            while kk + 8 <= k {
                for r0 in Swift.stride(from: 0, to: height, by: 8) {
                    let valid = Swift.min(8, lines - r0)
                    transpose8(
                        { r in r < valid ? load8(source + (i0 + r0 + r) * ld + kk) : SIMD8() },
                        { j, column in store8(column, panel + (kk + j) * height + r0, Swift.min(8, height - r0)) })
                }
                kk += 8
            }
            for kk in kk..<k {
                for r in 0..<height { panel[kk * height + r] = r < lines ? source[(i0 + r) * ld + kk] : 0 }
            }
        }
    }

    /// C[rowPanels] = A B (or with `accumulate`, C[rowPanels] += A B) for the row panels `rowPanels` of C (M x N,
    /// row-major with leading dimension ldc), from A and B packed as this type describes; single-threaded (callers
    /// spread products and row panels over threads). Runs over the row panels outermost, so that one panel of A (rows
    /// x K) stays in the level-1 cache while the panels of B stream from level 2. Never inlined: inlined into a
    /// caller's loop, the register tile can spill to the stack.
    @inline(never) static func multiply(
        m: Int, n: Int, k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>,
        ldc: Int, rowPanels: Range<Int>, accumulate: Bool = false
    ) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: rows * columns) { edge in
            let edge = edge.baseAddress!
            for panel in rowPanels {
                let i0 = panel * rows, height = Swift.min(rows, m - i0), aPanel = a + i0 * k
                for j0 in Swift.stride(from: 0, to: n, by: columns) {
                    let width = Swift.min(columns, n - j0), bPanel = b + j0 * k, tile = c + i0 * ldc + j0
                    if width == columns && height % 4 == 0 {
                        multiplyTile(
                            height: height, k: k, a: aPanel, b: bPanel, c: tile, ldc: ldc, accumulate: accumulate)
                        continue
                    }
                    if accumulate {
                        edge.update(repeating: 0, count: rows * columns)
                        for r in 0..<height { (edge + r * columns).update(from: tile + r * ldc, count: width) }
                    }
                    let rounded = (height + 3) / 4 * 4
                    multiplyTile(
                        height: rounded, k: k, a: aPanel, b: bPanel, c: edge, ldc: columns, accumulate: accumulate)
                    for r in 0..<height { (tile + r * ldc).update(from: edge + r * columns, count: width) }
                }
            }
        }
    }

    /// The rows x columns tile product for `height` (4, 8 or 12) rows of the panel: the micro-kernel on those rows
    /// alone (a last row panel of 4 or 8 rows does a third or two thirds of a full one's work).
    @inline(__always) private static func multiplyTile(
        height: Int, k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>,
        ldc: Int, accumulate: Bool
    ) {
        switch height {
        case 4: multiplyTile(rowGroups: 1, k: k, a: a, b: b, c: c, ldc: ldc, accumulate: accumulate)
        case 8: multiplyTile(rowGroups: 2, k: k, a: a, b: b, c: c, ldc: ldc, accumulate: accumulate)
        default: multiplyTile(rowGroups: 3, k: k, a: a, b: b, c: c, ldc: ldc, accumulate: accumulate)
        }
    }

    /// Two vectors of a row of the tile.
    private struct Row {
        var low = SIMD16<Float>(), high = SIMD16<Float>()

        @inline(__always) init() {}

        @inline(__always) init(_ p: UnsafePointer<Float>) {
            low = UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
            high = UnsafeRawPointer(p + 16).loadUnaligned(as: SIMD16<Float>.self)
        }

        /// self += a * b.
        @inline(__always) mutating func add(_ a: Float, times b: Row) {
            let x = SIMD16<Float>(repeating: a)
            low = sg_multiply_add16(x, b.low, low)
            high = sg_multiply_add16(x, b.high, high)
        }

        /// Stores the row at p (with `adding`, adds it to the row there).
        @inline(__always) func store(_ p: UnsafeMutablePointer<Float>, adding: Bool) {
            var row = self
            if adding {
                let old = Row(p)
                (row.low, row.high) = (low + old.low, high + old.high)
            }
            UnsafeMutableRawPointer(p).storeBytes(of: row.low, as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(p + 16).storeBytes(of: row.high, as: SIMD16<Float>.self)
        }
    }

    /// The micro-kernel: the tile c = a b (or c += a b) of the first 4 * rowGroups rows (a constant where inlined: 1,
    /// 2 or 3) of one row panel a and one column panel b, over k.
    @inline(__always) private static func multiplyTile(
        rowGroups: Int, k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>,
        ldc: Int, accumulate: Bool
    ) {
        var (c0, c1, c2, c3, c4, c5) = (Row(), Row(), Row(), Row(), Row(), Row())
        var (c6, c7, c8, c9, c10, c11) = (Row(), Row(), Row(), Row(), Row(), Row())
        var (a, b) = (a, b)
        for _ in 0..<k {
            let row = Row(b)
            c0.add(a[0], times: row)
            c1.add(a[1], times: row)
            c2.add(a[2], times: row)
            c3.add(a[3], times: row)
            if rowGroups > 1 {
                c4.add(a[4], times: row)
                c5.add(a[5], times: row)
                c6.add(a[6], times: row)
                c7.add(a[7], times: row)
            }
            if rowGroups > 2 {
                c8.add(a[8], times: row)
                c9.add(a[9], times: row)
                c10.add(a[10], times: row)
                c11.add(a[11], times: row)
            }
            a += rows
            b += columns
        }
        c0.store(c, adding: accumulate)
        c1.store(c + ldc, adding: accumulate)
        c2.store(c + 2 * ldc, adding: accumulate)
        c3.store(c + 3 * ldc, adding: accumulate)
        guard rowGroups > 1 else { return }
        c4.store(c + 4 * ldc, adding: accumulate)
        c5.store(c + 5 * ldc, adding: accumulate)
        c6.store(c + 6 * ldc, adding: accumulate)
        c7.store(c + 7 * ldc, adding: accumulate)
        guard rowGroups > 2 else { return }
        c8.store(c + 8 * ldc, adding: accumulate)
        c9.store(c + 9 * ldc, adding: accumulate)
        c10.store(c + 10 * ldc, adding: accumulate)
        c11.store(c + 11 * ldc, adding: accumulate)
    }
}
