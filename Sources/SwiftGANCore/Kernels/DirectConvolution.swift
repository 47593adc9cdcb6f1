/// Direct (loop) kernels for stride-1 convolutions with very few output channels, such as CycleGAN's final 7x7
/// conv to RGB. As a GEMM such a layer has M = 3: its im2col would write C * 49 values per pixel only for a
/// three-row product, and its image gradient would go through an equally large column matrix. Looping over the
/// kernel taps with the pixels of a row as the vectorized inner loop touches each value a few times instead.
///
/// The loops are register-blocked, so that a loaded vector feeds several FMAs and the sums are stored once: the
/// forward pass and the image gradient (the same correlation with the kernel flipped, the channels swapped and the
/// padding k - 1 - p) keep 3 output channels by 32 pixels of a row in twelve accumulators while they run over the
/// source channels and taps (`DirectCorrelation`); the weight gradient keeps 3 output channels by 4 taps of a kernel
/// row while it runs over a band of pixels. Every result is summed in a fixed order whatever the thread count.
extension ConvGeometry {
    /// out[n, o] = sum over c, i, j of w[o, c, i, j] * image[n, c] shifted by (i, j).
    func directForward(
        image: UnsafePointer<Float>, weight: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>
    ) throws {
        let (c, kh, kw) = (inChannels, kernelHeight, kernelWidth)
        try DirectCorrelation(
            batch: batch, sources: inChannels, sourceHeight: inHeight, sourceWidth: inWidth,
            channels: outChannels, height: outHeight, width: outWidth, kernelHeight: kh, kernelWidth: kw,
            rowPadding: padding, columnPadding: padding
        )
        .run(source: image, out: out) { o, ci, i, j in weight[((o * c + ci) * kh + i) * kw + j] }
    }

    /// imageGrad[n, c] = sum over o, i, j of w[o, c, i, j] * outGrad[n, o] shifted back: the correlation of outGrad
    /// with the flipped kernel.
    func directBackwardData(
        outGrad: UnsafePointer<Float>, weight: UnsafePointer<Float>, imageGrad: UnsafeMutablePointer<Float>
    ) throws {
        let (c, kh, kw) = (inChannels, kernelHeight, kernelWidth)
        try DirectCorrelation(
            batch: batch, sources: outChannels, sourceHeight: outHeight, sourceWidth: outWidth,
            channels: inChannels, height: inHeight, width: inWidth, kernelHeight: kh, kernelWidth: kw,
            rowPadding: kh - 1 - padding, columnPadding: kw - 1 - padding
        )
        .run(source: outGrad, out: imageGrad) { ci, o, i, j in
            weight[((o * c + ci) * kh + kh - 1 - i) * kw + kw - 1 - j]
        }
    }

