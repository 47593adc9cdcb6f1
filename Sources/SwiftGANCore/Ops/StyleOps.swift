/// The StyleGAN family's ops, composed from differentiable primitives (so they support double backward,
/// which R1 and path-length regularization need).

/// Adaptive instance normalization: instance_norm(x) * (scale + 1) + bias with style = [scale | bias] [N, 2C].
public func adain(_ x: Tensor, style: Tensor, eps: Float = 1e-8) throws -> Tensor {
    try require(x.rank == 4, "adain: argument 'x' must be 4-D [N, C, H, W], got \(Shape.describe(x.shape))")
    let (n, c) = (x.shape[0], x.shape[1])
    try require(
        style.shape == [n, 2 * c],
        "adain: argument 'style' must have shape [\(n), \(2 * c)], got \(Shape.describe(style.shape))")
    let scaleTerm = try reshape(try narrow(style, dim: 1, start: 0, length: c), [n, c, 1, 1])
    let biasTerm = try reshape(try narrow(style, dim: 1, start: c, length: c), [n, c, 1, 1])
    return try add(try mul(try instanceNorm(x, eps: eps), try affine(scaleTerm, scale: 1, shift: 1)), biasTerm)
}

/// sqrt(2): the gain that keeps a leaky-ReLU(0.2) layer's output variance.
public let leakyGain = Float(2).squareRoot()

/// The end of NVlabs' bias_act after the bias: leaky ReLU (times sqrt(2)) when `activate`, the layer `gain`, and a
/// clamp to +-clamp * gain.
public func biasActivation(_ x: Tensor, activate: Bool, gain: Float = 1, clamp limit: Float? = nil) throws -> Tensor {
    var h = activate ? try leakyRelu(x, negativeSlope: 0.2) : x
    let total = (activate ? leakyGain : 1) * gain
    if total != 1 { h = try scale(h, total) }
    if let limit { h = try clamp(h, min: -limit * gain, max: limit * gain) }
    return h
}

/// What a StyleGAN2 synthesis layer adds to its modulated convolution (NVlabs' SynthesisLayer and ToRGBLayer).
public struct SynthesisLayerOutput {
    /// Whether the modulated weight is demodulated (SynthesisLayer) or not (ToRGBLayer).
    public var demodulate: Bool
    /// Noise [N or 1, 1, H, W] times `noiseStrength` (a scalar), or nil for none.
    public var noise: Tensor?
    public var noiseStrength: Tensor?
    /// The bias [O].
    public var bias: Tensor
    /// bias_act's leaky ReLU, layer gain and clamp.
    public var activate: Bool
    public var gain: Float
    public var clamp: Float?

    /// The settings of one layer.
    public init(
        demodulate: Bool, noise: Tensor?, noiseStrength: Tensor?, bias: Tensor, activate: Bool, gain: Float,
        clamp: Float?
    ) {
        (self.demodulate, self.noise, self.noiseStrength, self.bias) = (demodulate, noise, noiseStrength, bias)
        (self.activate, self.gain, self.clamp) = (activate, gain, clamp)
    }
}

/// One StyleGAN2 synthesis layer after its affine: the modulated convolution of x [N, C, H, W] by weight [O, C, k, k]
/// and style [N, C] (padding k / 2; with `upFilter`, NVlabs' 2x up-convolution instead: a stride-2 transposed
/// modulated 3x3 convolution, then that FIR filter with gain 4), then noise, bias and bias_act as `output` says.
/// Composed of differentiable ops while a gradient is recorded; otherwise computed in one pass per output
/// (`ModulatedConvolution.swift`), equal up to float rounding.
public func synthesisLayer(
    _ x: Tensor, weight: Tensor, style: Tensor, upFilter: Tensor?, _ output: SynthesisLayerOutput
) throws -> Tensor {
    let inputs = [x, weight, style, output.bias] + [output.noise, output.noiseStrength].compactMap { $0 }
    if GradMode.isEnabled && inputs.contains(where: { $0.requiresGrad }) {
        var h: Tensor
        if let upFilter {
            h = try modulatedConvTranspose2d(x, weight: weight, style: style, demodulate: output.demodulate)
            h = try upfirdn2d(h, filter: upFilter, padding: [1, 1, 1, 1], gain: 4)
        } else {
            h = try modulatedConv2d(
                x, weight: weight, style: style, demodulate: output.demodulate, padding: weight.shape[2] / 2)
        }
        if let noise = output.noise, let strength = output.noiseStrength { h = try add(h, try mul(noise, strength)) }
        h = try add(h, try reshape(output.bias, [1, output.bias.count, 1, 1]))
        return try biasActivation(h, activate: output.activate, gain: output.gain, clamp: output.clamp)
    }
    return try fusedSynthesisLayer(x, weight: weight, style: style, upFilter: upFilter, output)
}

