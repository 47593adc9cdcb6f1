/// StyleGAN2's up-convolution (a 3x3 conv-transpose with stride 2 and no padding, before its FIR filter) by the phases
/// of its output. Pixel (2m + a, 2n + b) of the (2H + 1) x (2W + 1) result takes kernel rows ky = 1 when a = 1 and
/// ky = 2, 0 (from image rows m - 1, m) when a = 0, and likewise columns; so each of the four phases is a 1x1, 1x2,
/// 2x1 or 2x2 convolution of the image, the sum over its taps of [O, C] x [C, pixels] products of the tap's weights
/// with the image, zero-padded by one pixel and read at the tap's offset. The nine taps read the image at only four
/// offsets, so the taps sharing an offset are stacked into one GEMM: four GEMMs, the FLOPs of im2col + GEMM, without
/// its column matrix of nine times the output's channels per image pixel and without col2im.
///
/// The image gradient of a 3x3 stride-2 convolution with padding 1 of an even-sized image (CycleGAN's
/// down-convolutions' gradient, and the forward pass of its up-convolutions, conv-transposes with output padding 1) is
/// the same result cropped by one pixel at the top and left, with the convolution's weight [C, O, 3, 3] in the role
/// of NVlabs' [O, C, 3, 3].
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
        try Scratch.with(inChannels * samplesPerPhaseChunk * inPlane) { upsampled in
            try forEachPhaseChunk(image: image, style: style, weight: weight, nvlabs: true) {
                n0, count, phases in
                interleavePhases(phases, count: count, into: upsampled, cropped: false)
                try body(n0, count, upsampled)
            }
        }
    }

    /// imageGrad = conv^T(outGrad, weight) for a 3x3 stride-2 convolution with padding 1 of an even-sized image
    /// (`ConvAlgorithm.upPhases`): the up-convolution by output phases, cropped, written into imageGrad.
    func phaseImageGradient(
        outGrad: UnsafePointer<Float>, weight: UnsafePointer<Float>, imageGrad: UnsafeMutablePointer<Float>
    ) throws {
        try forEachPhaseChunk(image: outGrad, style: nil, weight: weight, nvlabs: false) {
            n0, count, phases in
            interleavePhases(phases, count: count, into: imageGrad + n0 * inChannels * inPlane, cropped: true)
        }
    }

    /// Samples per run of `forEachPhaseChunk`: as many as keep its buffers within the column budget.
    private var samplesPerPhaseChunk: Int {
        let pitch = outWidth + 2, padded = (outHeight + 2) * pitch
        let perSample = outChannels * padded + 4 * inChannels * padded + inChannels * inPlane
        return Swift.max(1, Swift.min(batch, ConvGeometry.columnBudget / perSample))
    }

    /// Runs body(n0, count, phases) for runs of samples with their four phase images [4, O, count, H + 2, W + 2] (in
    /// the order of `upConvolutionOffsets`) of the up-convolution of image[n] (times style[n] when given), with
    /// `nvlabs` for NVlabs' weight [O, C, 3, 3], else for this convolution's own [C, O, 3, 3]. Where this build has
    /// `PackedGEMM` and there are a register tile's rows of output channels, the phases run as `packedPhaseProducts`;
    /// elsewhere as one OpenBLAS GEMM per offset, the taps reading it stacked.
    private func forEachPhaseChunk(
        image: UnsafePointer<Float>, style: UnsafePointer<Float>?, weight: UnsafePointer<Float>,
        nvlabs: Bool, _ body: (Int, Int, UnsafePointer<Float>) throws -> Void
    ) throws {
        let (o, c, h, w) = (inChannels, outChannels, outHeight, outWidth)
        let pitch = w + 2, padded = (h + 2) * pitch, chunk = samplesPerPhaseChunk
        let packed = PackedGEMM.isAvailable && o >= PackedGEMM.rows
        try withPhaseWeights(weight, nvlabs: nvlabs, packed: packed) { stacks in
            try Scratch.with(c * chunk * padded) { x in
                try Scratch.with(4 * o * chunk * padded) { phases in
                    for n0 in Swift.stride(from: 0, to: batch, by: chunk) {
                        let count = Swift.min(chunk, batch - n0), ld = count * padded
                        // The last sample's phase rows end at column ld - pitch - 2; the columns after them would
                        // read past the image at offset (1, 1).
                        let columns = ld - pitch - 1
                        padImages(image, style, samples: n0..<n0 + count, into: x)
                        if packed {
                            try packedPhaseProducts(x, ld: ld, columns: columns, panels: stacks, into: phases)
                        } else {
                            var stack = UnsafePointer(stacks)
                            for (i, group) in ConvGeometry.upConvolutionOffsets.enumerated() {
                                sgemm(
                                    m: group.taps.count * o, n: columns, k: c, a: stack, lda: c,
                                    b: x + group.dy * pitch + group.dx, ldb: ld, beta: i == 0 ? 0 : 1,
                                    c: phases + group.firstPhase * o * ld, ldc: ld)
                                stack += group.taps.count * o * c
                            }
                        }
                        try body(n0, count, phases)
                    }
                }
            }
        }
    }

    /// Runs body with the weight's taps as the phase GEMMs read them: stacked by offset ([taps * O, C] per offset of
    /// `upConvolutionOffsets`), or with `packed` as `PackedGEMM` row panels of each phase's [O, taps * C] (in the order
    /// of `phaseProducts`); kept by the thread's `WeightCache` when it holds the weight constant. `nvlabs`: the weight
    /// is NVlabs' [O, C, 3, 3], else this convolution's own [C, O, 3, 3].
    private func withPhaseWeights(
        _ weight: UnsafePointer<Float>, nvlabs: Bool, packed: Bool, _ body: (UnsafeMutablePointer<Float>) throws -> Void
    ) throws {
        let (o, c) = (inChannels, outChannels)
        /// w(oi, ci, tap) for tap = ky * 3 + kx.
        @inline(__always) func tapWeight(_ oi: Int, _ ci: Int, _ tap: Int) -> Float {
            nvlabs ? weight[(oi * c + ci) * 9 + tap] : weight[(ci * o + oi) * 9 + tap]
        }
        guard packed else {
            let taps = ConvGeometry.upConvolutionOffsets.flatMap(\.taps)
            let form: WeightCache.Form = nvlabs ? .upConvolutionStacks : .imageGradientStacks
            return try WeightCache.withDerived(weight, form, count: 9 * o * c, body) { stacks in
                nonisolated(unsafe) let stacks = stacks
                parallelFor(taps.count, costPerItem: o * c) { i in
                    for oi in 0..<o {
                        for ci in 0..<c {
                            stacks[(i * o + oi) * c + ci] = tapWeight(oi, ci, taps[i].ky * 3 + taps[i].kx)
                        }
                    }
                }
            }
        }
        let products = ConvGeometry.phaseProducts, rowPanels = PackedGEMM.rowPanelsCount(m: o, k: c)
        let form: WeightCache.Form = nvlabs ? .upConvolutionPanels : .imageGradientPanels
        try WeightCache.withDerived(weight, form, count: 9 * rowPanels, body) { panels in
            try Scratch.with(4 * o * c) { matrix in
                var dst = panels
                for product in products {
                    let k = product.taps.count * c
                    for oi in 0..<o {
                        for (t, tap) in product.taps.enumerated() {
                            for ci in 0..<c { matrix[oi * k + t * c + ci] = tapWeight(oi, ci, tap.ky * 3 + tap.kx) }
                        }
                    }
                    PackedGEMM.packRows(matrix, lda: k, m: o, k: k, into: dst)
                    dst += product.taps.count * rowPanels
                }
            }
        }
    }

    /// The phase images [4, O, ld] from the padded images x [C, ld] on `PackedGEMM`'s micro-kernel: parallel over
    /// bands of 32 columns, each band's four shifted copies of x (the offsets of `phaseProductOffsets`, C rows each)
    /// written once as one column panel [4C, 32], and each phase the product of its row panels (`withPhaseWeights`)
    /// with the panel's rows of the offsets its taps read.
    private func packedPhaseProducts(
        _ x: UnsafePointer<Float>, ld: Int, columns: Int, panels: UnsafePointer<Float>,
        into phases: UnsafeMutablePointer<Float>
    ) throws {
        let (o, c, width) = (inChannels, outChannels, PackedGEMM.columns), pitch = outWidth + 2
        let bands = (columns + width - 1) / width, chunks = Swift.min(Threads.count, bands), depth = 4 * c
        let rowPanels = (o + PackedGEMM.rows - 1) / PackedGEMM.rows, panelFloats = rowPanels * PackedGEMM.rows * c
        let shifts = ConvGeometry.phaseProductOffsets.map { $0.dy * pitch + $0.dx }
        try Scratch.with(chunks * depth * width) { bandPanels in
            nonisolated(unsafe) let (x, panels, phases, bandPanels) = (x, panels, phases, bandPanels)
            parallelFor(chunks, costPerItem: bands / chunks * width * 9 * o * c) { chunk in
                let b = bandPanels + chunk * depth * width
                for band in (chunk * bands / chunks)..<((chunk + 1) * bands / chunks) {
                    let j0 = band * width, n = Swift.min(width, columns - j0)
                    for (s, shift) in shifts.enumerated() {
                        for ci in 0..<c {
                            let dst = b + (s * c + ci) * width
                            dst.update(from: x + ci * ld + shift + j0, count: n)
                            if n < width { (dst + n).update(repeating: 0, count: width - n) }
                        }
                    }
                    var a = panels
                    for (p, product) in ConvGeometry.phaseProducts.enumerated() {
                        PackedGEMM.multiply(
                            m: o, n: n, k: product.taps.count * c, a: a, b: b + product.firstOffset * c * width,
                            c: phases + p * o * ld + j0, ldc: ld, rowPanels: 0..<rowPanels)
                        a += product.taps.count * panelFloats
                    }
                }
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

    /// The offsets (dy, dx) in the padded image that the packed phase products read, in the order of their column
    /// panel's rows: each phase's taps read a run of consecutive offsets.
    private static let phaseProductOffsets: [(dy: Int, dx: Int)] = [(0, 1), (1, 1), (1, 0), (0, 0)]

    /// Each phase's taps (ky, kx) in the order of phase images of `upConvolutionOffsets`, starting at offset
    /// `firstOffset` of `phaseProductOffsets` and reading the next ones: phase (a, b) takes kernel rows 2 (offset dy 0)
    /// and 0 (dy 1) when a = 0, row 1 (dy 1) when a = 1, and likewise columns.
    private static let phaseProducts: [(firstOffset: Int, taps: [(ky: Int, kx: Int)])] = [
        (0, [(2, 1), (0, 1)]),  // (a, b) = (0, 1)
        (0, [(2, 0), (0, 0), (0, 2), (2, 2)]),  // (0, 0)
        (1, [(1, 0), (1, 2)]),  // (1, 0)
        (1, [(1, 1)]),  // (1, 1)
    ]

    /// x[c, s, 1 + y, 1 + x] = image[n0 + s, c, y, x] * style[n0 + s, c] (1 without a style), zero on the one-pixel
    /// border.
    private func padImages(
        _ image: UnsafePointer<Float>, _ style: UnsafePointer<Float>?, samples: Range<Int>,
        into x: UnsafeMutablePointer<Float>
    ) {
        nonisolated(unsafe) let (image, style, x) = (image, style, x)
        let (c, h, w, n0, count) = (outChannels, outHeight, outWidth, samples.lowerBound, samples.count)
        let pitch = w + 2, padded = (h + 2) * pitch
        parallelFor(c, costPerItem: count * padded) { ci in
            let run = x + ci * count * padded
            run.update(repeating: 0, count: count * padded)
            for s in 0..<count {
                let scale = style?[(n0 + s) * c + ci] ?? 1, src = image + ((n0 + s) * c + ci) * h * w
                let dst = run + s * padded + pitch + 1
                for y in 0..<h { for i in 0..<w { dst[y * pitch + i] = src[y * w + i] * scale } }
            }
        }
    }

    /// upsampled[s, o, 2m + a, 2n + b] = phase (a, b) [o, s, m, n] for phase images [4, O, count, H + 2, W + 2] in
    /// the order of `upConvolutionOffsets`: (a, 0) at 1 + a, (a, 1) at 3a. `cropped`: the planes (this geometry's
    /// image, 2H x 2W) start at row and column 1 of the full result: row y is full row y + 1, and column 2i is phase
    /// column i of b = 1, column 2i + 1 phase column i + 1 of b = 0.
    private func interleavePhases(
        _ phases: UnsafePointer<Float>, count: Int, into upsampled: UnsafeMutablePointer<Float>, cropped: Bool
    ) {
        nonisolated(unsafe) let (phases, up) = (phases, upsampled)
        let (o, h, w) = (inChannels, outHeight, outWidth), pitch = w + 2, padded = (h + 2) * pitch
        let phaseSize = o * count * padded, (rows, cols) = (inHeight, inWidth), shift = cropped ? 1 : 0
        parallelFor(count * o, costPerItem: rows * cols) { so in
            let (s, oi) = (so / o, so % o)
            let plane = up + so * rows * cols, base = phases + (oi * count + s) * padded
            for y in 0..<rows {
                let full = y + shift, (a, row) = (full & 1, base + (full >> 1) * pitch)
                let (even, odd) = (row + (1 + a) * phaseSize, row + 3 * a * phaseSize)
                if cropped {
                    interleave(odd, even + 1, cols, into: plane + y * cols)
                } else {
                    interleave(even, odd, cols, into: plane + y * cols)
                }
            }
        }
    }
}