    /// weightGrad[o, c, i, j] = sum over n and pixels of outGrad[n, o] * image[n, c] shifted: parallel over channels c.
    /// For each band of `DirectCorrelation.rows` output rows (which stay in cache) and kernel row i, `weightBlock` sums
    /// blocks of output channels by taps in registers. Rows of both operands get zero columns up to whole vectors, so
    /// every load is a whole vector.
    func directBackwardWeight(
        image: UnsafePointer<Float>, outGrad: UnsafePointer<Float>, weightGrad: UnsafeMutablePointer<Float>
    ) throws {
        let g = self, (kh, kw) = (kernelHeight, kernelWidth), columns = (outWidth + 7) / 8 * 8
        try withPaddedRows(
            outGrad, planes: batch * outChannels, height: outHeight, width: outWidth, left: 0, columns: columns
        ) { grads, gradStride in
            try withPaddedRows(
                image, planes: batch * inChannels, height: inHeight, width: inWidth, left: padding,
                columns: columns + kw - 1
            ) { images, imageStride in
                nonisolated(unsafe) let (x, gy, gw) = (images, grads, weightGrad)
                let gradPlane = outHeight * gradStride
                parallelFor(inChannels, costPerItem: batch * outChannels * kh * kw * outPlane) { c in
                    // sums[(o * kh + i) * kw + j]: the vector sums of the bands of rows so far.
                    withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: g.outChannels * kh * kw) { sums in
                        sums.initialize(repeating: .zero)
                        for n in 0..<g.batch {
                            let plane = x + (n * g.inChannels + c) * g.inHeight * imageStride
                            forEachBlock(g.outHeight, atMost: DirectCorrelation.rows) { y0, rows in
                                for i in 0..<kh {
                                    let ys = g.validRange(i, out: g.outHeight, input: g.inHeight).clamped(
                                        to: y0..<(y0 + rows))
                                    forEachBlock(g.outChannels, atMost: 3) { o0, blockChannels in
                                        forEachBlock(kw, atMost: 4) { j0, blockTaps in
                                            g.weightBlock(
                                                blockChannels, blockTaps, rows: ys,
                                                grad: { y in
                                                    gy + ((n * g.outChannels + o0) * g.outHeight + y) * gradStride
                                                }, gradPlane: gradPlane,
                                                image: { y in plane + (y - g.padding + i) * imageStride + j0 },
                                                into: sums.baseAddress! + (o0 * kh + i) * kw + j0,
                                                channelStride: kh * kw)
                                        }
                                    }
                                }
                            }
                        }
                        for o in 0..<g.outChannels {
                            for t in 0..<(kh * kw) {
                                gw[(o * g.inChannels + c) * kh * kw + t] = sums[o * kh * kw + t].sum()
                            }
                        }
                    }
                }
            }
        }
    }

    /// sums[a * channelStride + t] += the sum over `rows` y and pixels x of grad(y)[a * gradPlane + x] * image(y)[x +
    /// t], for A (up to 3) channels by T (up to 4) taps: twelve accumulators; each step loads A outGrad and T image
    /// vectors for A * T FMAs.
    @inline(__always) private func weightBlock(
        _ A: Int, _ T: Int, rows: Range<Int>, grad: (Int) -> UnsafePointer<Float>, gradPlane: Int,
        image: (Int) -> UnsafePointer<Float>, into sums: UnsafeMutablePointer<SIMD8<Float>>, channelStride: Int
    ) {
        withConstant(A) { A in
            withConstant(T) { T in
                withVectors { acc in
                    for y in rows {
                        let (gRow, xRow) = (grad(y), image(y))
                        forEachVector(outWidth) { x in
                            for t in 0..<T {
                                let s = load8(xRow + x + t)
                                for a in 0..<A {
                                    acc[a * T + t] = multiplyAdd(load8(gRow + a * gradPlane + x), s, acc[a * T + t])
                                }
                            }
                        }
                    }
                    for a in 0..<A { for t in 0..<T { sums[a * channelStride + t] += acc[a * T + t] } }
                }
            }
        }
    }

    /// For kernel row i (or column j), the output rows (columns) whose input row (column) o - padding + i is inside.
    @inline(__always) private func validRange(_ k: Int, out: Int, input: Int) -> Range<Int> {
        let lo = Swift.max(0, padding - k), hi = Swift.min(out, input + padding - k)
        return lo..<Swift.max(lo, hi)
    }
}

/// A stride-1 correlation out[n, a, y, x] = sum over b, i, j of w(a, b, i, j) * source[n, b, y - rowPadding + i,
/// x - columnPadding + j], zero outside the source (a padding may be negative: the image gradient of a convolution
/// padded by more than k - 1 crops). Either side may have many channels; the kernel keeps bands of up to 3 output
/// channels by 32 pixels of a row in registers.
private struct DirectCorrelation {
    var batch: Int, sources: Int, sourceHeight: Int, sourceWidth: Int
    var channels: Int, height: Int, width: Int
    var kernelHeight: Int, kernelWidth: Int, rowPadding: Int, columnPadding: Int

    /// Output rows per parallel item (and per band of the weight gradient).
    static let rows = 8
    /// Pixels per band: four vectors, by up to 3 channels.
    static let bandWidth = 32
    /// How many floats of source rows a pass over an item's rows and bands may read: small enough to stay in L2 while
    /// the item's rows reuse them, so an item takes its source channels in groups.
    static let passFloats = 32_768

