import Glibc

/// The geometry of a 2-D convolution from an "image" [N, C, H, W] to an output [N, O, Ho, Wo] with a square
/// stride and symmetric zero padding. Conv-transpose uses the same geometry with the roles swapped.
///
/// Every kernel runs as im2col/col2im around one `sgemm` per tile. Small planes fold several samples into one
/// tile (the batch becomes the GEMM's N dimension, so small spatial layers still make large GEMMs); large planes
/// split into bands of output rows, so the column buffer stays bounded (a 7x7 conv at 256x256 would otherwise
/// need 800 MB of columns).
struct ConvGeometry: Equatable {
    var batch: Int, inChannels: Int, inHeight: Int, inWidth: Int
    var outChannels: Int, outHeight: Int, outWidth: Int
    var kernelHeight: Int, kernelWidth: Int, stride: Int, padding: Int

    /// Rows of the column matrix: C * kh * kw.
    var colRows: Int { inChannels * kernelHeight * kernelWidth }
    /// Output pixels per sample and channel.
    var outPlane: Int { outHeight * outWidth }
    var inPlane: Int { inHeight * inWidth }
    var imageShape: [Int] { [batch, inChannels, inHeight, inWidth] }
    var outputShape: [Int] { [batch, outChannels, outHeight, outWidth] }
    var weightShape: [Int] { [outChannels, inChannels, kernelHeight, kernelWidth] }
    /// A 1x1, stride-1, unpadded conv needs no im2col: the image already is the column matrix.
    var isPointwise: Bool { kernelHeight == 1 && kernelWidth == 1 && stride == 1 && padding == 0 }
    /// A kernel that covers the whole unpadded image is a fully connected layer: out [N, O] = image [N, CK] W^T.
    /// (DCGAN's last discriminator layer and its generator's first layer.)
    var isFullyConnected: Bool { padding == 0 && kernelHeight == inHeight && kernelWidth == inWidth }

    /// GEMM width to aim for when folding samples.
    static let targetColumns = 16_384
    /// The most floats a column buffer may hold (tests lower it to exercise row bands).
    nonisolated(unsafe) static var columnBudget = 16 << 20

    /// A block of work: samples n0..<n0+samples and, within each, output rows row0..<row0+rows.
    struct Tile {
        let n0: Int, samples: Int, row0: Int, rows: Int
    }

    /// The tiles covering the output, and the largest tile's column count.
    var tiles: (tiles: [Tile], maxColumns: Int) {
        let wanted = (ConvGeometry.targetColumns + outPlane - 1) / Swift.max(outPlane, 1)
        let memoryCap = ConvGeometry.columnBudget / Swift.max(colRows * outPlane, 1)
        let samples = Swift.max(1, Swift.min(batch, wanted, memoryCap))
        if samples > 1 || memoryCap >= 1 {
            let t = Swift.stride(from: 0, to: batch, by: samples).map {
                Tile(n0: $0, samples: Swift.min(samples, batch - $0), row0: 0, rows: outHeight)
            }
            return (t, samples * outPlane)
        }
        let rows = Swift.max(1, Swift.min(outHeight, ConvGeometry.columnBudget / Swift.max(colRows * outWidth, 1)))
        let t = (0..<batch).flatMap { n in
            Swift.stride(from: 0, to: outHeight, by: rows).map {
                Tile(n0: n, samples: 1, row0: $0, rows: Swift.min(rows, outHeight - $0))
            }
        }
        return (t, rows * outWidth)
    }

    /// The output columns ox whose input column ox * stride - padding + j lies inside the image.
    @inline(__always) func validColumns(_ j: Int) -> Range<Int> {
        let lo = Swift.max(0, (padding - j + stride - 1) / stride)
        let hi = Swift.min(outWidth, (inWidth - 1 + padding - j) / stride + 1)
        return lo..<Swift.max(lo, hi)
    }

    /// The leading dimension of a tile's column matrix: its columns, and a cache line more where the columns are
    /// a multiple of 256 (rows a multiple of 1 KB apart fall in a few level-1 cache sets, which the ten rows that
    /// `DotProductGEMM` streams at once overflow). A pointwise tile's columns are the image's own.
    func columnStride(_ t: Tile) -> Int {
        let n = t.samples * t.rows * outWidth
        return isPointwise || n % 256 != 0 ? n : n + 16
    }

