import Glibc

/// Stride-1 convolutions of a reflection-padded image that read the reflection themselves, in training as in
/// inference (CycleGAN's residual convs: ReflectionPad2d(1), then an unpadded 3x3 conv). The geometry is that of the
/// unpadded image with the padding p. The forward pass and the weight gradient read the reflection in Winograd's input
/// transform, with no padded copy. The image gradient is the padded image's gradient Z folded back by the padding's
/// adjoint: Z's interior is the zero-padded convolution's own image gradient, the image's size (a 32x32 residual conv
/// makes 8 x 8 F(4x4, 3x3) tiles, where Z's 34 x 34 made 9 x 9 with the ninth tile of each row alone in a vector of
/// the transforms), and its border, p wide, which only p rows or columns of each kernel reach, comes from one small
/// GEMM per side, added where the reflection read it.
extension ConvGeometry {
    /// imageGrad = the gradient of conv(reflectionPad(image, padding), weight) (unpadded) with respect to the image.
    func reflectedBackwardData(
        outGrad: UnsafePointer<Float>, weight: UnsafePointer<Float>, imageGrad: UnsafeMutablePointer<Float>
    ) throws {
        try backwardData(outGrad: outGrad, weight: weight, imageGrad: imageGrad)
        let taps = kernelHeight * kernelWidth
        try withTapsMajor(weight, outChannels: outChannels, inChannels: inChannels, taps: taps) { t in
            for side in borderSides { try addBorderGradient(side, t, outGrad: outGrad, imageGrad: imageGrad) }
        }
    }

    /// weightGrad = the gradient of conv(reflectionPad(image, padding), weight) with respect to the weight.
    func reflectedBackwardWeight(
        image: UnsafePointer<Float>, outGrad: UnsafePointer<Float>, weightGrad: UnsafeMutablePointer<Float>
    ) throws {
        try winogradBackwardWeight(image: image, outGrad: outGrad, weightGrad: weightGrad, reflected: true)
    }

    /// A side of the padded image's border: its rows and columns (of the padded image), and the kernel rows and
    /// columns that reach it from the output (the others read the image itself there).
    private struct BorderSide {
        let rows: Range<Int>, columns: Range<Int>, kernelRows: Range<Int>, kernelColumns: Range<Int>
        /// The kernel taps that reach the side.
        var taps: Int { kernelRows.count * kernelColumns.count }
    }

    /// The four sides; the top and bottom ones take the corners.
    private var borderSides: [BorderSide] {
        let (p, kh, kw, h, w) = (padding, kernelHeight, kernelWidth, inHeight, inWidth)
        return [
            BorderSide(rows: 0..<p, columns: 0..<(w + 2 * p), kernelRows: 0..<p, kernelColumns: 0..<kw),
            BorderSide(
                rows: (h + p)..<(h + 2 * p), columns: 0..<(w + 2 * p), kernelRows: (kh - p)..<kh,
                kernelColumns: 0..<kw),
            BorderSide(rows: p..<(h + p), columns: 0..<p, kernelRows: 0..<kh, kernelColumns: 0..<p),
            BorderSide(
                rows: p..<(h + p), columns: (w + p)..<(w + 2 * p), kernelRows: 0..<kh, kernelColumns: (kw - p)..<kw),
        ]
    }

    /// Z[n, c, y, x] = sum over o and the side's taps (i, j) of weight[o, c, i, j] * outGrad[n, o, y - i, x - j] (zero
    /// outside the output) for the side's pixels (y, x), added to imageGrad at the pixel the reflection read at
    /// (y - p, x - p). Z is a GEMM [C, taps * O] x [taps * O, N * pixels] whose A is the weight transposed to
    /// [C, taps, O] (`withTapsMajor`) read in place: one product per run of the side's taps that lie together there (a
    /// run of whole kernel rows for the top and bottom, a run per kernel row for the left and right).
    private func addBorderGradient(
        _ side: BorderSide, _ transposed: UnsafePointer<Float>, outGrad: UnsafePointer<Float>,
        imageGrad: UnsafeMutablePointer<Float>
    ) throws {
        let (o, c, kw) = (outChannels, inChannels, kernelWidth), (taps, lda) = (side.taps, kernelHeight * kw * o)
        let pixels = side.rows.count * side.columns.count, columns = batch * pixels
        try Scratch.with(taps * o * columns) { b in
            try Scratch.with(c * columns) { z in
                nonisolated(unsafe) let (b, z, outGrad, imageGrad) = (b, z, outGrad, imageGrad)
                let g = self
                // b[(tap, o), (n, pixel)] = outGrad[n, o, y - i, x - j]: per row of the side, a run of the output
                // gradient's row y - i between zeros.
                let sideTaps = side.kernelRows.flatMap { i in side.kernelColumns.map { (i, $0) } }
                parallelFor(o, costPerItem: taps * columns) { oi in
                    for (t, (i, j)) in sideTaps.enumerated() {
                        var column = b + (t * o + oi) * columns
                        let (x0, x1) = (side.columns.lowerBound - j, side.columns.upperBound - j)
                        let inside = Swift.max(x0, 0)..<Swift.min(x1, g.outWidth)
                        for n in 0..<g.batch {
                            let plane = outGrad + (n * o + oi) * g.outPlane
                            for y in side.rows {
                                column.update(repeating: 0, count: x1 - x0)
                                if y - i >= 0 && y - i < g.outHeight && !inside.isEmpty {
                                    (column + inside.lowerBound - x0).update(
                                        from: plane + (y - i) * g.outWidth + inside.lowerBound, count: inside.count)
                                }
                                column += x1 - x0
                            }
                        }
                    }
                }
                let whole = side.kernelColumns.count == kw  // the side's taps are one run of whole kernel rows
                let runs = whole ? [side.kernelRows.lowerBound] : Array(side.kernelRows)
                let (first, length) = (side.kernelColumns.lowerBound, whole ? taps : side.kernelColumns.count)
                for (r, row) in runs.enumerated() {
                    sgemm(
                        m: c, n: columns, k: length * o, a: transposed + (row * kw + first) * o, lda: lda,
                        b: b + r * length * o * columns, ldb: columns, beta: r == 0 ? 0 : 1, c: z, ldc: columns)
                }
                parallelFor(batch * c, costPerItem: pixels) { nc in
                    let (n, ci) = (nc / c, nc % c), dst = imageGrad + nc * g.inPlane
                    var value = UnsafePointer(z + ci * columns + n * pixels)
                    for y in side.rows {
                        let row = dst + reflectedIndex(y - g.padding, g.inHeight) * g.inWidth
                        for x in side.columns {
                            row[reflectedIndex(x - g.padding, g.inWidth)] += value.pointee
                            value += 1
                        }
                    }
                }
            }
        }
    }
}

/// The image index that index i (from -(n - 1) to 2n - 2) of a reflection-padded axis of n reads: -1 reads 1, n reads
/// n - 2. The one definition of reflection padding (`reflectionPad2d`, Winograd's reflected input transform, the
/// border gradient above).
@inline(__always) func reflectedIndex(_ i: Int, _ n: Int) -> Int { i < 0 ? -i : i >= n ? 2 * n - 2 - i : i }
