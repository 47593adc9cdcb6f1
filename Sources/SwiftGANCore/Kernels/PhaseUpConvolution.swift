/// StyleGAN2's up-convolution (a 3x3 conv-transpose with stride 2 and no padding, before its FIR filter) by the phases
/// of its output. Pixel (2m + a, 2n + b) of the (2H + 1) x (2W + 1) result takes kernel rows ky = 1 when a = 1 and
/// ky = 2, 0 (from image rows m - 1, m) when a = 0, and likewise columns; so each of the four phases is a 1x1, 1x2,
/// 2x1 or 2x2 convolution of the image, the sum over its taps of [O, C] x [C, pixels] products of the tap's weights
/// with the image, zero-padded by one pixel and read at the tap's offset. The nine taps read the image at only four
/// offsets, so the taps sharing an offset are stacked into one GEMM: four GEMMs, the FLOPs of im2col + GEMM, without
/// its column matrix of nine times the output's channels per image pixel and without col2im.
///
/// Phase images keep the padded image's row pitch W + 2, so an offset is one pointer shift for every output pixel
/// (and sample); the pitch's extra columns are computed and never read.
extension ConvGeometry {
    /// For a geometry whose image gradient is such a conv-transpose (a 3x3 kernel, stride 2, no padding), runs
    /// body(n0, count, upsampled) for runs of samples, with upsampled [count, O, 2H + 1, 2W + 1] the conv-transpose of
    /// image[n] * style[n] ([N, C, H, W] images, style [N, C]) with NVlabs' weight [O, C, 3, 3] (this geometry's
    /// O = inChannels, C = outChannels, H x W = outHeight x outWidth). The weights' stacked copy is kept by the
    /// thread's `WeightCache` when it holds `weight`.
    func phaseUpConvolution(
        image: UnsafePointer<Float>, style: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        _ body: (Int, Int, UnsafePointer<Float>) throws -> Void
    ) throws {
        let (o, c, h, w) = (inChannels, outChannels, outHeight, outWidth)
        let pitch = w + 2, padded = (h + 2) * pitch
        let perSample = c * padded + 4 * o * padded + o * inPlane
        let chunk = Swift.max(1, Swift.min(batch, ConvGeometry.columnBudget / perSample))
        let groups = ConvGeometry.upConvolutionOffsets
        try WeightCache.withDerived(
            weight, .upConvolutionStacks, count: 9 * o * c,
            { stacks in
                try Scratch.with(c * chunk * padded) { x in
                    try Scratch.with(4 * o * chunk * padded) { phases in
                        try Scratch.with(o * chunk * inPlane) { upsampled in
                            for n0 in Swift.stride(from: 0, to: batch, by: chunk) {
                                let count = Swift.min(chunk, batch - n0), ld = count * padded
                                // The last sample's phase rows end at column ld - pitch - 2; the columns after them
                                // would read past the image at offset (1, 1).
                                let columns = ld - pitch - 1
                                padImages(image, style, samples: n0..<n0 + count, into: x)
                                var stack = UnsafePointer(stacks)
                                for (i, group) in groups.enumerated() {
                                    sgemm(
                                        m: group.taps.count * o, n: columns, k: c, a: stack, lda: c,
                                        b: x + group.dy * pitch + group.dx, ldb: ld, beta: i == 0 ? 0 : 1,
                                        c: phases + group.firstPhase * o * ld, ldc: ld)
                                    stack += group.taps.count * o * c
                                }
                                interleavePhases(phases, count: count, into: upsampled)
                                try body(n0, count, upsampled)
                            }
                        }
                    }
                }
            }
        ) { stacks in
            nonisolated(unsafe) let (src, dst) = (weight, stacks)
            let taps = groups.flatMap(\.taps)
            parallelFor(taps.count, costPerItem: o * c) { i in
                let tap = taps[i].ky * 3 + taps[i].kx
                for oi in 0..<o { for ci in 0..<c { dst[(i * o + oi) * c + ci] = src[(oi * c + ci) * 9 + tap] } }
            }
        }
    }

    /// The four offsets (dy, dx) in the padded image at which the taps read, each with its taps (ky, kx) in the order
    /// of their phases' images, from `firstPhase` on. Phase images are stored in the order (a, b) = (0, 1), (0, 0),
    /// (1, 0), (1, 1), so each offset's phases are consecutive. The first group covers every phase (its GEMM
    /// overwrites, the others add).
    private static let upConvolutionOffsets: [(dy: Int, dx: Int, firstPhase: Int, taps: [(ky: Int, kx: Int)])] = [
        (1, 1, 0, [(0, 1), (0, 0), (1, 0), (1, 1)]),
        (0, 1, 0, [(2, 1), (2, 0)]),
        (1, 0, 1, [(0, 2), (1, 2)]),
        (0, 0, 1, [(2, 2)]),
    ]

    /// x[c, s, 1 + y, 1 + x] = image[n0 + s, c, y, x] * style[n0 + s, c], zero on the one-pixel border.
    private func padImages(
        _ image: UnsafePointer<Float>, _ style: UnsafePointer<Float>, samples: Range<Int>,
        into x: UnsafeMutablePointer<Float>
    ) {
        nonisolated(unsafe) let (image, style, x) = (image, style, x)
        let (c, h, w, n0, count) = (outChannels, outHeight, outWidth, samples.lowerBound, samples.count)
        let pitch = w + 2, padded = (h + 2) * pitch
        parallelFor(c, costPerItem: count * padded) { ci in
            let run = x + ci * count * padded
            run.update(repeating: 0, count: count * padded)
            for s in 0..<count {
                let scale = style[(n0 + s) * c + ci], src = image + ((n0 + s) * c + ci) * h * w
                let dst = run + s * padded + pitch + 1
                for y in 0..<h { for i in 0..<w { dst[y * pitch + i] = src[y * w + i] * scale } }
            }
        }
    }

    /// upsampled[s, o, 2m + a, 2n + b] = phase (a, b) [o, s, m, n] for phase images [4, O, count, H + 2, W + 2] in
    /// the order of `upConvolutionOffsets`: (a, 0) at 1 + a, (a, 1) at 3a.
    private func interleavePhases(
        _ phases: UnsafePointer<Float>, count: Int, into upsampled: UnsafeMutablePointer<Float>
    ) {
        nonisolated(unsafe) let (phases, up) = (phases, upsampled)
        let (o, h, w) = (inChannels, outHeight, outWidth), pitch = w + 2, padded = (h + 2) * pitch
        let phaseSize = o * count * padded, (rows, cols) = (inHeight, inWidth)
        parallelFor(count * o, costPerItem: rows * cols) { so in
            let (s, oi) = (so / o, so % o)
            let plane = up + so * rows * cols, base = phases + (oi * count + s) * padded
            for y in 0..<rows {
                let (a, row) = (y & 1, base + (y >> 1) * pitch)
                interleave(row + (1 + a) * phaseSize, row + 3 * a * phaseSize, cols, into: plane + y * cols)
            }
        }
    }
}
