import CShim

/// Winograd minimal filtering F(2x2, 3x3) (Lavin and Gray, 2016) for stride-1 3x3 convolutions: the resblocks of
/// CycleGAN and the modulated and residual-discriminator convs of StyleGAN. Each 2x2 output tile is
/// A^T [(G g G^T) * (B^T d B)] A for the 4x4 input tile d around it, so the channel sums become 16 GEMMs
/// [O, C] x [C, tiles], with 16 multiplies per 4 outputs instead of 36: 2.25x fewer FLOPs than im2col + GEMM.
///
/// The three primitives stay exact adjoints of each other: the image gradient is the same forward pass with the
/// kernel flipped and channels swapped, and the weight gradient runs the forward algorithm's adjoint (the output
/// transform's transpose on the gradient, GEMMs against the same input tiles, then G^T dU G).
extension ConvGeometry {
    /// Whether the convolution takes the Winograd kernels: 3x3, stride 1, padding 0 or 1 (so the image gradient is
    /// again such a convolution), and enough channels on both sides for the 16 GEMMs to be worth it.
    var usesWinograd: Bool {
        kernelHeight == 3 && kernelWidth == 3 && stride == 1 && padding <= 1 && inChannels >= 16 && outChannels >= 16
    }

    /// Output tiles per sample along each axis.
    private var tileRows: Int { (outHeight + 1) / 2 }
    private var tileCols: Int { (outWidth + 1) / 2 }

    /// Tile rows per chunk: the transformed inputs and products of a chunk take an eighth of the column budget
    /// (8 MB), so they stay in cache between the transforms and the GEMMs.
    private var tileRowsPerChunk: Int {
        let tiles = ConvGeometry.columnBudget / 8 / (16 * Swift.max(inChannels, outChannels))
        return Swift.max(1, Swift.min(batch * tileRows, tiles / tileCols))
    }

    /// Runs body(first tile row, tile rows) over chunks of whole tile rows; tile row r is row r % tileRows of
    /// sample r / tileRows, and a chunk's tiles are numbered row by row.
    private func forEachChunk(_ body: (Int, Int) throws -> Void) rethrows {
        let total = batch * tileRows, chunk = tileRowsPerChunk
        for r0 in Swift.stride(from: 0, to: total, by: chunk) { try body(r0, Swift.min(chunk, total - r0)) }
    }

