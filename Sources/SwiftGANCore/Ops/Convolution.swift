/// conv2d and conv_transpose2d. Both rest on three differentiable primitives over one `ConvGeometry`
/// (forward, backward-data, backward-weight); the derivative of each primitive is another of the three,
/// so convolutions support double backward (R1, path-length penalties).

/// Channel sums of an [N, C, H, W] tensor: the gradient of a per-channel bias.
func channelSum(_ g: Tensor) throws -> Tensor {
    try reshape(try sumTo(g, [1, g.shape[1], 1, 1]), [g.shape[1]])
}

private func checkBias(_ bias: Tensor?, channels: Int, op: String) throws {
    guard let bias else { return }
    try require(
        bias.shape == [channels],
        "\(op): argument 'bias' must have shape [\(channels)], got \(Shape.describe(bias.shape))")
}

/// conv(image, weight) + bias, [N, C, H, W] -> [N, O, Ho, Wo].
func convForward(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, _ geo: ConvGeometry) throws -> Tensor {
    let out = try Tensor(uninitialized: geo.outputShape)
    // A first-order weight gradient can reuse this pass's im2col instead of redoing it (see `storesColumns`).
    let columns =
        GradMode.isEnabled && w.requiresGrad && geo.storesColumns
        ? try Storage(uninitialized: geo.storedColumnCount) : nil
    try geo.forward(
        image: x.data, weight: w.data, bias: bias.map { UnsafePointer($0.data) }, out: out.data,
        storingColumns: columns?.pointer)
    // The input is kept only for the weight's gradient, the weight only for the input's.
    let (keptX, keptW) = (w.requiresGrad ? x : nil, x.requiresGrad ? w : nil)
    return record(out, "conv2d", [x, w] + (bias.map { [$0] } ?? [])) { g, need in
        var gw: Tensor? = nil
        if need[1], let columns, !GradMode.isEnabled {
            gw = try Tensor(uninitialized: geo.weightShape)
            try geo.backwardWeight(image: nil, outGrad: g.data, weightGrad: gw!.data, storedColumns: columns.pointer)
        }
        return [
            need[0] ? try convBackwardData(g, keptW!, nil, geo) : nil,
            need[1] ? try gw ?? convBackwardWeight(keptX!, g, geo) : nil,
            need.count > 2 && need[2] ? try channelSum(g) : nil,
        ]
    }
}

/// The image gradient of `convForward` (conv-transpose), plus an optional per-channel bias of the image.
func convBackwardData(_ g: Tensor, _ w: Tensor, _ bias: Tensor?, _ geo: ConvGeometry) throws -> Tensor {
    let out = try Tensor(uninitialized: geo.imageShape)
    try geo.backwardData(outGrad: g.data, weight: w.data, imageGrad: out.data)
    if let bias {
        ConvGeometry.addBias(out.data, bias.data, batch: geo.batch, channels: geo.inChannels, plane: geo.inPlane)
    }
    let (keptG, keptW) = (w.requiresGrad ? g : nil, g.requiresGrad ? w : nil)
    return record(out, "convBackwardData", [g, w] + (bias.map { [$0] } ?? [])) { gg, need in
        let (g, w) = (keptG, keptW)
        if need[0] && need[1] && !GradMode.isEnabled {
            // First-order conv-transpose backward: one im2col of the output gradient serves both GEMMs.
            let gx = try Tensor(uninitialized: geo.outputShape), gw = try Tensor(uninitialized: geo.weightShape)
            try geo.forwardAndBackwardWeight(
                image: gg.data, weight: w!.data, outGrad: g!.data, out: gx.data, weightGrad: gw.data)
            return [gx, gw, need.count > 2 && need[2] ? try channelSum(gg) : nil]
        }
        return [
            need[0] ? try convForward(gg, w!, nil, geo) : nil,
            need[1] ? try convBackwardWeight(gg, g!, geo) : nil,
            need.count > 2 && need[2] ? try channelSum(gg) : nil,
        ]
    }
}

/// The weight gradient of `convForward`: [O, C, kh, kw].
func convBackwardWeight(_ x: Tensor, _ g: Tensor, _ geo: ConvGeometry) throws -> Tensor {
    let out = try Tensor(uninitialized: geo.weightShape)
    try geo.backwardWeight(image: x.data, outGrad: g.data, weightGrad: out.data)
    let (keptX, keptG) = (g.requiresGrad ? x : nil, x.requiresGrad ? g : nil)
    return record(out, "convBackwardWeight", [x, g]) { gw, need in
        [
            need[0] ? try convBackwardData(keptG!, gw, nil, geo) : nil,
            need[1] ? try convForward(keptX!, gw, nil, geo) : nil,
        ]
    }
}

