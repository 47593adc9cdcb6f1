/// Spatial resampling kernels over [N*C] planes.

/// A separable linear map from an [H, W] plane to an [Ho, Wo] plane: each output row (column) is a weighted
/// sum of a few input rows (columns). Padding, nearest and bilinear upsampling and average pooling are all
/// such maps; the adjoint (the gradient) scatters with the same taps.
struct SeparableResample {
    /// Taps of one axis: output i reads inputs index[start[i]..<start[i+1]] with the matching weights.
    struct Axis {
        var start: [Int] = [0], index: [Int] = [], weight: [Float] = []
        var outputs: Int { start.count - 1 }
        mutating func add(_ taps: [(Int, Float)]) {
            for (i, w) in taps { index.append(i); weight.append(w) }
            start.append(index.count)
        }
    }
    let inHeight: Int, inWidth: Int
    let rows: Axis, cols: Axis

    /// out[p] = resample(x[p]) for every plane p.
    func forward(_ x: UnsafePointer<Float>, planes: Int, out: UnsafeMutablePointer<Float>) {
        nonisolated(unsafe) let x = x, out = out
        let r = self, outW = cols.outputs
        parallelFor(planes, costPerItem: rows.outputs * outW * 2) { p in
            let src = x + p * r.inHeight * r.inWidth, dst = out + p * r.rows.outputs * outW
            for oy in 0..<r.rows.outputs {
                let drow = dst + oy * outW
                drow.update(repeating: 0, count: outW)
                for ty in r.rows.start[oy]..<r.rows.start[oy + 1] {
                    let srow = src + r.rows.index[ty] * r.inWidth, wy = r.rows.weight[ty]
                    for ox in 0..<outW {
                        var s: Float = 0
                        for tx in r.cols.start[ox]..<r.cols.start[ox + 1] { s += r.cols.weight[tx] * srow[r.cols.index[tx]] }
                        drow[ox] += wy * s
                    }
                }
            }
        }
    }

    /// The adjoint: gx = resample^T(g), overwriting gx.
    func adjoint(_ g: UnsafePointer<Float>, planes: Int, out gx: UnsafeMutablePointer<Float>) {
        nonisolated(unsafe) let g = g, gx = gx
        let r = self, outW = cols.outputs
        parallelFor(planes, costPerItem: rows.outputs * outW * 2) { p in
            let src = g + p * r.rows.outputs * outW, dst = gx + p * r.inHeight * r.inWidth
            dst.update(repeating: 0, count: r.inHeight * r.inWidth)
            for oy in 0..<r.rows.outputs {
                let grow = src + oy * outW
                for ty in r.rows.start[oy]..<r.rows.start[oy + 1] {
                    let drow = dst + r.rows.index[ty] * r.inWidth, wy = r.rows.weight[ty]
                    for ox in 0..<outW {
                        let v = wy * grow[ox]
                        for tx in r.cols.start[ox]..<r.cols.start[ox + 1] { drow[r.cols.index[tx]] += r.cols.weight[tx] * v }
                    }
                }
            }
        }
    }
}

/// upfirdn2d as in StyleGAN2: upsample by zero insertion, pad (negative pads crop), convolve with a 2-D FIR
/// filter (a true convolution: the filter is flipped), downsample by keeping every `down`-th pixel, times gain.
struct FIRResample: Equatable {
    let inHeight: Int, inWidth: Int
    let up: Int, down: Int
    let padLeft: Int, padRight: Int, padTop: Int, padBottom: Int
    let filterHeight: Int, filterWidth: Int

    var outHeight: Int { (inHeight * up + padTop + padBottom - filterHeight + down) / down }
    var outWidth: Int { (inWidth * up + padLeft + padRight - filterWidth + down) / down }

    /// Calls body(iy, ix, fy, fx) for every input pixel that contributes to output (oy, ox), with the filter tap.
    @inline(__always)
    func taps(_ oy: Int, _ ox: Int, _ body: (Int, Int, Int, Int) -> Void) {
        for ky in 0..<filterHeight {
            let py = oy * down + ky - padTop  // position in the upsampled image
            guard py >= 0, py % up == 0, py / up < inHeight else { continue }
            for kx in 0..<filterWidth {
                let px = ox * down + kx - padLeft
                guard px >= 0, px % up == 0, px / up < inWidth else { continue }
                body(py / up, px / up, filterHeight - 1 - ky, filterWidth - 1 - kx)
            }
        }
    }

    func forward(_ x: UnsafePointer<Float>, filter: UnsafePointer<Float>, gain: Float, planes: Int, out: UnsafeMutablePointer<Float>) {
        nonisolated(unsafe) let x = x, out = out, filter = filter
        let r = self, oh = outHeight, ow = outWidth
        parallelFor(planes, costPerItem: oh * ow * filterHeight * filterWidth) { p in
            let src = x + p * r.inHeight * r.inWidth, dst = out + p * oh * ow
            for oy in 0..<oh {
                for ox in 0..<ow {
                    var s: Float = 0
                    r.taps(oy, ox) { iy, ix, fy, fx in s += filter[fy * r.filterWidth + fx] * src[iy * r.inWidth + ix] }
                    dst[oy * ow + ox] = s * gain
                }
            }
        }
    }

    func adjoint(_ g: UnsafePointer<Float>, filter: UnsafePointer<Float>, gain: Float, planes: Int, out gx: UnsafeMutablePointer<Float>) {
        nonisolated(unsafe) let g = g, gx = gx, filter = filter
        let r = self, oh = outHeight, ow = outWidth
        parallelFor(planes, costPerItem: oh * ow * filterHeight * filterWidth) { p in
            let src = g + p * oh * ow, dst = gx + p * r.inHeight * r.inWidth
            dst.update(repeating: 0, count: r.inHeight * r.inWidth)
            for oy in 0..<oh {
                for ox in 0..<ow {
                    let v = src[oy * ow + ox] * gain
                    r.taps(oy, ox) { iy, ix, fy, fx in dst[iy * r.inWidth + ix] += filter[fy * r.filterWidth + fx] * v }
                }
            }
        }
    }
}