    /// Writes out ([batch, channels, height, width]) from source ([batch, sources, sourceHeight, sourceWidth]) and the
    /// weights w(a, b, i, j): parallel over bands of rows.
    func run(
        source: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, weight: (Int, Int, Int, Int) -> Float
    ) throws {
        let (kh, kw) = (kernelHeight, kernelWidth), perChannel = sources * kh * kw
        try Scratch.with(channels * perChannel) { packed in
            // The weights of the output block a0 ..< a0 + A, in the order the band reads them: for each source channel
            // and tap, the A weights that one source vector meets side by side.
            forEachBlock(channels, atMost: 3) { a0, count in
                for b in 0..<sources {
                    for t in 0..<(kh * kw) {
                        for a in 0..<count {
                            packed[a0 * perChannel + (b * kh * kw + t) * count + a] = weight(a0 + a, b, t / kw, t % kw)
                        }
                    }
                }
            }
            // Every band reads whole vectors: the rows get zero columns for the padding and up to the last band's end.
            let columns = (width + Self.bandWidth - 1) / Self.bandWidth * Self.bandWidth + kw - 1
            try withPaddedRows(
                source, planes: batch * sources, height: sourceHeight, width: sourceWidth, left: columnPadding,
                columns: columns
            ) { rows, rowStride in
                nonisolated(unsafe) let (src, weights, out) = (rows, UnsafePointer(packed), out)
                let correlation = self, items = (height + Self.rows - 1) / Self.rows
                let group = Swift.max(1, Self.passFloats / ((Self.rows + kh - 1) * rowStride))
                parallelFor(batch * items, costPerItem: Self.rows * width * channels * perChannel) { item in
                    let n = item / items, y0 = item % items * Self.rows
                    forEachBlock(correlation.sources, atMost: group) { b0, count in
                        for y in y0..<Swift.min(y0 + Self.rows, correlation.height) {
                            forEachBlock(correlation.channels, atMost: 3) { a0, blockChannels in
                                for band in 0..<(correlation.width + Self.bandWidth - 1) / Self.bandWidth {
                                    withConstant(blockChannels) { A in
                                        correlation.band(
                                            A, n: n, y: y, x0: band * Self.bandWidth, a0: a0, group: b0..<(b0 + count),
                                            src: src,
                                            rowStride: rowStride, weights: weights + a0 * perChannel, out: out)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// out[n, a0 ..< a0 + A, y, x0 ..< x0 + 32]: the sum over the group of source channels, added to what earlier
    /// groups stored (the first group starts from zero). A channels by 4 vectors of accumulators; each source vector
    /// loaded feeds A FMAs.
    @inline(__always) private func band(
        _ A: Int, n: Int, y: Int, x0: Int, a0: Int, group: Range<Int>, src: UnsafePointer<Float>,
        rowStride: Int, weights: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>
    ) {
        let (kh, kw) = (kernelHeight, kernelWidth), V = Self.bandWidth / 8, plane = height * width
        let dst = out + ((n * channels + a0) * height + y) * width + x0
        let first = Swift.max(0, rowPadding - y),
            taps = first..<Swift.max(first, Swift.min(kh, sourceHeight + rowPadding - y))
        @inline(__always) func lanes(_ v: Int) -> Int { Swift.max(0, Swift.min(8, width - x0 - 8 * v)) }
        withVectors { acc in
            if group.lowerBound > 0 {
                for a in 0..<A { for v in 0..<V { acc[a * V + v] = load8(dst + a * plane + 8 * v, lanes(v)) } }
            }
            for b in group {
                for i in taps {
                    let row = src + ((n * sources + b) * sourceHeight + y - rowPadding + i) * rowStride + x0
                    var w = weights + (b * kh + i) * kw * A
                    for j in 0..<kw {
                        for v in 0..<V {
                            let s = load8(row + j + 8 * v)
                            for a in 0..<A { acc[a * V + v] = multiplyAdd(SIMD8(repeating: w[a]), s, acc[a * V + v]) }
                        }
                        w += A
                    }
                }
            }
            for a in 0..<A { for v in 0..<V { store8(acc[a * V + v], dst + a * plane + 8 * v, lanes(v)) } }
        }
    }
}

/// Calls body(rows, rowStride) with the planes [planes, height, width] of `source` as rows of `columns` floats that
/// hold source column x at x + left and zeros around it: the source itself when it already is that (left 0 and
/// columns within its width), else a padded copy.
private func withPaddedRows<R>(
    _ source: UnsafePointer<Float>, planes: Int, height: Int, width: Int, left: Int, columns: Int,
    _ body: (UnsafePointer<Float>, Int) throws -> R
) throws -> R {
    if left == 0 && columns <= width { return try body(source, width) }
    return try Scratch.with(planes * height * columns) { padded in
        nonisolated(unsafe) let (source, padded) = (source, padded)
        // Columns lo ..< hi of a padded row hold source columns lo - left ..< hi - left.
        let lo = Swift.min(Swift.max(left, 0), columns), hi = Swift.min(Swift.max(left + width, lo), columns)
        parallelFor(planes * height, costPerItem: columns) { r in
            let dst = padded + r * columns
            dst.update(repeating: 0, count: lo)
            (dst + lo).update(from: source + r * width + lo - left, count: hi - lo)
            (dst + hi).update(repeating: 0, count: columns - hi)
        }
        return try body(padded, columns)
    }
}

/// Runs body(start, count) over 0..<total in the fewest blocks of at most `size`, their sizes within one of each other.
@inline(__always) private func forEachBlock(_ total: Int, atMost size: Int, _ body: (Int, Int) -> Void) {
    let blocks = (total + size - 1) / size
    for b in 0..<blocks { body(b * total / blocks, (b + 1) * total / blocks - b * total / blocks) }
}

/// Calls body(n) for n in 1...4 with n as a literal, so that loops bounded by it unroll and the accumulators they
/// index stay in registers.
@inline(__always) private func withConstant(_ n: Int, _ body: (Int) -> Void) {
    switch n {
    case 1: body(1)
    case 2: body(2)
    case 3: body(3)
    default: body(4)
    }
}

/// Runs body with twelve zeroed vectors on the stack: indexed by constants only, they live in registers.
@inline(__always) private func withVectors(_ body: (UnsafeMutableBufferPointer<SIMD8<Float>>) -> Void) {
    withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: 12) { acc in
        acc.initialize(repeating: .zero)
        body(acc)
    }
}