private func checkConvArguments(_ op: String, _ x: [Int], _ weight: [Int], stride: Int, padding: Int) throws {
    try require(x.count == 4, "\(op): argument 'x' must be 4-D [N, C, H, W], got \(Shape.describe(x))")
    try require(weight.count == 4, "\(op): argument 'weight' must be 4-D, got \(Shape.describe(weight))")
    try require(!x.contains(0), "\(op): argument 'x' has a zero-size dimension: \(Shape.describe(x))")
    try require(!weight.contains(0), "\(op): argument 'weight' has a zero-size dimension: \(Shape.describe(weight))")
    try require(stride >= 1, "\(op): argument 'stride' must be a positive integer, got \(stride)")
    try require(padding >= 0, "\(op): argument 'padding' must be a non-negative integer, got \(padding)")
}

/// The geometry of conv2d on inputs of shape `x` [N, C, H, W] and `weight` [O, C, kh, kw] (checked, naming the
/// argument at fault).
func conv2dGeometry(_ x: [Int], _ weight: [Int], stride: Int, padding: Int) throws -> ConvGeometry {
    try checkConvArguments("conv2d", x, weight, stride: stride, padding: padding)
    try require(
        weight[1] == x[1],
        "conv2d: argument 'weight' expects \(weight[1]) input channels, but 'x' has \(x[1]) "
            + "(x \(Shape.describe(x)), weight \(Shape.describe(weight)))"
    )
    let (kh, kw) = (weight[2], weight[3])
    try require(
        x[2] + 2 * padding >= kh && x[3] + 2 * padding >= kw,
        "conv2d: kernel \(kh)x\(kw) is larger than the padded input \(x[2] + 2 * padding)x\(x[3] + 2 * padding)")
    return ConvGeometry(
        batch: x[0], inChannels: x[1], inHeight: x[2], inWidth: x[3], outChannels: weight[0],
        outHeight: (x[2] + 2 * padding - kh) / stride + 1, outWidth: (x[3] + 2 * padding - kw) / stride + 1,
        kernelHeight: kh, kernelWidth: kw, stride: stride, padding: padding)
}

/// The geometry of conv_transpose2d on inputs of shape `x` [N, C, H, W] and `weight` [C, O, kh, kw]: that of the
/// conv2d whose image gradient it is (checked, naming the argument at fault).
func convTranspose2dGeometry(
    _ x: [Int], _ weight: [Int], stride: Int, padding: Int, outputPadding: Int
) throws
    -> ConvGeometry
{
    try checkConvArguments("conv_transpose2d", x, weight, stride: stride, padding: padding)
    try require(
        weight[0] == x[1],
        "conv_transpose2d: argument 'weight' expects \(weight[0]) input channels, but 'x' has \(x[1]) "
            + "(x \(Shape.describe(x)), weight \(Shape.describe(weight)))"
    )
    try require(
        outputPadding >= 0 && outputPadding < stride,
        "conv_transpose2d: argument 'output_padding' must be in 0..<stride (\(stride)), got \(outputPadding)")
    let (kh, kw) = (weight[2], weight[3])
    let outH = (x[2] - 1) * stride - 2 * padding + kh + outputPadding
    let outW = (x[3] - 1) * stride - 2 * padding + kw + outputPadding
    try require(outH > 0 && outW > 0, "conv_transpose2d: padding \(padding) leaves an empty output (\(outH)x\(outW))")
    return ConvGeometry(
        batch: x[0], inChannels: weight[1], inHeight: outH, inWidth: outW,
        outChannels: weight[0], outHeight: x[2], outWidth: x[3],
        kernelHeight: kh, kernelWidth: kw, stride: stride, padding: padding)
}

/// 2-D convolution (cross-correlation, as in PyTorch): x [N, C, H, W], weight [O, C, kh, kw], bias [O].
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0) throws -> Tensor
{
    let geo = try conv2dGeometry(x.shape, weight.shape, stride: stride, padding: padding)
    try checkBias(bias, channels: weight.shape[0], op: "conv2d")
    return try convForward(x, weight, bias, geo)
}

