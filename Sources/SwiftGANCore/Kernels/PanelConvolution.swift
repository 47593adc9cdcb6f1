/// The forward pass of a convolution on `PackedGEMM`'s micro-kernel, with the column matrix written one band at a
/// time: for each band of output pixels of a sample (one to eight panels of 32), its K = C * kh * kw rows of im2col
/// go straight into column panels (K x 32 floats each, in the level-2 cache), and every row panel of the weight runs
/// over them.
///
/// im2col + OpenBLAS writes the whole column matrix (49 floats per pixel and input channel for CycleGAN's first 7x7
/// conv: 150 MB at 512 px), reads it back, and has OpenBLAS copy it again into its own panels: the first 7x7 conv
/// and the stride-2 down-convolutions ran at 86-150 GFLOP/s against the micro-kernel's 200 and more. Here each value
/// of the band is written once, where the micro-kernel reads it, and the weight is packed once per weight
/// (`WeightCache` form `.convolutionPanels`).
extension ConvGeometry {
    /// The fewest output channels for which the forward pass runs on panels: one register tile's rows.
    static let panelsMinOutputChannels = PackedGEMM.rows

    /// Whether the forward pass runs on panels (`ConvAlgorithm.panels`): in builds with the micro-kernel, stride 1
    /// or 2, a register tile of output channels or more, and bands of pixels that lose at most an eighth of their
    /// columns to a sample's last, partial band.
    var usesPanelForward: Bool {
        let bandColumns = (outPlane + PackedGEMM.columns - 1) / PackedGEMM.columns * PackedGEMM.columns
        return PackedGEMM.isAvailable && (stride == 1 || stride == 2)
            && outChannels >= ConvGeometry.panelsMinOutputChannels && 8 * (bandColumns - outPlane) <= bandColumns
    }

    /// Floats of column panels a band aims at: they stay in the level-2 cache while every row panel of the weight
    /// runs over them.
    static let panelBandFloats = 65_536

    /// out = conv(image, weight) (no bias) on panels: parallel over bands of output pixels (up to eight panels wide,
    /// `panelBandFloats`), each thread with the panels of one band of its own.
    func panelForward(
        image: UnsafePointer<Float>, weight: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>
    ) throws {
        let (m, k) = (outChannels, colRows), panelFloats = PackedGEMM.columnPanelsCount(k: k, n: PackedGEMM.columns)
        let width = PackedGEMM.columns * Swift.max(1, Swift.min(8, ConvGeometry.panelBandFloats / panelFloats))
        let bands = (outPlane + width - 1) / width, items = batch * bands
        let rowPanels = (m + PackedGEMM.rows - 1) / PackedGEMM.rows,
            bandFloats = panelFloats * width / PackedGEMM.columns
        let chunks = Swift.min(Threads.count, items), valid = (0..<kernelWidth).map(validColumns)
        try WeightCache.withDerived(weight, .convolutionPanels, count: PackedGEMM.rowPanelsCount(m: m, k: k)) { a in
            try Scratch.with(chunks * bandFloats) { panels in
                nonisolated(unsafe) let (image, a, out, panels) = (image, UnsafePointer(a), out, panels)
                let g = self
                parallelFor(chunks, costPerItem: items / chunks * width * m * k) { chunk in
                    let band = panels + chunk * bandFloats
                    for item in (chunk * items / chunks)..<((chunk + 1) * items / chunks) {
                        let (n, p0) = (item / bands, item % bands * width), count = Swift.min(width, g.outPlane - p0)
                        valid.withUnsafeBufferPointer {
                            g.writeColumnPanels(
                                image + n * g.inChannels * g.inPlane, pixels: p0..<(p0 + count),
                                valid: $0.baseAddress!, to: band)
                        }
                        PackedGEMM.multiply(
                            m: m, n: count, k: k, a: a, b: band, c: out + n * m * g.outPlane + p0, ldc: g.outPlane,
                            rowPanels: 0..<rowPanels)
                    }
                }
            }
        } compute: { a in
            PackedGEMM.packRows(weight, lda: k, m: m, k: k, into: a)
        }
    }

    /// The column panels of output pixels `pixels` (flat indices into one sample's plane) of `sample` ([C, H, W]):
    /// the columns im2col[row, pixels] for row = (c * kh + i) * kw + j, as `PackedGEMM` column panels, zero past the
    /// band's pixels. `valid[j]` is `validColumns(j)`. For each source row it reads the whole run of the band in that
    /// row (several panels' columns), so that the hardware prefetchers see a stream.
    private func writeColumnPanels(
        _ sample: UnsafePointer<Float>, pixels: Range<Int>, valid: UnsafePointer<Range<Int>>,
        to panels: UnsafeMutablePointer<Float>
    ) {
        let width = PackedGEMM.columns, depth = colRows
        var p = pixels.lowerBound
        while p < pixels.upperBound {  // one run of the band per output row
            let (oy, start) = (p / outWidth, p % outWidth), end = Swift.min(outWidth, start + pixels.upperBound - p)
            let first = p - pixels.lowerBound  // the run's first column in the band
            var row = 0
            for c in 0..<inChannels {
                for i in 0..<kernelHeight {
                    let iy = oy * stride - padding + i, inside = iy >= 0 && iy < inHeight
                    let source = sample + (c * inHeight + (inside ? iy : 0)) * inWidth - padding
                    for j in 0..<kernelWidth {
                        // The run in pieces that each lie in one panel.
                        var x0 = start
                        while x0 < end {
                            let q = first + x0 - start, x1 = Swift.min(end, x0 + width - q % width)
                            let dst = panels + PackedGEMM.columnPanelOffset(k: row, column: q, depth: depth)
                            if !inside {
                                dst.update(repeating: 0, count: x1 - x0)
                            } else {
                                let lo = Swift.min(Swift.max(valid[j].lowerBound, x0), x1),
                                    hi = Swift.max(Swift.min(valid[j].upperBound, x1), lo)
                                if lo > x0 { dst.update(repeating: 0, count: lo - x0) }
                                copyStrided(
                                    source + lo * stride + j, into: dst + lo - x0, count: hi - lo,
                                    before: sample + inChannels * inPlane)
                                if hi < x1 { (dst + hi - x0).update(repeating: 0, count: x1 - hi) }
                            }
                            x0 = x1
                        }
                        row += 1
                    }
                }
            }
            p += end - start
        }
        let used = pixels.count % width, last = panels + pixels.count / width * depth * width
        if used > 0 {
            for row in 0..<depth { (last + row * width + used).update(repeating: 0, count: width - used) }
        }
    }

    /// dst[x] = src[x * stride] for x in 0..<count, with whole vectors where they stay before `end`.
    @inline(__always) private func copyStrided(
        _ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, count: Int, before end: UnsafePointer<Float>
    ) {
        var x = 0
        if stride == 1 {
            while x + 16 <= count {
                UnsafeMutableRawPointer(dst + x).storeBytes(
                    of: UnsafeRawPointer(src + x).loadUnaligned(as: SIMD16<Float>.self), as: SIMD16<Float>.self)
                x += 16
            }
        } else {
            while x + 16 <= count && src + 2 * x + 32 <= end {
                let pair = UnsafeRawPointer(src + 2 * x).loadUnaligned(as: SIMD32<Float>.self)
                UnsafeMutableRawPointer(dst + x).storeBytes(of: pair.evenHalf, as: SIMD16<Float>.self)
                x += 16
            }
        }
        while x < count {
            dst[x] = src[x * stride]
            x += 1
        }
    }
}
