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

/// StyleGAN2's modulated convolution: per sample b, the weight W[o, i] = weight[o, i] * style[b, i], divided by
/// sqrt(sum_{i,kh,kw} W^2 + eps) when demodulating. Computed as conv(x * style) * demod, one batched GEMM.
public func modulatedConv2d(
    _ x: Tensor, weight: Tensor, style: Tensor, demodulate: Bool = true, padding: Int = 0,
    eps: Float = 1e-8
) throws -> Tensor {
    try require(x.rank == 4, "modulated_conv2d: argument 'x' must be 4-D [N, C, H, W], got \(Shape.describe(x.shape))")
    try require(
        weight.rank == 4 && weight.shape[1] == x.shape[1],
        "modulated_conv2d: argument 'weight' must be [O, \(x.shape[1]), kh, kw], got \(Shape.describe(weight.shape))")
    let (n, c) = (x.shape[0], x.shape[1])
    try require(
        style.shape == [n, c],
        "modulated_conv2d: argument 'style' must have shape [\(n), \(c)], got \(Shape.describe(style.shape))")
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
    try require(
        x.rank == 4, "modulated_conv_transpose2d: argument 'x' must be 4-D [N, C, H, W], got \(Shape.describe(x.shape))"
    )
    try require(
        weight.rank == 4 && weight.shape[1] == x.shape[1],
        "modulated_conv_transpose2d: argument 'weight' must be [O, \(x.shape[1]), kh, kw], "
            + "got \(Shape.describe(weight.shape))")
    let (n, c) = (x.shape[0], x.shape[1])
    try require(
        style.shape == [n, c],
        "modulated_conv_transpose2d: argument 'style' must have shape [\(n), \(c)], got \(Shape.describe(style.shape))")
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