    /// im2col of a tile: col[row, s * rows * Wo + (oy - row0) * Wo + ox] for row = (c * kh + i) * kw + j, with leading
    /// dimension `columnStride(t)`.
    func im2col(_ x: UnsafePointer<Float>, _ t: Tile, into col: UnsafeMutablePointer<Float>) {
        if usesStride2Phases { return im2colPhases(x, t, into: col) }
        nonisolated(unsafe) let x = x, col = col
        let g = self
        let ld = columnStride(t)
        parallelFor(colRows, costPerItem: ld) { row in
            let j = row % g.kernelWidth, i = (row / g.kernelWidth) % g.kernelHeight,
                c = row / (g.kernelWidth * g.kernelHeight)
            let valid = g.validColumns(j), shift = j - g.padding, s = g.stride
            var dst = col + row * ld
            for sample in 0..<t.samples {
                let src = x + ((t.n0 + sample) * g.inChannels + c) * g.inPlane
                for oy in t.row0..<(t.row0 + t.rows) {
                    let iy = oy * s - g.padding + i
                    if iy < 0 || iy >= g.inHeight {
                        dst.update(repeating: 0, count: g.outWidth)
                    } else {
                        let srow = src + iy * g.inWidth + shift
                        if valid.lowerBound > 0 { dst.update(repeating: 0, count: valid.lowerBound) }
                        if s == 1 {
                            (dst + valid.lowerBound).update(from: srow + valid.lowerBound, count: valid.count)
                        } else {
                            for ox in valid { dst[ox] = srow[ox * s] }
                        }
                        if valid.upperBound < g.outWidth {
                            (dst + valid.upperBound).update(repeating: 0, count: g.outWidth - valid.upperBound)
                        }
                    }
                    dst += g.outWidth
                }
            }
        }
    }

    /// col2im of a tile: adds the columns back into the image gradient (zeroed by the caller).
    func col2im(_ col: UnsafePointer<Float>, _ t: Tile, into x: UnsafeMutablePointer<Float>) {
        if usesStride2Phases { return col2imPhases(col, t, into: x) }
        nonisolated(unsafe) let x = x, col = col
        let g = self
        let ld = columnStride(t)
        parallelFor(inChannels, costPerItem: kernelHeight * kernelWidth * ld) { c in
            for i in 0..<g.kernelHeight {
                for j in 0..<g.kernelWidth {
                    var src = col + ((c * g.kernelHeight + i) * g.kernelWidth + j) * ld
                    let valid = g.validColumns(j), st = g.stride
                    for sample in 0..<t.samples {
                        let plane = x + ((t.n0 + sample) * g.inChannels + c) * g.inPlane
                        for oy in t.row0..<(t.row0 + t.rows) {
                            let iy = oy * st - g.padding + i
                            if iy >= 0 && iy < g.inHeight {
                                let drow = plane + iy * g.inWidth + j - g.padding
                                for ox in valid { drow[ox * st] += src[ox] }
                            }
                            src += g.outWidth
                        }
                    }
                }
            }
        }
    }

    // Stride 2 over even sizes (DCGAN's 4x4 and CycleGAN's 3x3 convs with padding 1): output pixel (oy, ox) of kernel
    // tap (i, j) reads input pixel (2 oy + i - p, 2 ox + j - p), which is pixel (oy + (di >> 1), ox + (dj >> 1)) of the
    // image's phase (di & 1, dj & 1), d = tap - p: one of four (H/2) x (W/2) planes of every other row and column. So
    // once a plane is split into its phases, every tap's columns are one contiguous run of a phase, shifted: vector
    // copies (and, for col2im, adds) over whole tiles instead of strided scalar gathers and scatters. A phase is held
    // for the tile's rows and one zero (or neighbouring) row above and below; a shift by one column wraps into the
    // next row at the edges, and those lanes are masked to zero.