/// conv2d(reflectionPad2d(x, padding on every side), weight, bias), stride 1. Where the convolution runs as Winograd
/// over rows of tiles (CycleGAN's residual convs), it reads the reflection itself, without the padded copy, and its
/// image gradient is the unpadded geometry's plus the border's (`ReflectionPaddedConvolution.swift`); otherwise the
/// image is padded first.
public func reflectionPaddedConv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, padding: Int) throws -> Tensor {
    let geo = try conv2dGeometry(x.shape, weight.shape, stride: 1, padding: padding)
    try checkBias(bias, channels: weight.shape[0], op: "conv2d")
    let paddingSides = [padding, padding, padding, padding]
    guard padding > 0 && geo.winogradReadsReflection else {
        return try conv2d(try reflectionPad2d(x, padding: paddingSides), weight: weight, bias: bias)
    }
    let out = try Tensor(uninitialized: geo.outputShape)
    try geo.winogradForward(image: x.data, weight: weight.data, out: out.data, reflected: true)
    if let bias {
        ConvGeometry.addBias(out.data, bias.data, batch: geo.batch, channels: geo.outChannels, plane: geo.outPlane)
    }
    let (keptX, keptW) = (weight.requiresGrad ? x : nil, x.requiresGrad ? weight : nil)
    return record(out, "reflectionPaddedConv2d", [x, weight] + (bias.map { [$0] } ?? [])) { g, need in
        let gb = need.count > 2 && need[2] ? try channelSum(g) : nil
        guard !GradMode.isEnabled else {
            // Higher-order gradients: through the padded image's convolution, whose primitives record.
            let padded = try keptX.map { try reflectionPad2d($0, padding: paddingSides) }
            let paddedGeo = try conv2dGeometry(
                [geo.batch, geo.inChannels, geo.inHeight + 2 * padding, geo.inWidth + 2 * padding], geo.weightShape,
                stride: 1, padding: 0)
            return [
                need[0]
                    ? try reflectionPad2dAdjoint(
                        try convBackwardData(g, keptW!, nil, paddedGeo), padding: paddingSides, height: geo.inHeight,
                        width: geo.inWidth) : nil,
                need[1] ? try convBackwardWeight(padded!, g, paddedGeo) : nil, gb,
            ]
        }
        var (gx, gw): (Tensor?, Tensor?) = (nil, nil)
        if need[0] {
            gx = try Tensor(uninitialized: geo.imageShape)
            try geo.reflectedBackwardData(outGrad: g.data, weight: keptW!.data, imageGrad: gx!.data)
        }
        if need[1] {
            gw = try Tensor(uninitialized: geo.weightShape)
            try geo.reflectedBackwardWeight(image: keptX!.data, outGrad: g.data, weightGrad: gw!.data)
        }
        return [gx, gw, gb]
    }
}

/// 2-D transposed convolution: x [N, C, H, W], weight [C, O, kh, kw] (PyTorch layout), bias [O];
/// output size (H - 1) * stride - 2 * padding + kh + outputPadding.
public func convTranspose2d(
    _ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0,
    outputPadding: Int = 0
) throws -> Tensor {
    let geo = try convTranspose2dGeometry(
        x.shape, weight.shape, stride: stride, padding: padding,
        outputPadding: outputPadding)
    try checkBias(bias, channels: weight.shape[1], op: "conv_transpose2d")
    return try convBackwardData(x, weight, bias, geo)
}

/// The algorithm that computes each pass of conv2d (or, `transposed`, conv_transpose2d) on inputs of these shapes,
/// in the caller's terms: its forward pass, the gradient of its input `x`, and the gradient of its weight (see
/// `ConvAlgorithm`). For diagnostics: `swiftgan.debug.conv_algorithm`.
public func convolutionAlgorithms(
    x: [Int], weight: [Int], stride: Int = 1, padding: Int = 0, outputPadding: Int = 0,
    transposed: Bool = false
) throws -> (
    forward: ConvAlgorithm, inputGradient: ConvAlgorithm,
    weightGradient: ConvAlgorithm
) {
    if transposed {
        let geo = try convTranspose2dGeometry(x, weight, stride: stride, padding: padding, outputPadding: outputPadding)
        return (geo.algorithm(.imageGradient), geo.algorithm(.forward), geo.algorithm(.weightGradient))
    }
    let geo = try conv2dGeometry(x, weight, stride: stride, padding: padding)
    return (geo.algorithm(.forward), geo.algorithm(.imageGradient), geo.algorithm(.weightGradient))
}
