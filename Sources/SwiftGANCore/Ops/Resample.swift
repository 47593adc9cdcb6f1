/// Padding, upsampling, pooling and FIR resampling of [N, C, H, W] tensors. Each is a linear map whose
/// gradient is its adjoint, and the adjoint's gradient is the map again, so all support double backward.

private func checkImage(_ x: Tensor, _ op: String) throws {
    try require(x.rank == 4, "\(op): argument 'x' must be 4-D [N, C, H, W], got \(Shape.describe(x.shape))")
    try require(!x.shape.contains(0), "\(op): argument 'x' has a zero-size dimension: \(Shape.describe(x.shape))")
}

/// The largest output side of a resample: its index tables cost about 20 bytes per output row or column, and are
/// built before the output is allocated.
private let maxOutputSide = 1 << 20

/// Throws `outOfMemory` when an output of height x width planes of x could not be allocated; call it before building
/// index tables, whose size follows the output's sides.
private func checkOutputSize(_ x: Tensor, _ height: Int, _ width: Int, _ op: String) throws {
    let shape = [x.shape[0], x.shape[1], height, width]
    guard height <= maxOutputSide, width <= maxOutputSide, let count = Shape.count(shape) else {
        throw SwiftGANError.outOfMemory("\(op): an output of shape \(Shape.describe(shape)) is too large")
    }
    try Storage.checkAllocation(count, op)
}

/// Applies a separable resample to every plane of x.
private func resample(_ x: Tensor, _ r: SeparableResample) throws -> Tensor {
    let out = try Tensor(uninitialized: [x.shape[0], x.shape[1], r.rows.outputs, r.cols.outputs])
    r.forward(x.data, planes: x.shape[0] * x.shape[1], out: out.data)
    return record(out, "resample", [x]) { g, _ in [try resampleAdjoint(g, r)] }
}

private func resampleAdjoint(_ g: Tensor, _ r: SeparableResample) throws -> Tensor {
    let out = try Tensor(uninitialized: [g.shape[0], g.shape[1], r.inHeight, r.inWidth])
    r.adjoint(g.data, planes: g.shape[0] * g.shape[1], out: out.data)
    return record(out, "resampleAdjoint", [g]) { gg, _ in [try resample(gg, r)] }
}

/// One-tap axis: output i reads input source(i) with weight 1, or nothing when source(i) is nil.
private func gatherAxis(_ n: Int, _ source: (Int) -> Int?) -> SeparableResample.Axis {
    var axis = SeparableResample.Axis()
    for i in 0..<n { axis.add(source(i).map { [($0, Float(1))] } ?? []) }
    return axis
}

private func checkPadding(_ p: [Int], _ op: String) throws {
    try require(
        p.count == 4 && p.allSatisfy { $0 >= 0 },
        "\(op): argument 'padding' must be 4 non-negative integers (left, right, top, bottom), got \(p)")
}

/// Zero padding by (left, right, top, bottom).
public func zeroPad2d(_ x: Tensor, padding p: [Int]) throws -> Tensor {
    try checkImage(x, "zero_pad2d")
    try checkPadding(p, "zero_pad2d")
    let (h, w) = (x.shape[2], x.shape[3])
    try checkOutputSize(x, h + p[2] + p[3], w + p[0] + p[1], "zero_pad2d")
    let rows = gatherAxis(h + p[2] + p[3]) { i in i - p[2] >= 0 && i - p[2] < h ? i - p[2] : nil }
    let cols = gatherAxis(w + p[0] + p[1]) { i in i - p[0] >= 0 && i - p[0] < w ? i - p[0] : nil }
    return try resample(x, SeparableResample(inHeight: h, inWidth: w, rows: rows, cols: cols))
}

/// Reflection padding by (left, right, top, bottom); each pad must be smaller than its dimension.
public func reflectionPad2d(_ x: Tensor, padding p: [Int]) throws -> Tensor {
    try checkImage(x, "reflection_pad2d")
    try checkPadding(p, "reflection_pad2d")
    let (h, w) = (x.shape[2], x.shape[3])
    try require(
        p[0] < w && p[1] < w && p[2] < h && p[3] < h,
        "reflection_pad2d: padding \(p) must be smaller than the input's width \(w) and height \(h)")
    return try resample(x, reflection(height: h, width: w, padding: p))
}

/// The adjoint of `reflectionPad2d` of a height x width image (its gradient): each padded pixel added to the pixel it
/// reflects.
func reflectionPad2dAdjoint(_ g: Tensor, padding p: [Int], height h: Int, width w: Int) throws -> Tensor {
    try resampleAdjoint(g, reflection(height: h, width: w, padding: p))
}