    /// The phase (0 even, 1 odd) and shift of kernel tap `k` along one axis.
    @inline(__always) private func phaseShift(_ k: Int) -> (phase: Int, shift: Int) {
        ((k - padding) & 1, (k - padding) >> 1)
    }

    /// Floats of one phase buffer of tile `t`: rows row0 - 1 ... row0 + rows, plus one guard float at either end.
    private func phaseSize(_ t: Tile) -> Int { (t.rows + 2) * outWidth + 2 }

    /// Bit masks over a tile's rows * Wo columns that clear the first (shift -1) or last (shift +1) column of each row,
    /// where a shifted run wraps into the neighbouring row.
    private func edgeMasks(_ t: Tile) -> (first: [UInt32], last: [UInt32]) {
        let count = t.rows * outWidth + 8, w = outWidth
        return ((0..<count).map { $0 % w == 0 ? 0 : ~0 }, (0..<count).map { $0 % w == w - 1 ? 0 : ~0 })
    }

    /// Where tap (i, j)'s run for output row row0 begins in the phase buffers, and the mask its column shift needs.
    @inline(__always) private func tapRun(
        _ phases: UnsafeMutablePointer<Float>, _ t: Tile, i: Int, j: Int,
        _ masks: (first: UnsafePointer<UInt32>, last: UnsafePointer<UInt32>)
    )
        -> (UnsafeMutablePointer<Float>, UnsafePointer<UInt32>?)
    {
        let (a, si) = phaseShift(i), (b, sj) = phaseShift(j)
        let run = phases + (2 * a + b) * phaseSize(t) + 1 + (1 + si) * outWidth + sj
        return (run, sj < 0 ? masks.first : sj > 0 ? masks.last : nil)
    }

    /// Splits rows row0 - 1 ... row0 + rows of one image plane into the phase buffers (zero outside the image). The
    /// guard floats are only read by masked lanes, so they are left as they are.
    private func splitPhases(_ plane: UnsafePointer<Float>, _ t: Tile, into phases: UnsafeMutablePointer<Float>) {
        let size = phaseSize(t)
        for r in (t.row0 - 1)...(t.row0 + t.rows) {
            for a in 0..<2 {
                let row = phases + 2 * a * size + 1 + (r - t.row0 + 1) * outWidth
                if r >= 0 && r < outHeight {
                    deinterleave(plane + (2 * r + a) * inWidth, inWidth, shift: 0, even: row, odd: row + size)
                } else {
                    for phase in [row, row + size] { phase.update(repeating: 0, count: outWidth) }
                }
            }
        }
    }

    /// Runs body(masks) with `edgeMasks(t)` as pointers.
    private func withEdgeMasks(_ t: Tile, _ body: ((first: UnsafePointer<UInt32>, last: UnsafePointer<UInt32>)) -> Void)
    {
        let masks = edgeMasks(t)
        masks.first.withUnsafeBufferPointer { first in
            masks.last.withUnsafeBufferPointer { last in body((first.baseAddress!, last.baseAddress!)) }
        }
    }

    /// im2col over phases: parallel over channels; each sample's plane is split once and every tap's run copied out.
    private func im2colPhases(_ x: UnsafePointer<Float>, _ t: Tile, into col: UnsafeMutablePointer<Float>) {
        nonisolated(unsafe) let x = x, col = col
        let g = self, ld = columnStride(t), run = t.rows * outWidth, taps = kernelHeight * kernelWidth
        withEdgeMasks(t) { masks in
            nonisolated(unsafe) let masks = masks
            parallelFor(inChannels, costPerItem: taps * ld, scratch: 4 * g.phaseSize(t)) { c, phases in
                for sample in 0..<t.samples {
                    g.splitPhases(x + ((t.n0 + sample) * g.inChannels + c) * g.inPlane, t, into: phases)
                    for tap in 0..<taps {
                        let (src, mask) = g.tapRun(phases, t, i: tap / g.kernelWidth, j: tap % g.kernelWidth, masks)
                        maskedCopy(src, mask, into: col + (c * taps + tap) * ld + sample * run, run)
                    }
                }
            }
        }
    }

