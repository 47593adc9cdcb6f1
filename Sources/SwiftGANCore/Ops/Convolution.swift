/// conv2d and conv_transpose2d. Both rest on three differentiable primitives over one `ConvGeometry`
/// (forward, backward-data, backward-weight); the derivative of each primitive is another of the three,
/// so convolutions support double backward (R1, path-length penalties).

/// Channel sums of an [N, C, H, W] tensor: the gradient of a per-channel bias.
func channelSum(_ g: Tensor) throws -> Tensor {
    try reshape(try sumTo(g, [1, g.shape[1], 1, 1]), [g.shape[1]])
}

private func checkBias(_ bias: Tensor?, channels: Int, op: String) throws {
    guard let bias else { return }
    try require(bias.shape == [channels], "\(op): argument 'bias' must have shape [\(channels)], got \(Shape.describe(bias.shape))")
}

/// conv(image, weight) + bias, [N, C, H, W] -> [N, O, Ho, Wo].
func convForward(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, _ geo: ConvGeometry) throws -> Tensor {
    let out = try Tensor(uninitialized: geo.outputShape)
    // A first-order weight gradient can reuse this pass's im2col instead of redoing it (see `storesColumns`).
    let columns = GradMode.isEnabled && w.requiresGrad && geo.storesColumns ? try Storage(uninitialized: geo.storedColumnCount) : nil
    try geo.forward(image: x.data, weight: w.data, bias: bias.map { UnsafePointer($0.data) }, out: out.data, storingColumns: columns?.pointer)
    // The input is kept only for the weight's gradient, the weight only for the input's.
    let (keptX, keptW) = (w.requiresGrad ? x : nil, x.requiresGrad ? w : nil)
    return record(out, "conv2d", [x, w] + (bias.map { [$0] } ?? [])) { g, need in
        var gw: Tensor? = nil
        if need[1], let columns, !GradMode.isEnabled {
            gw = try Tensor(uninitialized: geo.weightShape)
            try geo.backwardWeight(image: nil, outGrad: g.data, weightGrad: gw!.data, storedColumns: columns.pointer)
        }
        return [need[0] ? try convBackwardData(g, keptW!, nil, geo) : nil,
                need[1] ? try gw ?? convBackwardWeight(keptX!, g, geo) : nil,
                need.count > 2 && need[2] ? try channelSum(g) : nil]
    }
}

/// The image gradient of `convForward` (conv-transpose), plus an optional per-channel bias of the image.
func convBackwardData(_ g: Tensor, _ w: Tensor, _ bias: Tensor?, _ geo: ConvGeometry) throws -> Tensor {
    let out = try Tensor(uninitialized: geo.imageShape)
    try geo.backwardData(outGrad: g.data, weight: w.data, imageGrad: out.data)
    if let bias { ConvGeometry.addBias(out.data, bias.data, batch: geo.batch, channels: geo.inChannels, plane: geo.inPlane) }
    let (keptG, keptW) = (w.requiresGrad ? g : nil, g.requiresGrad ? w : nil)
    return record(out, "convBackwardData", [g, w] + (bias.map { [$0] } ?? [])) { gg, need in
        let (g, w) = (keptG, keptW)
        if need[0] && need[1] && !GradMode.isEnabled {
            // First-order conv-transpose backward: one im2col of the output gradient serves both GEMMs.
            let gx = try Tensor(uninitialized: geo.outputShape), gw = try Tensor(uninitialized: geo.weightShape)
            try geo.forwardAndBackwardWeight(image: gg.data, weight: w!.data, outGrad: g!.data, out: gx.data, weightGrad: gw.data)
            return [gx, gw, need.count > 2 && need[2] ? try channelSum(gg) : nil]
        }
        return [need[0] ? try convForward(gg, w!, nil, geo) : nil,
                need[1] ? try convBackwardWeight(gg, g!, geo) : nil,
                need.count > 2 && need[2] ? try channelSum(gg) : nil]
    }
}

/// The weight gradient of `convForward`: [O, C, kh, kw].
func convBackwardWeight(_ x: Tensor, _ g: Tensor, _ geo: ConvGeometry) throws -> Tensor {
    let out = try Tensor(uninitialized: geo.weightShape)
    try geo.backwardWeight(image: x.data, outGrad: g.data, weightGrad: out.data)
    let (keptX, keptG) = (g.requiresGrad ? x : nil, x.requiresGrad ? g : nil)
    return record(out, "convBackwardWeight", [x, g]) { gw, need in
        [need[0] ? try convBackwardData(keptG!, gw, nil, geo) : nil,
         need[1] ? try convForward(keptX!, gw, nil, geo) : nil]
    }
}

