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
            for (i, w) in taps {
                index.append(i)
                weight.append(w)
            }
            start.append(index.count)
        }
        /// Raw views of the taps for the kernels' inner loops.
        struct Taps {
            let start: UnsafeBufferPointer<Int>, index: UnsafeBufferPointer<Int>, weight: UnsafeBufferPointer<Float>
        }
        func withTaps<R>(_ body: (Taps) -> R) -> R {
            start.withUnsafeBufferPointer { s in
                index.withUnsafeBufferPointer { i in
                    weight.withUnsafeBufferPointer { w in
                        body(Taps(start: s, index: i, weight: w))
                    }
                }
            }
        }

        /// A run of outputs that copy consecutive inputs (`source` nil: outputs that read nothing, so are zero).
        struct Run {
            let output: Int, source: Int?, count: Int
        }

        /// The axis as runs of plain copies, when every output reads at most one input with weight 1 (padding,
        /// cropping, nearest upsampling); nil otherwise.
        var copyRuns: [Run]? {
            var runs: [Run] = []
            for o in 0..<outputs {
                let taps = start[o + 1] - start[o]
                guard taps == 0 || (taps == 1 && weight[start[o]] == 1) else { return nil }
                let source = taps == 1 ? index[start[o]] : nil
                if let last = runs.last, last.output + last.count == o,
                    (last.source == nil && source == nil)
                        || (last.source.map { $0 + last.count } == source && source != nil)
                {
                    runs[runs.count - 1] = Run(output: last.output, source: last.source, count: last.count + 1)
                } else {
                    runs.append(Run(output: o, source: source, count: 1))
                }
            }
            return runs
        }

        /// The outputs that read the same weights from inputs o + offset + k (a sliding window: a FIR filter
        /// without resampling, inside the plane), when they are at least a vector's worth; nil otherwise.
        var window: (outputs: Range<Int>, offset: Int, weights: [Float])? {
            var best: (outputs: Range<Int>, offset: Int, weights: [Float])? = nil
            var o = 0
            while o < outputs {
                let (lo, taps) = (start[o], start[o + 1] - start[o])
                guard taps > 0, (0..<taps).allSatisfy({ index[lo + $0] == index[lo] + $0 }) else {
                    o += 1
                    continue
                }
                let offset = index[lo] - o, weights = Array(weight[lo..<(lo + taps)])
                var end = o + 1
                while end < outputs && start[end + 1] - start[end] == taps
                    && (0..<taps).allSatisfy({
                        index[start[end] + $0] == end + offset + $0 && weight[start[end] + $0] == weights[$0]
                    })
                {
                    end += 1
                }
                if end - o >= 8 && end - o > (best?.outputs.count ?? 0) { best = (o..<end, offset, weights) }
                o = end
            }
            return best
        }
    }
    let inHeight: Int, inWidth: Int
    let rows: Axis, cols: Axis

    /// Runs body(planes, rowBuffer) over chunks of planes in parallel; rowBuffer holds one [inHeight, outWidth]
    /// intermediate (the planes filtered along one axis only).
    private func forEachChunk(planes: Int, _ body: (Range<Int>, UnsafeMutablePointer<Float>) -> Void) {
        let perPlane = Swift.max(1, (inHeight + rows.outputs) * cols.outputs * 2)
        let buffer = inHeight * cols.outputs
        parallelRanges(planes, minChunk: Swift.max(1, 32_768 / perPlane)) { range in
            let tmp = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(1, buffer))
            defer { tmp.deallocate() }
            body(range, tmp)
        }
    }

    /// out[p] = resample(x[p]) for every plane p: first along rows of the input (tmp[iy, ox]), then along columns,
    /// where each output row is a weighted sum of whole tmp rows (contiguous, so it vectorizes). `finish(p, plane)`,
    /// when given, runs on each output plane while it is still in cache.
    func forward(
        _ x: UnsafePointer<Float>, planes: Int, out: UnsafeMutablePointer<Float>,
        finish: ((Int, UnsafeMutablePointer<Float>) -> Void)? = nil
    ) {
        nonisolated(unsafe) let x = x, out = out
        let inH = inHeight, inW = inWidth, outH = rows.outputs, outW = cols.outputs, runs = cols.copyRuns
        let window = runs == nil ? cols.window : nil
        rows.withTaps { ry in
            cols.withTaps { cx in
                forEachChunk(planes: planes) { range, tmp in
                    for p in range {
                        let src = x + p * inH * inW, dst = out + p * outH * outW
                        for iy in 0..<inH {
                            let srow = src + iy * inW, trow = tmp + iy * outW
                            if let runs {
                                for run in runs {
                                    if let source = run.source {
                                        (trow + run.output).update(from: srow + source, count: run.count)
                                    } else {
                                        (trow + run.output).update(repeating: 0, count: run.count)
                                    }
                                }
                                continue
                            }
                            var ox = 0
                            while ox < outW {
                                if let window, ox == window.outputs.lowerBound {
                                    // Eight outputs at a time, summing the taps in the order of the loop below.
                                    var o = ox
                                    while o + 8 <= window.outputs.upperBound {
                                        var v = SIMD8<Float>()
                                        for (k, w) in window.weights.enumerated() {
                                            v += SIMD8(repeating: w) * load8(srow + o + window.offset + k)
                                        }
                                        store8(v, trow + o)
                                        o += 8
                                    }
                                    if o > ox {
                                        ox = o
                                        continue
                                    }
                                }
                                var s: Float = 0
                                for t in cx.start[ox]..<cx.start[ox + 1] { s += cx.weight[t] * srow[cx.index[t]] }
                                trow[ox] = s
                                ox += 1
                            }
                        }
                        for oy in 0..<outH {
                            let drow = dst + oy * outW
                            let (lo, hi) = (ry.start[oy], ry.start[oy + 1])
                            guard lo < hi else {
                                drow.update(repeating: 0, count: outW)
                                continue
                            }
                            let t0 = tmp + ry.index[lo] * outW, w0 = ry.weight[lo]
                            for ox in 0..<outW { drow[ox] = w0 * t0[ox] }
                            for t in (lo + 1)..<hi {
                                let trow = tmp + ry.index[t] * outW, w = ry.weight[t]
                                for ox in 0..<outW { drow[ox] += w * trow[ox] }
                            }
                        }
                        finish?(p, dst)
                    }
                }
            }
        }
    }

    /// The adjoint: gx = resample^T(g), overwriting gx. The transpose of `forward`'s two passes in reverse order.
    func adjoint(_ g: UnsafePointer<Float>, planes: Int, out gx: UnsafeMutablePointer<Float>) {
        nonisolated(unsafe) let g = g, gx = gx
        let inH = inHeight, inW = inWidth, outH = rows.outputs, outW = cols.outputs, runs = cols.copyRuns
        rows.withTaps { ry in
            cols.withTaps { cx in
                forEachChunk(planes: planes) { range, tmp in
                    for p in range {
                        let src = g + p * outH * outW, dst = gx + p * inH * inW
                        tmp.update(repeating: 0, count: inH * outW)
                        for oy in 0..<outH {
                            let grow = src + oy * outW
                            for t in ry.start[oy]..<ry.start[oy + 1] {
                                let trow = tmp + ry.index[t] * outW, w = ry.weight[t]
                                for ox in 0..<outW { trow[ox] += w * grow[ox] }
                            }
                        }
                        dst.update(repeating: 0, count: inH * inW)
                        for iy in 0..<inH {
                            let trow = tmp + iy * outW, drow = dst + iy * inW
                            if let runs {
                                for run in runs {
                                    if let source = run.source {
                                        addFloats(trow + run.output, into: drow + source, run.count)
                                    }
                                }
                                continue
                            }
                            for ox in 0..<outW {
                                let v = trow[ox]
                                for t in cx.start[ox]..<cx.start[ox + 1] { drow[cx.index[t]] += cx.weight[t] * v }
                            }
                        }
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

    func forward(
        _ x: UnsafePointer<Float>, filter: UnsafePointer<Float>, gain: Float, planes: Int,
        out: UnsafeMutablePointer<Float>
    ) {
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

    func adjoint(
        _ g: UnsafePointer<Float>, filter: UnsafePointer<Float>, gain: Float, planes: Int,
        out gx: UnsafeMutablePointer<Float>
    ) {
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