    /// col2im over phases: parallel over channels; every tap's run is added into the phase buffers, which are then
    /// interleaved into the image rows.
    private func col2imPhases(_ col: UnsafePointer<Float>, _ t: Tile, into x: UnsafeMutablePointer<Float>) {
        nonisolated(unsafe) let x = x, col = col
        let g = self, ld = columnStride(t), run = t.rows * outWidth, taps = kernelHeight * kernelWidth
        let size = phaseSize(t)
        withEdgeMasks(t) { masks in
            nonisolated(unsafe) let masks = masks
            parallelFor(inChannels, costPerItem: taps * ld, scratch: 4 * size) { c, phases in
                for sample in 0..<t.samples {
                    phases.update(repeating: 0, count: 4 * size)
                    for tap in 0..<taps {
                        let (dst, mask) = g.tapRun(phases, t, i: tap / g.kernelWidth, j: tap % g.kernelWidth, masks)
                        maskedAdd(col + (c * taps + tap) * ld + sample * run, mask, into: dst, run)
                    }
                    let plane = x + ((t.n0 + sample) * g.inChannels + c) * g.inPlane
                    for r in Swift.max(0, t.row0 - 1)..<Swift.min(g.outHeight, t.row0 + t.rows + 1) {
                        for a in 0..<2 {
                            let row = phases + 2 * a * size + 1 + (r - t.row0 + 1) * g.outWidth
                            interleave(
                                row, row + size, g.inWidth, into: plane + (2 * r + a) * g.inWidth, adding: true)
                        }
                    }
                }
            }
        }
    }

    /// Copies samples [n0, n0+nb) of an [N, C, P] tensor into a [C, nb*P] matrix.
    static func gather(
        _ t: UnsafePointer<Float>, channels: Int, plane: Int, n0: Int, nb: Int, into m: UnsafeMutablePointer<Float>
    ) {
        nonisolated(unsafe) let t = t, m = m
        parallelFor(channels, costPerItem: nb * plane) { c in
            for s in 0..<nb {
                (m + c * nb * plane + s * plane).update(from: t + ((n0 + s) * channels + c) * plane, count: plane)
            }
        }
    }

    /// Copies a [C, nb*P] matrix into samples [n0, n0+nb) of an [N, C, P] tensor.
    static func scatter(
        _ m: UnsafePointer<Float>, channels: Int, plane: Int, n0: Int, nb: Int, into t: UnsafeMutablePointer<Float>
    ) {
        nonisolated(unsafe) let t = t, m = m
        parallelFor(channels, costPerItem: nb * plane) { c in
            for s in 0..<nb {
                (t + ((n0 + s) * channels + c) * plane).update(from: m + c * nb * plane + s * plane, count: plane)
            }
        }
    }

    /// Adds bias[c] to every pixel of channel c of an [N, C, P] tensor.
    static func addBias(
        _ t: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, batch: Int, channels: Int, plane: Int
    ) {
        nonisolated(unsafe) let t = t, bias = bias
        parallelFor(batch * channels, costPerItem: plane) { nc in
            let b = bias[nc % channels], p = t + nc * plane
            for i in 0..<plane { p[i] += b }
        }
    }

    /// Runs body(tile, col, block) for every tile with scratch buffers sized for the largest: `col` for the column
    /// matrix (nil unless `needsColumns`), `block` for an [O, columns] matrix when a tile folds several samples
    /// (nil when a tile is one sample, whose rows of the output are already a strided matrix in place).
    /// With `store` (a buffer of `storedColumnCount` floats), tile t's columns live at their own place in it instead
    /// of a shared scratch buffer, so a later call can reuse them.
    private func forEachTile(
        needsColumns: Bool, store: UnsafeMutablePointer<Float>? = nil,
        _ body: (Tile, UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?) -> Void
    ) throws {
        let (tiles, columns) = self.tiles
        let folded = tiles.contains { $0.samples > 1 }, stride = tiles.map(columnStride).max() ?? 0
        try Scratch.with(needsColumns && store == nil ? colRows * stride : 0) { col in
            try Scratch.with(folded ? outChannels * columns : 0) { block in
                var stored = store
                for t in tiles {
                    body(t, needsColumns ? stored ?? col : nil, t.samples > 1 ? block : nil)
                    stored = stored.map { $0 + colRows * columnStride(t) }
                }
            }
        }
    }

