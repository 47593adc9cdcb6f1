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

        /// One FIR filter over the zero-padded input: output o reads input stride * o + offset + k with weights[k],
        /// those outside the input being zero (StyleGAN's blur, with or without downsampling by 2; average pooling).
        struct Window {
            let offset: Int, stride: Int, weights: [Float]

            /// Floats of the zero-padded row that `outputs` outputs read in groups of sixteen (stride 2's loads touch
            /// one past the last they read).
            func lineLength(outputs: Int) -> Int { stride * ((outputs + 15) & ~15) + weights.count + stride }

            /// out[o] = sum_k weights[k] * row[stride * o + offset + k] for the `outputs` outputs of a row of `inputs`,
            /// sixteen at a time in two chains of sums; groups that would read outside the row read `line`
            /// (`lineLength` floats) instead, the row zero-padded (only its ends are written).
            func filter(
                _ row: UnsafePointer<Float>, inputs: Int, into out: UnsafeMutablePointer<Float>, outputs: Int,
                line: UnsafeMutablePointer<Float>
            ) {
                let (offset, length, reach) = (offset, lineLength(outputs: outputs), 16 * stride + weights.count)
                @inline(__always) func inside(_ o: Int) -> Bool {
                    stride * o + offset >= 0 && stride * o + offset + reach - 2 < inputs
                }
                let end = (outputs + 15) & ~15
                var lo = 0
                while lo < end && !inside(lo) { lo += 16 }
                var hi = lo
                while hi < end && inside(hi) { hi += 16 }
                shiftedCopy(row, count: inputs, shift: offset, into: line, 0..<Swift.min(length, stride * lo + reach))
                shiftedCopy(row, count: inputs, shift: offset, into: line, Swift.min(length, stride * hi)..<length)
                weights.withUnsafeBufferPointer { w in
                    @inline(__always) func groups(_ stride: Int) {
                        for o in Swift.stride(from: 0, to: outputs, by: 16) {
                            let src = o >= lo && o < hi ? row + stride * o + offset : UnsafePointer(line + stride * o)
                            var (v0, v1) = (SIMD8<Float>(), SIMD8<Float>())
                            for k in 0..<w.count {
                                let tap = SIMD8(repeating: w[k])
                                v0 += tap * loadStrided(src + k, stride: stride)
                                v1 += tap * loadStrided(src + k + 8 * stride, stride: stride)
                            }
                            store8(v0, out + o, Swift.min(8, outputs - o))
                            if o + 8 < outputs { store8(v1, out + o + 8, Swift.min(8, outputs - o - 8)) }
                        }
                    }
                    if stride == 1 { groups(1) } else { groups(2) }
                }
            }

            /// The adjoint of a stride-1 window as a window (over the gradient): input i of `filter` gets weights[k]
            /// * g[o] from output o = i - offset - k.
            var transposed: Window? {
                stride == 1 ? Window(offset: 1 - weights.count - offset, stride: 1, weights: weights.reversed()) : nil
            }

            /// The adjoint of `filter` (run for stride 2; stride 1 runs `transposed`): row[i] = the sum of weights[k] *
            /// g[o] over the outputs o and taps k that read input i (overwriting the row), accumulated tap by tap in
            /// `line` (`lineLength` floats), the row zero-padded.
            func scatter(
                _ g: UnsafePointer<Float>, outputs: Int, into row: UnsafeMutablePointer<Float>, inputs: Int,
                line: UnsafeMutablePointer<Float>
            ) {
                let length = lineLength(outputs: outputs)
                line.update(repeating: 0, count: length)
                weights.withUnsafeBufferPointer { w in
                    @inline(__always) func taps(_ stride: Int) {
                        for k in 0..<w.count {
                            let tap = SIMD8(repeating: w[k])
                            for o in Swift.stride(from: 0, to: outputs, by: 8) {
                                let v = tap * load8(g + o, Swift.min(8, outputs - o))
                                addStrided(v, into: line + stride * o + k, stride: stride)
                            }
                        }
                    }
                    if stride == 1 { taps(1) } else { taps(2) }
                }
                shiftedCopy(line, count: length, shift: -offset, into: row, 0..<inputs)  // input i is line[i - offset]
            }
        }

        /// The axis as one `Window` over `inputs` inputs (every output reading exactly the taps of that filter that
        /// fall inside the input), when there is one and it has more than one tap; nil otherwise.
        func window(inputs: Int) -> Window? {
            guard outputs > 0 else { return nil }
            var widest = 0
            for o in 0..<outputs where start[o + 1] - start[o] > start[widest + 1] - start[widest] { widest = o }
            let (lo, taps) = (start[widest], start[widest + 1] - start[widest])
            guard taps > 1, (0..<taps).allSatisfy({ index[lo + $0] == index[lo] + $0 }) else { return nil }
            let weights = Array(weight[lo..<(lo + taps)])
            for stride in 1...2 {
                let offset = index[lo] - stride * widest
                let matches = (0..<outputs).allSatisfy { o in
                    let first = stride * o + offset  // the taps inside the input: k in inside
                    let inside = Swift.max(0, -first)..<Swift.max(Swift.max(0, -first), Swift.min(taps, inputs - first))
                    return start[o + 1] - start[o] == inside.count
                        && zip(start[o]..<start[o + 1], inside).allSatisfy { t, k in
                            index[t] == first + k && weight[t] == weights[k]
                        }
                }
                if matches { return Window(offset: offset, stride: stride, weights: weights) }
            }
            return nil
        }
    }

    /// How a call filters rows along the columns axis, chosen once per call.
    private enum ColumnKernel {
        case copies([Axis.Run]), window(Axis.Window), taps
    }

    let inHeight: Int, inWidth: Int
    let rows: Axis, cols: Axis

    /// The column pass of this resample.
    private var columnKernel: ColumnKernel {
        if let runs = cols.copyRuns { return .copies(runs) }
        return cols.window(inputs: inWidth).map { .window($0) } ?? .taps
    }

    /// Runs body(planes, rowBuffer, line) over chunks of planes in parallel; rowBuffer holds one [inHeight, outWidth]
    /// intermediate (the planes filtered along one axis only), line `scratchFloats` floats (a window's padded row).
    private func forEachChunk(
        planes: Int, scratchFloats: Int,
        _ body: (Range<Int>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void
    ) {
        let perPlane = Swift.max(1, (inHeight + rows.outputs) * cols.outputs * 2)
        let buffer = inHeight * cols.outputs
        parallelRanges(planes, minChunk: Swift.max(1, 32_768 / perPlane)) { range in
            let tmp = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(1, buffer + scratchFloats))
            defer { tmp.deallocate() }
            body(range, tmp, tmp + buffer)
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
        let inH = inHeight, inW = inWidth, outH = rows.outputs, outW = cols.outputs, kernel = columnKernel
        let scratchFloats = if case .window(let window) = kernel { window.lineLength(outputs: outW) } else { 0 }
        rows.withTaps { ry in
            cols.withTaps { cx in
                forEachChunk(planes: planes, scratchFloats: scratchFloats) { range, tmp, line in
                    for p in range {
                        let src = x + p * inH * inW, dst = out + p * outH * outW
                        for iy in 0..<inH {
                            let srow = src + iy * inW, trow = tmp + iy * outW
                            switch kernel {
                            case .copies(let runs):
                                for run in runs {
                                    if let source = run.source {
                                        (trow + run.output).update(from: srow + source, count: run.count)
                                    } else {
                                        (trow + run.output).update(repeating: 0, count: run.count)
                                    }
                                }
                            case .window(let window):
                                window.filter(srow, inputs: inW, into: trow, outputs: outW, line: line)
                            case .taps:
                                for ox in 0..<outW {
                                    var s: Float = 0
                                    for t in cx.start[ox]..<cx.start[ox + 1] { s += cx.weight[t] * srow[cx.index[t]] }
                                    trow[ox] = s
                                }
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
        let inH = inHeight, inW = inWidth, outH = rows.outputs, outW = cols.outputs, kernel = columnKernel
        let window: Axis.Window? = if case .window(let window) = kernel { window } else { nil }
        let transposed = window?.transposed  // stride 1: the adjoint is a window over the gradient
        let scratchFloats = Swift.max(
            window?.lineLength(outputs: outW) ?? 0, transposed?.lineLength(outputs: inW) ?? 0)
        if case .copies(let runs) = kernel, rows.copyRuns != nil {  // padding, cropping, nearest upsampling
            return rows.withTaps { ry in copyAdjoint(g, planes: planes, rows: ry, columns: runs, out: gx) }
        }
        rows.withTaps { ry in
            cols.withTaps { cx in
                forEachChunk(planes: planes, scratchFloats: scratchFloats) { range, tmp, line in
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
                        for iy in 0..<inH {
                            let trow = tmp + iy * outW, drow = dst + iy * inW
                            switch kernel {
                            case .copies(let runs):
                                drow.update(repeating: 0, count: inW)
                                for run in runs {
                                    if let source = run.source {
                                        addFloats(trow + run.output, into: drow + source, run.count)
                                    }
                                }
                            case .window(let window):
                                if let transposed {
                                    transposed.filter(trow, inputs: outW, into: drow, outputs: inW, line: line)
                                } else {
                                    window.scatter(trow, outputs: outW, into: drow, inputs: inW, line: line)
                                }
                            case .taps:
                                drow.update(repeating: 0, count: inW)
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
}

extension SeparableResample {
    /// The adjoint of a resample whose rows and columns are both plain copies: each gradient row's runs added straight
    /// into the rows they were copied from (one pass over the gradient, no intermediate).
    fileprivate func copyAdjoint(
        _ g: UnsafePointer<Float>, planes: Int, rows ry: Axis.Taps, columns runs: [Axis.Run],
        out gx: UnsafeMutablePointer<Float>
    ) {
        nonisolated(unsafe) let g = g, gx = gx
        let inH = inHeight, inW = inWidth, outH = rows.outputs, outW = cols.outputs
        parallelRanges(planes, minChunk: Swift.max(1, 32_768 / Swift.max(1, (inH * inW + outH * outW)))) { range in
            for p in range {
                let src = g + p * outH * outW, dst = gx + p * inH * inW
                dst.update(repeating: 0, count: inH * inW)
                for oy in 0..<outH where ry.start[oy] < ry.start[oy + 1] {
                    let (grow, drow) = (src + oy * outW, dst + ry.index[ry.start[oy]] * inW)
                    for run in runs {
                        if let source = run.source { addFloats(grow + run.output, into: drow + source, run.count) }
                    }
                }
            }
        }
    }
}

/// dst[j] = src[j + shift] for j in `range`, zero where j + shift lies outside src's `count` floats.
private func shiftedCopy(
    _ src: UnsafePointer<Float>, count: Int, shift: Int, into dst: UnsafeMutablePointer<Float>, _ range: Range<Int>
) {
    let first = Swift.min(Swift.max(-shift, range.lowerBound), range.upperBound)
    let end = Swift.min(Swift.max(count - shift, first), range.upperBound)
    (dst + range.lowerBound).update(repeating: 0, count: first - range.lowerBound)
    (dst + first).update(from: src + first + shift, count: end - first)
    (dst + end).update(repeating: 0, count: range.upperBound - end)
}

/// p[0], p[stride], ..., p[7 * stride] for stride 1 or 2 (stride 2 reads p[15] too).
@inline(__always) private func loadStrided(_ p: UnsafePointer<Float>, stride: Int) -> SIMD8<Float> {
    stride == 1 ? load8(p) : UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self).evenHalf
}

/// p[stride * i] += v[i] for stride 1 or 2 (stride 2 rewrites the odd entries, up to p[15], unchanged).
@inline(__always) private func addStrided(_ v: SIMD8<Float>, into p: UnsafeMutablePointer<Float>, stride: Int) {
    if stride == 1 { return store8(load8(p) + v, p) }
    var spread = SIMD16<Float>()
    spread.evenHalf = v
    let raw = UnsafeMutableRawPointer(p)
    raw.storeBytes(of: raw.loadUnaligned(as: SIMD16<Float>.self) + spread, as: SIMD16<Float>.self)
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
