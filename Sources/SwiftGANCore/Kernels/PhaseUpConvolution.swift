/// The image gradient of a 3x3 stride-2 convolution (the forward pass of its conv-transpose: StyleGAN2's
/// up-convolutions with padding 0, CycleGAN's with padding 1 and output padding 1) by the phases of its result.
/// Pixel (2m + a, 2n + b) of the result takes the kernel rows p with p = a + padding (mod 2), from rows
/// m + (a + padding - p) / 2 of the output gradient, and likewise columns; so each of the four phases is a 1x1, 1x2,
/// 2x1 or 2x2 convolution of the output gradient, the sum over its taps of [C, O] x [O, pixels] products of the tap's
/// weights with the output gradient, zero-padded by one pixel and read at the tap's offset. The nine taps read at only
/// four offsets, so the taps sharing an offset are stacked into one GEMM: four GEMMs, the FLOPs of im2col + GEMM,
/// without its column matrix of nine times the result's channels per pixel and without col2im.
///
/// Phase images keep the padded rows' pitch W + 2, so an offset is one pointer shift for every pixel (and sample);
/// the pitch's extra columns are computed and never read.
extension ConvGeometry {
    /// For a geometry of `isOutputPhaseShape`, runs body(n0, count, result) for runs of samples, with result
    /// [count, C, H, W] (this geometry's image: C = inChannels) the conv-transpose of outGrad[n] * style[n]
    /// ([N, O, h, w], style [N, O] or none) with this geometry's weight [O, C, 3, 3], or with `transposedWeight`
    /// NVlabs' conv-transpose weight [C, O, 3, 3]. The result is written at `into` (the whole batch's [N, C, H, W])
    /// when given, else into scratch. The weights' stacked copy is kept by the thread's `WeightCache` when it holds
    /// `weight`.
    func outputPhaseImageGradient(
        outGrad: UnsafePointer<Float>, weight: UnsafePointer<Float>, style: UnsafePointer<Float>?,
        transposedWeight: Bool, into: UnsafeMutablePointer<Float>? = nil,
        _ body: (Int, Int, UnsafePointer<Float>) throws -> Void = { _, _, _ in }
    ) throws {
        let (rows, k, h, w) = (inChannels, outChannels, outHeight, outWidth)
        let pitch = w + 2, padded = (h + 2) * pitch
        let perSample = k * padded + 4 * rows * padded + (into == nil ? rows * inPlane : 0)
        let chunk = Swift.max(1, Swift.min(batch, ConvGeometry.columnBudget / perSample))
        let layout = ConvGeometry.outputPhaseLayouts[padding]
        try WeightCache.withDerived(
            weight, transposedWeight ? .outputPhaseStacksTransposed : .outputPhaseStacks, count: 9 * rows * k,
            { stacks in
                try Scratch.with(k * chunk * padded) { x in
                    try Scratch.with(4 * rows * chunk * padded) { phases in
                        try Scratch.with(into == nil ? rows * chunk * inPlane : 0) { scratch in
                            for n0 in Swift.stride(from: 0, to: batch, by: chunk) {
                                let count = Swift.min(chunk, batch - n0), ld = count * padded
                                // The last sample's phase rows end before this column; the columns after them
                                // would read past the padded images at the farthest offset.
                                let columns = ld - (1 + padding) * (pitch + 1)
                                padImages(outGrad, style, samples: n0..<n0 + count, into: x)
                                var stack = UnsafePointer(stacks)
                                for (i, group) in layout.offsets.enumerated() {
                                    sgemm(
                                        m: group.taps.count * rows, n: columns, k: k, a: stack, lda: k,
                                        b: x + group.dy * pitch + group.dx, ldb: ld, beta: i == 0 ? 0 : 1,
                                        c: phases + group.firstBlock * rows * ld, ldc: ld)
                                    stack += group.taps.count * rows * k
                                }
                                let result = into.map { $0 + n0 * rows * inPlane } ?? scratch
                                interleavePhases(phases, layout, count: count, into: result)
                                try body(n0, count, result)
                            }
                        }
                    }
                }
            }
        ) { stacks in
            nonisolated(unsafe) let (src, dst) = (weight, stacks)
            let taps = layout.offsets.flatMap(\.taps)
            parallelFor(taps.count, costPerItem: rows * k) { i in
                let tap = taps[i].ky * 3 + taps[i].kx
                for r in 0..<rows {
                    for j in 0..<k {
                        dst[(i * rows + r) * k + j] = src[(transposedWeight ? r * k + j : j * rows + r) * 9 + tap]
                    }
                }
            }
        }
    }