    /// Floats needed to keep the column matrices of every tile (for `forward(storingColumns:)`).
    var storedColumnCount: Int { colRows * tiles.tiles.reduce(0) { $0 + columnStride($1) } }

    /// Whether keeping the forward pass's columns for the weight gradient is worth its memory: only when they are at
    /// most four times the image (stride-2 convolutions), not for stride-1 kernels that expand it 9 to 49 times.
    var storesColumns: Bool {
        [.im2col, .stride2Im2col].contains(algorithm(.forward)) && colRows * outPlane <= 4 * inChannels * inPlane
            && storedColumnCount <= 1 << 26
    }

    /// The output rows of a one-sample tile, as a matrix with leading dimension `outPlane`.
    private func outputRows(_ base: UnsafePointer<Float>, _ t: Tile, channels: Int) -> UnsafePointer<Float> {
        base + t.n0 * channels * outPlane + t.row0 * outWidth
    }

    /// Writes the column matrix of a tile (for a pointwise conv, the tile's block of the image).
    private func columns(_ image: UnsafePointer<Float>, _ t: Tile, into col: UnsafeMutablePointer<Float>) {
        if isPointwise && t.samples > 1 {
            ConvGeometry.gather(image, channels: inChannels, plane: inPlane, n0: t.n0, nb: t.samples, into: col)
        } else if isPointwise {
            let columns = t.rows * outWidth, src = outputRows(image, t, channels: inChannels)
            nonisolated(unsafe) let col = col
            parallelFor(inChannels, costPerItem: columns) { c in
                (col + c * columns).update(from: src + c * self.outPlane, count: columns)
            }
        } else {
            im2col(image, t, into: col)
        }
    }

    /// out = conv(image, weight) + bias. weight is [O, C*kh*kw].
    /// With `storingColumns` (`storedColumnCount` floats), the im2col of every tile is kept there for `backwardWeight`.
    func forward(
        image: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        out: UnsafeMutablePointer<Float>, storingColumns store: UnsafeMutablePointer<Float>? = nil
    ) throws {
        switch algorithm(.forward) {
        case .fullyConnected:
            sgemm(
                transB: true, m: batch, n: outChannels, k: colRows, a: image, lda: colRows, b: weight, ldb: colRows,
                c: out, ldc: outChannels)
        case .direct: try directForward(image: image, weight: weight, out: out)
        case .winograd, .winogradF4: try winogradForward(image: image, weight: weight, out: out)
        case .phases: try phaseForward(image: image, weight: weight, out: out)
        case .panels: try panelForward(image: image, weight: weight, out: out)
        case .pointwise, .stride2Im2col, .im2col, .splitPhases, .upPhases:
            // A one-sample pointwise tile reads the image rows in place (leading dimension = plane).
            let inPlace = isPointwise && tiles.tiles.allSatisfy { $0.samples == 1 }
            try forEachTile(needsColumns: !inPlace, store: store) { t, col, block in
                let n = t.samples * t.rows * outWidth
                if let col { columns(image, t, into: col) }
                let (b, ldb) =
                    col.map { (UnsafePointer($0), columnStride(t)) }
                    ?? (outputRows(image, t, channels: inChannels), outPlane)
                if let block {
                    sgemm(m: outChannels, n: n, k: colRows, a: weight, lda: colRows, b: b, ldb: ldb, c: block, ldc: n)
                    ConvGeometry.scatter(
                        block, channels: outChannels, plane: outPlane, n0: t.n0, nb: t.samples, into: out)
                } else {
                    sgemm(
                        m: outChannels, n: n, k: colRows, a: weight, lda: colRows, b: b, ldb: ldb,
                        c: UnsafeMutablePointer(mutating: outputRows(out, t, channels: outChannels)), ldc: outPlane)
                }
            }
        }
        if let bias { ConvGeometry.addBias(out, bias, batch: batch, channels: outChannels, plane: outPlane) }
    }