private func checkConvArguments(_ op: String, _ x: Tensor, _ weight: Tensor, stride: Int, padding: Int) throws {
    try require(x.rank == 4, "\(op): argument 'x' must be 4-D [N, C, H, W], got \(Shape.describe(x.shape))")
    try require(weight.rank == 4, "\(op): argument 'weight' must be 4-D, got \(Shape.describe(weight.shape))")
    try require(!x.shape.contains(0), "\(op): argument 'x' has a zero-size dimension: \(Shape.describe(x.shape))")
    try require(!weight.shape.contains(0), "\(op): argument 'weight' has a zero-size dimension: \(Shape.describe(weight.shape))")
    try require(stride >= 1, "\(op): argument 'stride' must be a positive integer, got \(stride)")
    try require(padding >= 0, "\(op): argument 'padding' must be a non-negative integer, got \(padding)")
}

/// 2-D convolution (cross-correlation, as in PyTorch): x [N, C, H, W], weight [O, C, kh, kw], bias [O].
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0) throws -> Tensor {
    try checkConvArguments("conv2d", x, weight, stride: stride, padding: padding)
    try require(weight.shape[1] == x.shape[1],
                "conv2d: argument 'weight' expects \(weight.shape[1]) input channels, but 'x' has \(x.shape[1]) (x \(Shape.describe(x.shape)), weight \(Shape.describe(weight.shape)))")
    try checkBias(bias, channels: weight.shape[0], op: "conv2d")
    let (kh, kw) = (weight.shape[2], weight.shape[3])
    try require(x.shape[2] + 2 * padding >= kh && x.shape[3] + 2 * padding >= kw,
                "conv2d: kernel \(kh)x\(kw) is larger than the padded input \(x.shape[2] + 2 * padding)x\(x.shape[3] + 2 * padding)")
    let geo = ConvGeometry(batch: x.shape[0], inChannels: x.shape[1], inHeight: x.shape[2], inWidth: x.shape[3],
                           outChannels: weight.shape[0],
                           outHeight: (x.shape[2] + 2 * padding - kh) / stride + 1,
                           outWidth: (x.shape[3] + 2 * padding - kw) / stride + 1,
                           kernelHeight: kh, kernelWidth: kw, stride: stride, padding: padding)
    return try convForward(x, weight, bias, geo)
}

/// 2-D transposed convolution: x [N, C, H, W], weight [C, O, kh, kw] (PyTorch layout), bias [O];
/// output size (H - 1) * stride - 2 * padding + kh + outputPadding.
public func convTranspose2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0,
                            outputPadding: Int = 0) throws -> Tensor {
    try checkConvArguments("conv_transpose2d", x, weight, stride: stride, padding: padding)
    try require(weight.shape[0] == x.shape[1],
                "conv_transpose2d: argument 'weight' expects \(weight.shape[0]) input channels, but 'x' has \(x.shape[1]) (x \(Shape.describe(x.shape)), weight \(Shape.describe(weight.shape)))")
    try require(outputPadding >= 0 && outputPadding < stride,
                "conv_transpose2d: argument 'output_padding' must be in 0..<stride (\(stride)), got \(outputPadding)")
    try checkBias(bias, channels: weight.shape[1], op: "conv_transpose2d")
    let (kh, kw) = (weight.shape[2], weight.shape[3])
    let outH = (x.shape[2] - 1) * stride - 2 * padding + kh + outputPadding
    let outW = (x.shape[3] - 1) * stride - 2 * padding + kw + outputPadding
    try require(outH > 0 && outW > 0, "conv_transpose2d: padding \(padding) leaves an empty output (\(outH)x\(outW))")
    let geo = ConvGeometry(batch: x.shape[0], inChannels: weight.shape[1], inHeight: outH, inWidth: outW,
                           outChannels: weight.shape[0], outHeight: x.shape[2], outWidth: x.shape[3],
                           kernelHeight: kh, kernelWidth: kw, stride: stride, padding: padding)
    return try convBackwardData(x, weight, bias, geo)
}
