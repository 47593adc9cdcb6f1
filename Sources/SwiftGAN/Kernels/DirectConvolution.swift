import Glibc

/// Direct (loop) kernels for stride-1 convolutions with very few output channels, such as CycleGAN's final 7x7
/// conv to RGB. As a GEMM such a layer has M = 3: its im2col would write C * 49 values per pixel only for a
/// three-row product, and its image gradient would go through an equally large column matrix. Looping over the
/// kernel taps with the pixels of a row as the vectorized inner loop touches each value a few times instead.
extension ConvGeometry {
    /// Whether `forward`, `backwardData` and `backwardWeight` take the direct kernels.
    var usesDirectKernels: Bool { stride == 1 && outChannels <= 4 && !isPointwise && !isFullyConnected }

    /// For kernel row i (or column j), the output rows (columns) whose input row (column) o - padding + i is inside.
    @inline(__always) private func validRange(_ k: Int, out: Int, input: Int) -> Range<Int> {
        let lo = Swift.max(0, padding - k), hi = Swift.min(out, input + padding - k)
        return lo..<Swift.max(lo, hi)
    }

    /// out[n, o] = sum over c, i, j of w[o, c, i, j] * image[n, c] shifted by (i, j): parallel over bands of rows.
    func directForward(image: UnsafePointer<Float>, weight: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>) {
        nonisolated(unsafe) let (x, w, y) = (image, weight, out)
        let g = self, k = kernelHeight * kernelWidth
        memset(out, 0, batch * outChannels * outPlane * MemoryLayout<Float>.stride)
        parallelFor(batch * outHeight, costPerItem: outChannels * colRows * outWidth) { row in
            let (n, oy) = (row / g.outHeight, row % g.outHeight)
            for o in 0..<g.outChannels {
                let dst = y + (n * g.outChannels + o) * g.outPlane + oy * g.outWidth
                for c in 0..<g.inChannels {
                    for i in 0..<g.kernelHeight {
                        let iy = oy - g.padding + i
                        guard iy >= 0 && iy < g.inHeight else { continue }
                        let src = x + (n * g.inChannels + c) * g.inPlane + iy * g.inWidth - g.padding
                        for j in 0..<g.kernelWidth {
                            let a = w[(o * g.inChannels + c) * k + i * g.kernelWidth + j]
                            for ox in g.validRange(j, out: g.outWidth, input: g.inWidth) { dst[ox] += a * src[ox + j] }
                        }
                    }
                }
            }
        }
    }

    /// imageGrad[n, c] = sum over o, i, j of w[o, c, i, j] * outGrad[n, o] shifted back: parallel over channels.
    func directBackwardData(outGrad: UnsafePointer<Float>, weight: UnsafePointer<Float>, imageGrad: UnsafeMutablePointer<Float>) {
        nonisolated(unsafe) let (gy, w, gx) = (outGrad, weight, imageGrad)
        let g = self, k = kernelHeight * kernelWidth
        memset(imageGrad, 0, batch * inChannels * inPlane * MemoryLayout<Float>.stride)
        parallelFor(batch * inChannels, costPerItem: outChannels * k * outPlane) { nc in
            let (n, c) = (nc / g.inChannels, nc % g.inChannels)
            let dstPlane = gx + nc * g.inPlane
            for o in 0..<g.outChannels {
                let srcPlane = gy + (n * g.outChannels + o) * g.outPlane
                for i in 0..<g.kernelHeight {
                    for oy in g.validRange(i, out: g.outHeight, input: g.inHeight) {
                        let src = srcPlane + oy * g.outWidth, dst = dstPlane + (oy - g.padding + i) * g.inWidth - g.padding
                        for j in 0..<g.kernelWidth {
                            let a = w[(o * g.inChannels + c) * k + i * g.kernelWidth + j]
                            for ox in g.validRange(j, out: g.outWidth, input: g.inWidth) { dst[ox + j] += a * src[ox] }
                        }
                    }
                }
            }
        }
    }

    /// weightGrad[o, c, i, j] = sum over n and pixels of outGrad[n, o] * image[n, c] shifted: parallel over channels.
    func directBackwardWeight(image: UnsafePointer<Float>, outGrad: UnsafePointer<Float>, weightGrad: UnsafeMutablePointer<Float>) {
        nonisolated(unsafe) let (x, gy, gw) = (image, outGrad, weightGrad)
        let g = self, k = kernelHeight * kernelWidth
        parallelFor(inChannels, costPerItem: batch * outChannels * k * outPlane) { c in
            for o in 0..<g.outChannels {
                for i in 0..<g.kernelHeight {
                    for j in 0..<g.kernelWidth {
                        var sum: Float = 0
                        let cols = g.validRange(j, out: g.outWidth, input: g.inWidth)
                        for n in 0..<g.batch {
                            let srcPlane = x + (n * g.inChannels + c) * g.inPlane, gPlane = gy + (n * g.outChannels + o) * g.outPlane
                            for oy in g.validRange(i, out: g.outHeight, input: g.inHeight) {
                                let src = srcPlane + (oy - g.padding + i) * g.inWidth - g.padding + j, gr = gPlane + oy * g.outWidth
                                sum += dot(gr + cols.lowerBound, src + cols.lowerBound, cols.count)
                            }
                        }
                        gw[(o * g.inChannels + c) * k + i * g.kernelWidth + j] = sum
                    }
                }
            }
        }
    }
}