    /// imageGrad = conv^T(outGrad, weight): the gradient of `forward` with respect to the image, which is
    /// also the forward pass of conv-transpose. weight is [O, C*kh*kw]. Overwrites imageGrad.
    func backwardData(
        outGrad: UnsafePointer<Float>, weight: UnsafePointer<Float>, imageGrad: UnsafeMutablePointer<Float>
    ) throws {
        switch algorithm(.imageGradient) {
        case .fullyConnected:
            return sgemm(
                m: batch, n: colRows, k: outChannels, a: outGrad, lda: outChannels, b: weight, ldb: colRows,
                c: imageGrad, ldc: colRows)
        case .direct: return try directBackwardData(outGrad: outGrad, weight: weight, imageGrad: imageGrad)
        case .winograd, .winogradF4:
            return try winogradBackwardData(outGrad: outGrad, weight: weight, imageGrad: imageGrad)
        case .phases: return try phaseBackwardData(outGrad: outGrad, weight: weight, imageGrad: imageGrad)
        case .splitPhases: return try phaseSplitImageGradient(outGrad: outGrad, weight: weight, imageGrad: imageGrad)
        case .upPhases: return try phaseImageGradient(outGrad: outGrad, weight: weight, imageGrad: imageGrad)
        case .pointwise, .stride2Im2col, .im2col, .panels: break
        }
        let inPlace = isPointwise && tiles.tiles.allSatisfy { $0.samples == 1 }
        if !inPlace { memset(imageGrad, 0, batch * inChannels * inPlane * MemoryLayout<Float>.stride) }
        try forEachTile(needsColumns: !inPlace) { t, col, block in
            let n = t.samples * t.rows * outWidth
            var (g, ldg) = (outputRows(outGrad, t, channels: outChannels), outPlane)
            if let block {
                ConvGeometry.gather(
                    outGrad, channels: outChannels, plane: outPlane, n0: t.n0, nb: t.samples, into: block)
                (g, ldg) = (UnsafePointer(block), n)
            }
            guard let col else {
                return sgemm(
                    transA: true, m: colRows, n: n, k: outChannels, a: weight, lda: colRows, b: g, ldb: ldg,
                    c: UnsafeMutablePointer(mutating: outputRows(imageGrad, t, channels: inChannels)), ldc: inPlane)
            }
            sgemm(
                transA: true, m: colRows, n: n, k: outChannels, a: weight, lda: colRows, b: g, ldb: ldg, c: col,
                ldc: columnStride(t))
            if isPointwise {
                ConvGeometry.scatter(
                    col, channels: inChannels, plane: inPlane, n0: t.n0, nb: t.samples, into: imageGrad)
            } else {
                col2im(col, t, into: imageGrad)
            }
        }
    }

    /// weightGrad [O, C*kh*kw] = outGrad x im2col(image)^T: the gradient of `forward` with respect to the weight.
    /// With `storedColumns` (from `forward(storingColumns:)`), the image is not read again.
    func backwardWeight(
        image: UnsafePointer<Float>?, outGrad: UnsafePointer<Float>, weightGrad: UnsafeMutablePointer<Float>,
        storedColumns store: UnsafeMutablePointer<Float>? = nil
    ) throws {
        switch algorithm(.weightGradient) {
        case .fullyConnected:
            return sgemm(
                transA: true, m: outChannels, n: colRows, k: batch, a: outGrad, lda: outChannels, b: image!,
                ldb: colRows, c: weightGrad, ldc: colRows)
        case .direct: return try directBackwardWeight(image: image!, outGrad: outGrad, weightGrad: weightGrad)
        case .winograd, .winogradF4:
            return try winogradBackwardWeight(image: image!, outGrad: outGrad, weightGrad: weightGrad)
        case .phases: return try phaseBackwardWeight(image: image!, outGrad: outGrad, weightGrad: weightGrad)
        case .pointwise, .stride2Im2col, .im2col, .splitPhases, .upPhases, .panels: break
        }
        memset(weightGrad, 0, outChannels * colRows * MemoryLayout<Float>.stride)
        try forEachTile(needsColumns: true, store: store) { t, col, block in
            let n = t.samples * t.rows * outWidth
            if store == nil { columns(image!, t, into: col!) }
            var (g, ldg) = (outputRows(outGrad, t, channels: outChannels), outPlane)
            if let block {
                ConvGeometry.gather(
                    outGrad, channels: outChannels, plane: outPlane, n0: t.n0, nb: t.samples, into: block)
                (g, ldg) = (UnsafePointer(block), n)
            }
            addWeightProduct(g, ldg: ldg, col!, ldcol: columnStride(t), columns: n, into: weightGrad)
        }
    }