    /// Runs body(channel, buffer) for channels 0..<count in parallel, each with a scratch buffer of `floats` floats.
    private func forEachChannel(_ count: Int, cost: Int, scratch floats: Int, _ body: (Int, UnsafeMutablePointer<Float>) -> Void) {
        parallelFor(count, costPerItem: cost) { channel in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: floats) { body(channel, $0.baseAddress!) }
        }
    }

    /// (sample, tile row within the sample) of global tile row r.
    @inline(__always) private func tileRow(_ r: Int) -> (Int, Int) { (r / tileRows, r % tileRows) }

    /// U[xi, o, c] = (G g G^T)[xi] for every kernel g = weight[o, c] ([O, C, 3, 3]).
    private func transformWeights(_ weight: UnsafePointer<Float>, into u: UnsafeMutablePointer<Float>) {
        nonisolated(unsafe) let (w, u) = (weight, u)
        let (o, c) = (outChannels, inChannels), plane = o * c
        forEachChannel(o, cost: c * 64, scratch: 9 * c) { oi, buffer in
            // The nine taps of this output channel's kernels, each contiguous over c (so the loop below vectorizes).
            let taps = buffer, kernels = w + oi * c * 9
            for ci in 0..<c { for k in 0..<9 { taps[k * c + ci] = kernels[ci * 9 + k] } }
            let dst = u + oi * c
            forEachVector(c) { ci in
                let n = Swift.min(8, c - ci)
                @inline(__always) func tap(_ k: Int) -> SIMD8<Float> { load8(taps + k * c + ci, n) }
                // G g: rows g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2; then the same on the columns.
                @inline(__always) func store(_ i: Int, _ a: SIMD8<Float>, _ b: SIMD8<Float>, _ e: SIMD8<Float>) {
                    store8(a, dst + (4 * i) * plane + ci, n)
                    store8(0.5 * (a + b + e), dst + (4 * i + 1) * plane + ci, n)
                    store8(0.5 * (a - b + e), dst + (4 * i + 2) * plane + ci, n)
                    store8(e, dst + (4 * i + 3) * plane + ci, n)
                }
                store(0, tap(0), tap(1), tap(2))
                store(1, 0.5 * (tap(0) + tap(3) + tap(6)), 0.5 * (tap(1) + tap(4) + tap(7)), 0.5 * (tap(2) + tap(5) + tap(8)))
                store(2, 0.5 * (tap(0) - tap(3) + tap(6)), 0.5 * (tap(1) - tap(4) + tap(7)), 0.5 * (tap(2) - tap(5) + tap(8)))
                store(3, tap(6), tap(7), tap(8))
            }
        }
    }

    /// dW[o, c] = G^T dU[., o, c] G: the adjoint of `transformWeights`.
    private func transformWeightsAdjoint(_ du: UnsafePointer<Float>, into weightGrad: UnsafeMutablePointer<Float>) {
        nonisolated(unsafe) let (du, gw) = (du, weightGrad)
        let (o, c) = (outChannels, inChannels), plane = o * c
        forEachChannel(o, cost: c * 64, scratch: 9 * c) { oi, buffer in
            let taps = buffer, src = du + oi * c
            forEachVector(c) { ci in
                let n = Swift.min(8, c - ci)
                @inline(__always) func d(_ i: Int, _ j: Int) -> SIMD8<Float> { load8(src + (4 * i + j) * plane + ci, n) }
                // G^T dU: rows d0 + (d1 + d2) / 2, (d1 - d2) / 2, (d1 + d2) / 2 + d3; then the same on the columns.
                @inline(__always) func store(_ k: Int, _ t: (Int) -> SIMD8<Float>) {
                    store8(t(0) + 0.5 * (t(1) + t(2)), taps + (3 * k) * c + ci, n)
                    store8(0.5 * (t(1) - t(2)), taps + (3 * k + 1) * c + ci, n)
                    store8(0.5 * (t(1) + t(2)) + t(3), taps + (3 * k + 2) * c + ci, n)
                }
                store(0) { j in d(0, j) + 0.5 * (d(1, j) + d(2, j)) }
                store(1) { j in 0.5 * (d(1, j) - d(2, j)) }
                store(2) { j in 0.5 * (d(1, j) + d(2, j)) + d(3, j) }
            }
            let kernels = gw + oi * c * 9
            for ci in 0..<c { for k in 0..<9 { kernels[ci * 9 + k] = taps[k * c + ci] } }
        }
    }

    /// V[xi, c, t] = (B^T d B)[xi] for the 4x4 input tile d (zero outside the image) of every tile t of tile rows
    /// r0..<r0+rows. Each input row is split into even and odd columns, so that the column transform of all tiles
    /// in a row is a handful of contiguous (vectorized) loops. V has leading dimension `ld` (see `chunkStride`).
    private func transformInput(_ image: UnsafePointer<Float>, _ r0: Int, _ rows: Int, into v: UnsafeMutablePointer<Float>) {
        nonisolated(unsafe) let (x, v) = (image, v)
        let g = self, c = inChannels, tc = tileCols, ld = chunkStride(rows), plane = c * ld
        let half = tc + 1  // even (odd) columns a row of tiles reads
        let stride = ((2 * half + 7) & ~7) + 8  // a buffer row, with room for whole vectors
        forEachChannel(c, cost: rows * tc * 48, scratch: 8 * stride) { ci, buffer in
            // d[i] = input row i of the tile row as [even columns | odd columns]; r[a] = row a of B^T d.
            let d = buffer, r = d + 4 * stride
            for row in 0..<rows {
                let (n, ty) = g.tileRow(r0 + row)
                let src = x + (n * c + ci) * g.inPlane
                d.update(repeating: 0, count: 4 * stride)
                for i in 0..<4 {
                    let y = 2 * ty - g.padding + i
                    guard y >= 0 && y < g.inHeight else { continue }
                    let line = src + y * g.inWidth, di = d + i * stride
                    for col in 0..<g.inWidth {
                        let q = col + g.padding
                        di[(q & 1) * half + (q >> 1)] = line[col]
                    }
                }
                let (d0, d1, d2, d3) = (d, d + stride, d + 2 * stride, d + 3 * stride)
                let (q0, q1, q2, q3) = (r, r + stride, r + 2 * stride, r + 3 * stride)
                forEachVector(2 * half) { k in
                    let (a0, a1, a2, a3) = (load8(d0 + k), load8(d1 + k), load8(d2 + k), load8(d3 + k))
                    store8(a0 - a2, q0 + k)
                    store8(a1 + a2, q1 + k)
                    store8(a2 - a1, q2 + k)
                    store8(a1 - a3, q3 + k)
                }
                // Whole vectors: lanes past the row's last tile land where the next row (or the padding) goes.
                for a in 0..<4 {
                    let even = r + a * stride, odd = even + half
                    let dst = v + (4 * a) * plane + ci * ld + row * tc
                    forEachVector(tc) { t in
                        let (e0, e1, o0, o1) = (load8(even + t), load8(even + t + 1), load8(odd + t), load8(odd + t + 1))
                        store8(e0 - e1, dst + t)
                        store8(o0 + e1, dst + plane + t)
                        store8(e1 - o0, dst + 2 * plane + t)
                        store8(o0 - o1, dst + 3 * plane + t)
                    }
                }
            }
        }
    }

    /// The output tiles of tile rows r0..<r0+rows: A^T m A for m = M[., o, t], keeping the part inside the output.
    private func transformOutput(_ m: UnsafePointer<Float>, _ r0: Int, _ rows: Int, into out: UnsafeMutablePointer<Float>) {
        nonisolated(unsafe) let (m, y) = (m, out)
        let g = self, o = outChannels, tc = tileCols, ld = chunkStride(rows), plane = o * ld
        let stride = (tc + 7) & ~7  // a buffer row, in whole vectors
        forEachChannel(o, cost: rows * tc * 40, scratch: 8 * stride) { oi, buffer in
            // p[s * 4 + j] = entry j of row s of A^T m, for all tiles of the row.
            let p = buffer
            for row in 0..<rows {
                let (n, ty) = g.tileRow(r0 + row)
                let src = m + oi * ld + row * tc
                for j in 0..<4 {
                    let (m0, m1, m2, m3) = (src + j * plane, src + (4 + j) * plane, src + (8 + j) * plane, src + (12 + j) * plane)
                    let (top, bottom) = (p + j * stride, p + (4 + j) * stride)
                    forEachVector(tc) { t in
                        let (a0, a1, a2, a3) = (load8(m0 + t), load8(m1 + t), load8(m2 + t), load8(m3 + t))
                        store8(a0 + a1 + a2, top + t)
                        store8(a1 - a2 - a3, bottom + t)
                    }
                }
                for s in 0..<2 where 2 * ty + s < g.outHeight {
                    let (p0, p1, p2, p3) = (p + 4 * s * stride, p + (4 * s + 1) * stride, p + (4 * s + 2) * stride, p + (4 * s + 3) * stride)
                    let dst = y + (n * o + oi) * g.outPlane + (2 * ty + s) * g.outWidth
                    let pairs = g.outWidth / 2
                    for t in 0..<pairs {
                        dst[2 * t] = p0[t] + p1[t] + p2[t]
                        dst[2 * t + 1] = p1[t] - p2[t] - p3[t]
                    }
                    if g.outWidth % 2 == 1 { dst[2 * pairs] = p0[pairs] + p1[pairs] + p2[pairs] }
                }
            }
        }
    }

    /// dM[xi, o, t] = (A y A^T)[xi] for the 2x2 output-gradient tile y (zero outside the output) of every tile of
    /// tile rows r0..<r0+rows: the adjoint of `transformOutput`.
    private func transformOutputAdjoint(_ outGrad: UnsafePointer<Float>, _ r0: Int, _ rows: Int, into dm: UnsafeMutablePointer<Float>) {
        nonisolated(unsafe) let (gy, dm) = (outGrad, dm)
        let g = self, o = outChannels, tc = tileCols, ld = chunkStride(rows), plane = o * ld
        let stride = (tc + 7) & ~7  // a buffer row, in whole vectors
        forEachChannel(o, cost: rows * tc * 40, scratch: 4 * stride) { oi, buffer in
            // The tile row's two gradient rows as [even columns | odd columns], zero outside the output.
            let e = buffer
            for row in 0..<rows {
                let (n, ty) = g.tileRow(r0 + row)
                e.update(repeating: 0, count: 4 * stride)
                for s in 0..<2 where 2 * ty + s < g.outHeight {
                    let line = gy + (n * o + oi) * g.outPlane + (2 * ty + s) * g.outWidth, es = e + 2 * s * stride
                    for col in 0..<g.outWidth { es[(col & 1) * stride + (col >> 1)] = line[col] }
                }
                let (e0, o0, e1, o1) = (e, e + stride, e + 2 * stride, e + 3 * stride)
                let dst = dm + oi * ld + row * tc
                // A y: rows y0, y0 + y1, y0 - y1, -y1; then the same on the columns (whole vectors, as in
                // `transformInput`).
                forEachVector(tc) { t in
                    @inline(__always) func store(_ i: Int, _ pe: SIMD8<Float>, _ po: SIMD8<Float>) {
                        store8(pe, dst + (4 * i) * plane + t)
                        store8(pe + po, dst + (4 * i + 1) * plane + t)
                        store8(pe - po, dst + (4 * i + 2) * plane + t)
                        store8(-po, dst + (4 * i + 3) * plane + t)
                    }
                    let (a0, b0, a1, b1) = (load8(e0 + t), load8(o0 + t), load8(e1 + t), load8(o1 + t))
                    store(0, a0, b0)
                    store(1, a0 + a1, b0 + b1)
                    store(2, a0 - a1, b0 - b1)
                    store(3, -a1, -b1)
                }
            }
        }
    }

    /// The leading dimension of a chunk's transformed matrices ([16, channels, ld]): its tiles plus one vector, so
    /// the transforms always move whole vectors.
    private func chunkStride(_ rows: Int) -> Int { rows * tileCols + 8 }

    /// One matrix of each of the 16 products: base pointer, leading dimension, distance between the 16 matrices.
    private struct Operand {
        let base: UnsafeMutablePointer<Float>, ld: Int, step: Int
    }

    /// The 16 products of one chunk: C_xi = A_xi op B_xi (each single-threaded, the 16 spread over the threads).
    private func gemms(transB: Bool = false, m: Int, n: Int, k: Int, a: Operand, b: Operand, beta: Float = 0, c: Operand) {
        parallelFor(16, costPerItem: m * n * k) { xi in
            cblas_sgemm(CblasRowMajor, CblasNoTrans, transB ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), Int32(k), 1,
                        a.base + xi * a.step, Int32(a.ld), b.base + xi * b.step, Int32(b.ld), beta, c.base + xi * c.step, Int32(c.ld))
        }
    }

    /// out = conv(image, weight) (no bias) by F(2x2, 3x3).
    func winogradForward(image: UnsafePointer<Float>, weight: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>) throws {
        let (o, c, ld) = (outChannels, inChannels, chunkStride(tileRowsPerChunk))
        try Scratch.with(16 * o * c) { u in
            try Scratch.with(16 * c * ld) { v in
                try Scratch.with(16 * o * ld) { m in
                    transformWeights(weight, into: u)
                    forEachChunk { r0, rows in
                        let ld = chunkStride(rows)
                        transformInput(image, r0, rows, into: v)
                        gemms(m: o, n: rows * tileCols, k: c, a: Operand(base: u, ld: c, step: o * c),
                              b: Operand(base: v, ld: ld, step: c * ld), c: Operand(base: m, ld: ld, step: o * ld))
                        transformOutput(m, r0, rows, into: out)
                    }
                }
            }
        }
    }

    /// imageGrad = conv^T(outGrad, weight): the forward algorithm on the output gradient with the kernel flipped,
    /// channels swapped and padding 2 - p.
    func winogradBackwardData(outGrad: UnsafePointer<Float>, weight: UnsafePointer<Float>, imageGrad: UnsafeMutablePointer<Float>) throws {
        let transposed = ConvGeometry(batch: batch, inChannels: outChannels, inHeight: outHeight, inWidth: outWidth,
                                      outChannels: inChannels, outHeight: inHeight, outWidth: inWidth,
                                      kernelHeight: 3, kernelWidth: 3, stride: 1, padding: 2 - padding)
        let (o, c) = (outChannels, inChannels)
        try Scratch.with(o * c * 9) { flipped in
            nonisolated(unsafe) let (w, f) = (weight, flipped)
            parallelFor(c, costPerItem: o * 9) { ci in
                for oi in 0..<o {
                    for k in 0..<9 { f[(ci * o + oi) * 9 + k] = w[(oi * c + ci) * 9 + 8 - k] }
                }
            }
            try transposed.winogradForward(image: outGrad, weight: flipped, out: imageGrad)
        }
    }

    /// weightGrad = the adjoint of the forward algorithm in the weight: dU_xi = sum over chunks of dM_xi V_xi^T,
    /// then G^T dU G.
    func winogradBackwardWeight(image: UnsafePointer<Float>, outGrad: UnsafePointer<Float>, weightGrad: UnsafeMutablePointer<Float>) throws {
        let (o, c, ld) = (outChannels, inChannels, chunkStride(tileRowsPerChunk))
        try Scratch.with(16 * o * c) { du in
            try Scratch.with(16 * c * ld) { v in
                try Scratch.with(16 * o * ld) { dm in
                    forEachChunk { r0, rows in
                        let ld = chunkStride(rows)
                        transformInput(image, r0, rows, into: v)
                        transformOutputAdjoint(outGrad, r0, rows, into: dm)
                        gemms(transB: true, m: o, n: c, k: rows * tileCols, a: Operand(base: dm, ld: ld, step: o * ld),
                              b: Operand(base: v, ld: ld, step: c * ld), beta: r0 == 0 ? 0 : 1, c: Operand(base: du, ld: c, step: o * c))
                    }
                    transformWeightsAdjoint(du, into: weightGrad)
                }
            }
        }
    }
}

/// Eight floats from p (the first n of them when n < 8, the rest zero), unaligned.
@inline(__always) private func load8(_ p: UnsafePointer<Float>, _ n: Int = 8) -> SIMD8<Float> {
    if n == 8 { return UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }
    var v = SIMD8<Float>()
    for i in 0..<n { v[i] = p[i] }
    return v
}

/// Stores the first n lanes of v at p, unaligned.
@inline(__always) private func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ n: Int = 8) {
    if n == 8 { return UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self) }
    for i in 0..<n { p[i] = v[i] }
}

/// Runs body(i) for i = 0, 8, 16, ... below count.
@inline(__always) private func forEachVector(_ count: Int, _ body: (Int) -> Void) {
    var i = 0
    while i < count {
        body(i)
        i += 8
    }
}