/// Reflection padding by (left, right, top, bottom) as a resample.
private func reflection(height h: Int, width w: Int, padding p: [Int]) -> SeparableResample {
    let rows = gatherAxis(h + p[2] + p[3]) { reflectedIndex($0 - p[2], h) }
    let cols = gatherAxis(w + p[0] + p[1]) { reflectedIndex($0 - p[0], w) }
    return SeparableResample(inHeight: h, inWidth: w, rows: rows, cols: cols)
}

private func checkScale(_ scale: Int, _ op: String) throws {
    try require(scale >= 1 && scale <= 64, "\(op): argument 'scale' must be an integer from 1 to 64, got \(scale)")
}

/// Nearest-neighbour upsampling by an integer factor.
public func upsampleNearest2d(_ x: Tensor, scale: Int = 2) throws -> Tensor {
    try checkImage(x, "upsample_nearest2d")
    try checkScale(scale, "upsample_nearest2d")
    let (h, w) = (x.shape[2], x.shape[3])
    try checkOutputSize(x, h * scale, w * scale, "upsample_nearest2d")
    return try resample(
        x,
        SeparableResample(
            inHeight: h, inWidth: w, rows: gatherAxis(h * scale) { $0 / scale },
            cols: gatherAxis(w * scale) { $0 / scale }))
}

/// Bilinear upsampling by an integer factor, as PyTorch's `interpolate(mode="bilinear")`: with `alignCorners`
/// false (its default) output pixel centres map to input coordinates (o + 0.5) / scale - 0.5; with it true the
/// corner pixels of input and output coincide, and output o reads input o * (n - 1) / (n * scale - 1).
public func upsampleBilinear2d(_ x: Tensor, scale: Int = 2, alignCorners: Bool = false) throws -> Tensor {
    try checkImage(x, "upsample_bilinear2d")
    try checkScale(scale, "upsample_bilinear2d")
    try checkOutputSize(x, x.shape[2] * scale, x.shape[3] * scale, "upsample_bilinear2d")
    func axis(_ n: Int) -> SeparableResample.Axis {
        var a = SeparableResample.Axis()
        // PyTorch computes the step in float too.
        let step = n > 1 ? Float(n - 1) / Float(n * scale - 1) : 0
        for o in 0..<(n * scale) {
            let src = alignCorners ? step * Float(o) : Swift.max((Float(o) + 0.5) / Float(scale) - 0.5, 0)
            let i0 = Swift.min(Int(src), n - 1), i1 = Swift.min(i0 + 1, n - 1)
            let l1 = src - Float(i0)
            a.add(i0 == i1 ? [(i0, Float(1))] : [(i0, 1 - l1), (i1, l1)])
        }
        return a
    }
    return try resample(
        x,
        SeparableResample(
            inHeight: x.shape[2], inWidth: x.shape[3], rows: axis(x.shape[2]),
            cols: axis(x.shape[3])))
}

/// Average pooling with zero padding counted in the average (PyTorch's count_include_pad=True).
public func avgPool2d(_ x: Tensor, kernelSize k: Int, stride: Int? = nil, padding: Int = 0) throws -> Tensor {
    try checkImage(x, "avg_pool2d")
    let s = stride ?? k
    try require(k >= 1, "avg_pool2d: argument 'kernel_size' must be a positive integer, got \(k)")
    try require(s >= 1, "avg_pool2d: argument 'stride' must be a positive integer, got \(s)")
    try require(
        padding >= 0 && padding <= k / 2, "avg_pool2d: argument 'padding' must be in 0...kernel_size/2, got \(padding)")
    let (h, w) = (x.shape[2], x.shape[3])
    try require(
        h + 2 * padding >= k && w + 2 * padding >= k,
        "avg_pool2d: kernel \(k) is larger than the padded input \(h)x\(w)")
    func axis(_ n: Int) -> SeparableResample.Axis {
        var a = SeparableResample.Axis()
        for o in 0..<((n + 2 * padding - k) / s + 1) {
            let first = o * s - padding  // the input row of tap 0; only taps inside the input are visited
            a.add((Swift.max(first, 0)..<Swift.min(first + k, n)).map { ($0, 1 / Float(k)) })
        }
        return a
    }
    return try resample(x, SeparableResample(inHeight: h, inWidth: w, rows: axis(h), cols: axis(w)))
}