    /// weightGrad += g col^T for a tile's output gradient g ([O, columns], leading dimension ldg) and its column
    /// matrix col ([colRows, columns], leading dimension ldcol): by `DotProductGEMM` where this build has it and the
    /// tile has enough columns, else OpenBLAS.
    private func addWeightProduct(
        _ g: UnsafePointer<Float>, ldg: Int, _ col: UnsafePointer<Float>, ldcol: Int, columns n: Int,
        into weightGrad: UnsafeMutablePointer<Float>
    ) {
        guard DotProductGEMM.isAvailable && n >= DotProductGEMM.minDepth else {
            return sgemm(
                transB: true, m: outChannels, n: colRows, k: n, a: g, lda: ldg, b: col, ldb: ldcol, beta: 1,
                c: weightGrad,
                ldc: colRows)
        }
        DotProductGEMM.addProduct(
            m: outChannels, n: colRows, k: n, a: g, lda: ldg, b: col, ldb: ldcol, c: weightGrad, ldc: colRows)
    }

    /// `forward` (without bias) and `backwardWeight` of the same image, sharing one im2col per tile:
    /// conv-transpose's backward needs both.
    func forwardAndBackwardWeight(
        image: UnsafePointer<Float>, weight: UnsafePointer<Float>, outGrad: UnsafePointer<Float>,
        out: UnsafeMutablePointer<Float>, weightGrad: UnsafeMutablePointer<Float>
    ) throws {
        switch algorithm(.forward) {
        case .phases:
            return try phaseForwardAndBackwardWeight(
                image: image, weight: weight, outGrad: outGrad, out: out,
                weightGrad: weightGrad)
        case .fullyConnected, .pointwise, .direct, .winograd, .winogradF4, .splitPhases, .upPhases, .panels:
            try forward(image: image, weight: weight, bias: nil, out: out)
            return try backwardWeight(image: image, outGrad: outGrad, weightGrad: weightGrad)
        case .stride2Im2col, .im2col: break  // one im2col per tile serves both GEMMs
        }
        memset(weightGrad, 0, outChannels * colRows * MemoryLayout<Float>.stride)
        let folded = tiles.tiles.contains { $0.samples > 1 }
        try Scratch.with(folded ? outChannels * tiles.maxColumns : 0) { gathered in
            try forEachTile(needsColumns: true) { t, col, block in
                let n = t.samples * t.rows * outWidth
                im2col(image, t, into: col!)
                var (g, ldg) = (outputRows(outGrad, t, channels: outChannels), outPlane)
                if let block {
                    sgemm(
                        m: outChannels, n: n, k: colRows, a: weight, lda: colRows, b: col!, ldb: columnStride(t),
                        c: block,
                        ldc: n)
                    ConvGeometry.scatter(
                        block, channels: outChannels, plane: outPlane, n0: t.n0, nb: t.samples, into: out)
                    ConvGeometry.gather(
                        outGrad, channels: outChannels, plane: outPlane, n0: t.n0, nb: t.samples, into: gathered)
                    (g, ldg) = (UnsafePointer(gathered), n)
                } else {
                    sgemm(
                        m: outChannels, n: n, k: colRows, a: weight, lda: colRows, b: col!, ldb: columnStride(t),
                        c: UnsafeMutablePointer(mutating: outputRows(out, t, channels: outChannels)), ldc: outPlane)
                }
                addWeightProduct(g, ldg: ldg, col!, ldcol: columnStride(t), columns: n, into: weightGrad)
            }
        }
    }
}