    /// Where the taps read and where the phases go, for padding 0 and 1.
    private struct OutputPhaseLayout {
        /// The four offsets (dy, dx) in the padded output gradient at which the taps read, each with its taps
        /// (ky, kx) in the order of their phases' blocks, from `firstBlock` on. The blocks are ordered so that each
        /// offset's phases are consecutive; the first offset covers every phase (its GEMM overwrites, the others add).
        let offsets: [(dy: Int, dx: Int, firstBlock: Int, taps: [(ky: Int, kx: Int)])]
        /// The block of phase (a, b): blocks[a][b].
        let blocks: [[Int]]
    }

    private static let outputPhaseLayouts = [
        // Padding 0: blocks (0, 1), (0, 0), (1, 0), (1, 1); the 2x2 phase (0, 0) reads offsets 0 and 1.
        OutputPhaseLayout(
            offsets: [
                (1, 1, 0, [(0, 1), (0, 0), (1, 0), (1, 1)]), (0, 1, 0, [(2, 1), (2, 0)]),
                (1, 0, 1, [(0, 2), (1, 2)]), (0, 0, 1, [(2, 2)]),
            ],
            blocks: [[1, 0], [2, 3]]),
        // Padding 1: blocks (0, 1), (1, 1), (1, 0), (0, 0); the 2x2 phase (1, 1) reads offsets 1 and 2.
        OutputPhaseLayout(
            offsets: [
                (1, 1, 0, [(1, 2), (2, 2), (2, 1), (1, 1)]), (1, 2, 0, [(1, 0), (2, 0)]),
                (2, 1, 1, [(0, 2), (0, 1)]), (2, 2, 1, [(0, 0)]),
            ],
            blocks: [[3, 0], [2, 1]]),
    ]

    /// x[o, s, 1 + y, 1 + x] = outGrad[n0 + s, o, y, x] * style[n0 + s, o] (1 without a style), zero on the
    /// one-pixel border.
    private func padImages(
        _ outGrad: UnsafePointer<Float>, _ style: UnsafePointer<Float>?, samples: Range<Int>,
        into x: UnsafeMutablePointer<Float>
    ) {
        nonisolated(unsafe) let (image, style, x) = (outGrad, style, x)
        let (k, h, w, n0, count) = (outChannels, outHeight, outWidth, samples.lowerBound, samples.count)
        let pitch = w + 2, padded = (h + 2) * pitch
        parallelFor(k, costPerItem: count * padded) { ki in
            let run = x + ki * count * padded
            run.update(repeating: 0, count: count * padded)
            for s in 0..<count {
                let scale = style?[(n0 + s) * k + ki] ?? 1, src = image + ((n0 + s) * k + ki) * h * w
                let dst = run + s * padded + pitch + 1
                for y in 0..<h { for i in 0..<w { dst[y * pitch + i] = src[y * w + i] * scale } }
            }
        }
    }

    /// result[s, c, 2m + a, 2n + b] = phase (a, b) [c, s, m, n] for phase images [4, C, count, h + 2, w + 2] in the
    /// layout's blocks.
    private func interleavePhases(
        _ phases: UnsafePointer<Float>, _ layout: OutputPhaseLayout, count: Int,
        into result: UnsafeMutablePointer<Float>
    ) {
        nonisolated(unsafe) let (phases, result) = (phases, result)
        let (c, h, w) = (inChannels, outHeight, outWidth), pitch = w + 2, padded = (h + 2) * pitch
        let blockSize = c * count * padded, (rows, cols) = (inHeight, inWidth), blocks = layout.blocks
        parallelFor(count * c, costPerItem: rows * cols) { sc in
            let (s, ci) = (sc / c, sc % c)
            let plane = result + sc * rows * cols, base = phases + (ci * count + s) * padded
            for y in 0..<rows {
                let (a, row) = (y & 1, base + (y >> 1) * pitch)
                interleave(row + blocks[a][0] * blockSize, row + blocks[a][1] * blockSize, cols, into: plane + y * cols)
            }
        }
    }
}