/// `synthesisLayer` without a tape: one kernel call, no intermediate tensors.
private func fusedSynthesisLayer(
    _ x: Tensor, weight: Tensor, style: Tensor, upFilter: Tensor?, _ output: SynthesisLayerOutput
) throws -> Tensor {
    let op = upFilter == nil ? "modulated_conv2d" : "modulated_conv_transpose2d"
    try checkModulated(op, x, weight: weight, style: style)
    let (n, o, k) = (x.shape[0], weight.shape[0], weight.shape[2])
    try require(
        upFilter == nil || (k == 3 && weight.shape[3] == 3),
        "\(op): the up-convolution takes a 3x3 weight, got \(Shape.describe(weight.shape))")
    try require(
        output.bias.shape == [o],
        "\(op): argument 'bias' must have shape [\(o)], got \(Shape.describe(output.bias.shape))")
    let (height, width) =
        upFilter == nil
        ? (x.shape[2] + 2 * (k / 2) - k + 1, x.shape[3] + 2 * (k / 2) - k + 1)
        : (2 * x.shape[2], 2 * x.shape[3])
    if let noise = output.noise {
        try require(
            (noise.shape == [n, 1, height, width] || noise.shape == [1, 1, height, width])
                && output.noiseStrength?.count == 1,
            "\(op): noise must be [\(n) or 1, 1, \(height), \(width)] with a scalar strength, got "
                + Shape.describe(noise.shape))
    }
    let demodulation = try output.demodulate ? Tensor(uninitialized: [n, o]) : nil
    if let demodulation {
        computeDemodulation(
            weight: weight.data, style: style.data, batch: n, outChannels: o, inChannels: x.shape[1],
            taps: k * weight.shape[3], eps: 1e-8, into: demodulation.data)
    }
    let total = (output.activate ? leakyGain : 1) * output.gain
    let epilogue = LayerEpilogue(
        scale: demodulation.map { UnsafePointer($0.data) }, noise: output.noise.map { UnsafePointer($0.data) },
        noisePerSample: output.noise.map { $0.shape[0] == n && n > 1 } ?? false,
        noiseStrength: output.noiseStrength?.data[0] ?? 0, bias: output.bias.data, slope: output.activate ? 0.2 : 1,
        gain: total, limit: output.clamp.map { $0 * output.gain }, channels: o, height: height, width: width)
    let out = try Tensor(uninitialized: [n, o, height, width])
    if let upFilter {
        let geometry = try convTranspose2dGeometry(
            x.shape, [x.shape[1], o, k, k], stride: 2, padding: 0, outputPadding: 0)
        let upsampled = FIRResample(
            inHeight: 2 * x.shape[2] + 1, inWidth: 2 * x.shape[3] + 1, up: 1, down: 1, padLeft: 1, padRight: 1,
            padTop: 1, padBottom: 1, filterHeight: upFilter.shape[0], filterWidth: upFilter.shape[1])
        guard upFilter.rank == 2, let fir = separableFIR(upsampled, filter: upFilter, gain: 4),
            fir.rows.outputs == height && fir.cols.outputs == width
        else {
            throw SwiftGANError.invalidArgument("\(op): the up filter must be a separable 4x4 FIR filter")
        }
        try geometry.modulatedTransposedForward(
            image: x.data, weight: weight.data, style: style.data, fir: fir, epilogue: epilogue, out: out.data)
    } else {
        let geometry = try conv2dGeometry(x.shape, weight.shape, stride: 1, padding: k / 2)
        try geometry.modulatedForward(
            image: x.data, weight: weight.data, style: style.data, epilogue: epilogue, out: out.data)
    }
    return out
}

/// Checks the arguments of a modulated convolution, naming the one at fault.
private func checkModulated(_ op: String, _ x: Tensor, weight: Tensor, style: Tensor) throws {
    try require(x.rank == 4, "\(op): argument 'x' must be 4-D [N, C, H, W], got \(Shape.describe(x.shape))")
    try require(
        weight.rank == 4 && weight.shape[1] == x.shape[1],
        "\(op): argument 'weight' must be [O, \(x.shape[1]), kh, kw], got \(Shape.describe(weight.shape))")
    let (n, c) = (x.shape[0], x.shape[1])
    try require(
        style.shape == [n, c],
        "\(op): argument 'style' must have shape [\(n), \(c)], got \(Shape.describe(style.shape))")
}