/// StyleGAN2's upfirdn2d: upsample by `up` (zero insertion), pad by (left, right, top, bottom) (negative
/// crops), convolve with the 2-D `filter` [fh, fw], keep every `down`-th pixel, multiply by `gain`.
/// The filter is a constant (no gradient).
public func upfirdn2d(
    _ x: Tensor, filter: Tensor, up: Int = 1, down: Int = 1, padding p: [Int] = [0, 0, 0, 0],
    gain: Float = 1
) throws -> Tensor {
    try checkImage(x, "upfirdn2d")
    try require(
        filter.rank == 2 && filter.count > 0,
        "upfirdn2d: argument 'filter' must be a non-empty 2-D tensor, got \(Shape.describe(filter.shape))")
    try require(up >= 1 && up <= 64, "upfirdn2d: argument 'up' must be an integer from 1 to 64, got \(up)")
    try require(down >= 1 && down <= 64, "upfirdn2d: argument 'down' must be an integer from 1 to 64, got \(down)")
    try require(
        p.count == 4 && p.allSatisfy { Swift.abs($0) <= 1024 },
        "upfirdn2d: argument 'padding' must be 4 integers (left, right, top, bottom), got \(p)")
    let r = FIRResample(
        inHeight: x.shape[2], inWidth: x.shape[3], up: up, down: down, padLeft: p[0], padRight: p[1],
        padTop: p[2], padBottom: p[3], filterHeight: filter.shape[0], filterWidth: filter.shape[1])
    try require(r.outHeight > 0 && r.outWidth > 0, "upfirdn2d: padding \(p) leaves an empty output")
    try checkOutputSize(x, r.outHeight, r.outWidth, "upfirdn2d")
    if let separable = separableFIR(r, filter: filter, gain: gain) { return try resample(x, separable) }
    return try fir(x, filter.detached(), gain, r)
}

/// The upfirdn `r` with a separable filter (StyleGAN's outer(k, k)) as a separable resample that visits only the taps
/// that hit an input pixel (a quarter of them when upsampling by 2); nil for a filter that is not separable.
func separableFIR(_ r: FIRResample, filter: Tensor, gain: Float) -> SeparableResample? {
    guard let (u, v) = separableFactors(filter) else { return nil }
    let rows = firAxis(
        length: r.inHeight, up: r.up, down: r.down, pad: r.padTop, taps: u.map { $0 * gain }, outputs: r.outHeight)
    let cols = firAxis(length: r.inWidth, up: r.up, down: r.down, pad: r.padLeft, taps: v, outputs: r.outWidth)
    return SeparableResample(inHeight: r.inHeight, inWidth: r.inWidth, rows: rows, cols: cols)
}

/// (u, v) with filter[i, j] = u[i] * v[j], when the filter is (numerically) rank one.
private func separableFactors(_ f: Tensor) -> ([Float], [Float])? {
    let (h, w) = (f.shape[0], f.shape[1])
    var pivot = 0
    for i in 0..<f.count where Swift.abs(f.data[i]) > Swift.abs(f.data[pivot]) { pivot = i }
    let (pi, pj) = (pivot / w, pivot % w)
    let scale = f.data[pivot]
    guard scale != 0 else { return nil }
    let u = (0..<h).map { f.data[$0 * w + pj] }, v = (0..<w).map { f.data[pi * w + $0] / scale }
    for i in 0..<h {
        for j in 0..<w where Swift.abs(u[i] * v[j] - f.data[i * w + j]) > 1e-6 * Swift.abs(scale) { return nil }
    }
    return (u, v)
}

/// One axis of upfirdn: output o reads input i with tap weight taps[k - 1 - kk] where the upsampled, padded position
/// o * down + kk - pad equals i * up (the filter is flipped: upfirdn convolves).
private func firAxis(length n: Int, up: Int, down: Int, pad: Int, taps: [Float], outputs: Int) -> SeparableResample.Axis
{
    var axis = SeparableResample.Axis()
    let k = taps.count
    for o in 0..<outputs {
        axis.add(
            (0..<k).compactMap { kk in
                let position = o * down + kk - pad
                guard position >= 0, position % up == 0, position / up < n else { return nil }
                return (position / up, taps[k - 1 - kk])
            })
    }
    return axis
}

private func fir(_ x: Tensor, _ f: Tensor, _ gain: Float, _ r: FIRResample) throws -> Tensor {
    let out = try Tensor(uninitialized: [x.shape[0], x.shape[1], r.outHeight, r.outWidth])
    r.forward(x.data, filter: f.data, gain: gain, planes: x.shape[0] * x.shape[1], out: out.data)
    return record(out, "upfirdn2d", [x]) { g, _ in [try firAdjoint(g, f, gain, r)] }
}

private func firAdjoint(_ g: Tensor, _ f: Tensor, _ gain: Float, _ r: FIRResample) throws -> Tensor {
    let out = try Tensor(uninitialized: [g.shape[0], g.shape[1], r.inHeight, r.inWidth])
    r.adjoint(g.data, filter: f.data, gain: gain, planes: g.shape[0] * g.shape[1], out: out.data)
    return record(out, "upfirdn2dAdjoint", [g]) { gg, _ in [try fir(gg, f, gain, r)] }
}