/// StyleGAN2's modulated convolution: per sample b, the weight W[o, i] = weight[o, i] * style[b, i], divided by
/// sqrt(sum_{i,kh,kw} W^2 + eps) when demodulating. Computed as conv(x * style) * demod, one batched GEMM.
public func modulatedConv2d(
    _ x: Tensor, weight: Tensor, style: Tensor, demodulate: Bool = true, padding: Int = 0,
    eps: Float = 1e-8
) throws -> Tensor {
    try checkModulated("modulated_conv2d", x, weight: weight, style: style)
    let (n, c) = (x.shape[0], x.shape[1])
    let y = try conv2d(try mul(x, try reshape(style, [n, c, 1, 1])), weight: weight, padding: padding)
    guard demodulate else { return y }
    return try mul(y, try reshape(try demodulation(weight, style, eps: eps), [n, weight.shape[0], 1, 1]))
}

/// StyleGAN2's upsampling modulated convolution as NVlabs computes it: the per-sample modulated (and demodulated)
/// weight applied as a stride-2 transposed convolution, x [N, C, H, W] -> [N, O, 2H + k - 2, 2W + k - 2], the kernel
/// not flipped (a scatter: y[o, 2i + a, 2j + b] += x[c, i, j] w[o, c, a, b]). A FIR filter follows it in the layer.
/// Computed as conv_transpose(x * style) * demod, one batched GEMM.
public func modulatedConvTranspose2d(
    _ x: Tensor, weight: Tensor, style: Tensor, demodulate: Bool = true, eps: Float = 1e-8
) throws -> Tensor {
    try checkModulated("modulated_conv_transpose2d", x, weight: weight, style: style)
    let (n, c) = (x.shape[0], x.shape[1])
    let y = try convTranspose2d(
        try mul(x, try reshape(style, [n, c, 1, 1])), weight: try permute(weight, [1, 0, 2, 3]), stride: 2)
    guard demodulate else { return y }
    return try mul(y, try reshape(try demodulation(weight, style, eps: eps), [n, weight.shape[0], 1, 1]))
}

/// 1 / sqrt(sum over c, kh, kw of (weight[o, c] style[n, c])^2 + eps): [N, O], the demodulation of StyleGAN2.
func demodulation(_ weight: Tensor, _ style: Tensor, eps: Float) throws -> Tensor {
    let weightEnergy = try sum(try square(weight), axes: [2, 3])  // [O, C]
    let energy = try matmul(try square(style), weightEnergy, transposeB: true)  // [N, O]
    return try rsqrt(try affine(energy, scale: 1, shift: eps))
}

/// Minibatch standard deviation (StyleGAN2): the std over groups of `group` samples (samples i and i + N/G
/// share a group), averaged over channels and pixels in `numChannels` splits, appended as extra channels.
public func minibatchStddev(_ x: Tensor, group: Int = 4, numChannels: Int = 1, eps: Float = 1e-8) throws -> Tensor {
    try require(x.rank == 4, "minibatch_stddev: argument 'x' must be 4-D [N, C, H, W], got \(Shape.describe(x.shape))")
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    try require(group >= 1, "minibatch_stddev: argument 'group' must be a positive integer, got \(group)")
    let g = Swift.min(group, n)
    try require(g > 0 && n % g == 0, "minibatch_stddev: batch size \(n) must be divisible by the group size \(g)")
    try require(
        numChannels >= 1 && c % numChannels == 0,
        "minibatch_stddev: argument 'num_channels' (\(numChannels)) must divide the channel count \(c)")
    let f = numChannels
    var y = try reshape(x, [g, n / g, f, c / f, h, w])
    y = try sub(y, try mean(y, axes: [0], keepDim: true))
    y = try sqrt(try affine(try mean(try square(y), axes: [0]), scale: 1, shift: eps))  // [N/G, F, c, H, W]
    y = try mean(y, axes: [2, 3, 4])  // [N/G, F]
    y = try broadcast(try reshape(y, [1, n / g, f, 1, 1]), to: [g, n / g, f, h, w])
    return try cat([x, try reshape(y, [n, f, h, w])], dim: 1)
}
