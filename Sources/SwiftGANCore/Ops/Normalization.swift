/// Batch normalization and instance normalization (PyTorch semantics).

/// Normalization with statistics from the input: the shared core of batch norm (training) and instance norm.
/// Returns the output and the per-group mean and biased variance. With `negativeSlope` the output goes through
/// leakyRelu(negativeSlope) (0: ReLU) in the same pass, and the gradient masks g plane by plane inside the norm's own
/// backward passes: two passes over the activation fewer forward, one backward, and no tensor in between.
/// `overwriting` writes the output over x (only where nothing records).
private func normalizeWithBatchStatistics(
    _ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float,
    layout: NormLayout, negativeSlope: Float? = nil, overwriting: Bool = false
) throws -> (Tensor, [Float], [Float]) {
    var mean = [Float](repeating: 0, count: layout.groups), variance = mean, invstd = mean
    mean.withUnsafeMutableBufferPointer { m in
        variance.withUnsafeMutableBufferPointer { v in
            layout.statistics(x.data, mean: m.baseAddress!, variance: v.baseAddress!)
        }
    }
    for i in 0..<layout.groups { invstd[i] = 1 / (variance[i] + eps).squareRoot() }
    let out = overwriting ? x : try Tensor(uninitialized: x.shape)
    layout.normalize(
        x.data, mean: mean, invstd: invstd, weight: weight?.data, bias: bias?.data, out: out.data,
        negativeSlope: negativeSlope)
    guard !overwriting else { return (out, mean, variance) }
    let inputs = [x] + [weight, bias].compactMap { $0 }
    let hasBias = bias != nil
    // The gradient needs the activation's output only for its mask: without an activation nothing holds the output.
    let backward = { (g: Tensor, need: [Bool], y: Tensor?) throws -> [Tensor?] in
        if GradMode.isEnabled {
            let normalizedGrad =
                try negativeSlope.map { try leakyReluGrad(g, y!.detached(), negativeSlope: $0) } ?? g
            return try normGradientComposite(
                normalizedGrad, x, weight: weight, hasBias: hasBias, eps: eps, layout: layout, need: need)
        }
        let gx = try Tensor(uninitialized: x.shape)
        var sumG = [Float](repeating: 0, count: layout.groups), sumGX = sumG
        sumG.withUnsafeMutableBufferPointer { sg in
            sumGX.withUnsafeMutableBufferPointer { sgx in
                layout.backward(
                    g.data, x.data, mean: mean, invstd: invstd, weight: weight?.data,
                    activated: negativeSlope.map { (UnsafePointer(y!.data), $0) }, gx: gx.data, sumG: sg.baseAddress!,
                    sumGXhat: sgx.baseAddress!)
            }
        }
        let perChannel = { (v: [Float]) throws -> Tensor in
            var c = [Float](repeating: 0, count: layout.channels)
            for grp in 0..<layout.groups { c[layout.channel(ofGroup: grp)] += v[grp] }
            return try Tensor(c, shape: [layout.channels])
        }
        var grads: [Tensor?] = [need[0] ? gx : nil]
        if weight != nil { grads.append(need[grads.count] ? try perChannel(sumGX) : nil) }
        if hasBias { grads.append(need[grads.count] ? try perChannel(sumG) : nil) }
        return grads
    }
    let name: StaticString = layout.perSample ? "instanceNorm" : "batchNorm"
    if negativeSlope != nil {
        recordWithOutput(out, name, inputs) { g, need, y in try backward(g, need, y) }
    } else {
        record(out, name, inputs) { g, need in try backward(g, need, Tensor?.none) }
    }
    return (out, mean, variance)
}

/// The normalization gradient written with differentiable ops, for double backward.
private func normGradientComposite(
    _ g: Tensor, _ x: Tensor, weight: Tensor?, hasBias: Bool, eps: Float,
    layout: NormLayout, need: [Bool]
) throws -> [Tensor?] {
    let axes = layout.perSample ? [2, 3] : [0, 2, 3]
    let x4 = try reshape(x, [layout.batch, layout.channels, layout.plane, 1])
    let g4 = try reshape(g, x4.shape)
    let channelShape = [1, layout.channels, 1, 1]
    let centered = try sub(x4, try mean(x4, axes: axes, keepDim: true))
    let invstd = try rsqrt(try affine(try mean(try square(centered), axes: axes, keepDim: true), scale: 1, shift: eps))
    let xhat = try mul(centered, invstd)
    let gxhat = try weight.map { try mul(g4, try reshape($0, channelShape)) } ?? g4
    let gx = try mul(
        invstd,
        try sub(
            try sub(gxhat, try mean(gxhat, axes: axes, keepDim: true)),
            try mul(xhat, try mean(try mul(gxhat, xhat), axes: axes, keepDim: true))))
    var grads: [Tensor?] = [need[0] ? try reshape(gx, x.shape) : nil]
    if weight != nil { grads.append(need[grads.count] ? try sum(try mul(g4, xhat), axes: [0, 2, 3]) : nil) }
    if hasBias { grads.append(need[grads.count] ? try sum(g4, axes: [0, 2, 3]) : nil) }
    return grads
}

/// A fused activation's slope: leakyRelu's output has its input's sign, which its gradient reads, for slopes >= 0.
private func checkActivationSlope(_ negativeSlope: Float?, op: String) throws {
    guard let negativeSlope else { return }
    try require(
        negativeSlope >= 0 && negativeSlope.isFinite,
        "\(op): argument 'negative_slope' must be a finite number >= 0, got \(negativeSlope)")
}

private func checkAffine(_ t: Tensor?, _ name: String, channels: Int, op: String) throws {
    guard let t else { return }
    try require(
        t.shape == [channels], "\(op): argument '\(name)' must have shape [\(channels)], got \(Shape.describe(t.shape))"
    )
}

/// Batch normalization over [N, C, ...]. In training, normalizes with the batch's statistics and updates the
/// running statistics in place (momentum, unbiased variance); otherwise uses the running statistics. With
/// `negativeSlope` (at least 0), the result is leakyRelu(batchNorm(x), negativeSlope) (0: relu), in training with
/// batch statistics computed and differentiated as one op (`normalizeWithBatchStatistics`).
public func batchNorm(
    _ x: Tensor, runningMean: Tensor? = nil, runningVar: Tensor? = nil, weight: Tensor? = nil,
    bias: Tensor? = nil, training: Bool = false, momentum: Float = 0.1, eps: Float = 1e-5, negativeSlope: Float? = nil
) throws -> Tensor {
    try require(x.rank >= 2, "batch_norm: argument 'x' must be [N, C, ...], got \(Shape.describe(x.shape))")
    try require(!x.shape.contains(0), "batch_norm: argument 'x' has a zero-size dimension: \(Shape.describe(x.shape))")
    let c = x.shape[1]
    for (t, name) in [(runningMean, "running_mean"), (runningVar, "running_var"), (weight, "weight"), (bias, "bias")] {
        try checkAffine(t, name, channels: c, op: "batch_norm")
    }
    try require(eps > 0, "batch_norm: argument 'eps' must be positive, got \(eps)")
    try checkActivationSlope(negativeSlope, op: "batch_norm")
    // Where the norm is not one op of its own (evaluation, synchronized statistics), the activation follows it.
    func activated(_ y: Tensor) throws -> Tensor {
        guard let negativeSlope else { return y }
        return try leakyRelu(y, negativeSlope: negativeSlope)
    }
    let layout = NormLayout(batch: x.shape[0], channels: c, plane: x.count / (x.shape[0] * c), perSample: false)
    if training {
        let context = ExecutionContext.current
        if context.syncBatchNorm, let communicator = context.communicator {
            return try activated(
                try syncBatchNormTraining(
                    x, runningMean: runningMean, runningVar: runningVar, weight: weight, bias: bias,
                    momentum: momentum, eps: eps, communicator: communicator))
        }
        try require(
            layout.groupSize > 1,
            "batch_norm: expected more than 1 value per channel when training, got \(Shape.describe(x.shape))")
        let (out, m, v) = try normalizeWithBatchStatistics(
            try reshape(x, [layout.batch, c, layout.plane, 1]), weight: weight,
            bias: bias, eps: eps, layout: layout, negativeSlope: negativeSlope)
        let unbias = Float(layout.groupSize) / Float(layout.groupSize - 1)
        for t in [runningMean, runningVar] { if let t { try StepTransaction.preserve(t) } }
        if let rm = runningMean { for i in 0..<c { rm.data[i] = (1 - momentum) * rm.data[i] + momentum * m[i] } }
        if let rv = runningVar {
            for i in 0..<c { rv.data[i] = (1 - momentum) * rv.data[i] + momentum * v[i] * unbias }
        }
        return try reshape(out, x.shape)
    }
    guard let runningMean, let runningVar else {
        throw SwiftGANError.invalidArgument(
            "batch_norm: evaluation mode (training=False) needs 'running_mean' and 'running_var'")
    }
    var shape = [Int](repeating: 1, count: x.rank)
    shape[1] = c
    var scaleValues = [Float](repeating: 0, count: c)
    for i in 0..<c { scaleValues[i] = 1 / (runningVar.data[i] + eps).squareRoot() }
    var a = try Tensor(scaleValues, shape: [c])
    if let weight { a = try mul(a, weight) }
    var shift = try neg(try mul(runningMean.detached(), a))
    if let bias { shift = try add(shift, bias) }
    return try activated(try add(try mul(x, try reshape(a, shape)), try reshape(shift, shape)))
}

/// Instance normalization over each sample's channel planes, with an optional per-channel affine. With
/// `negativeSlope` (at least 0), leakyRelu(instanceNorm(x), negativeSlope) (0: relu) as one op, forward and backward.
public func instanceNorm(
    _ x: Tensor, weight: Tensor? = nil, bias: Tensor? = nil, eps: Float = 1e-5, negativeSlope: Float? = nil
) throws -> Tensor {
    try instanceNorm(x, weight: weight, bias: bias, eps: eps, negativeSlope: negativeSlope, overwriting: false)
}

/// instanceNorm(x, negativeSlope:) written over x (which nothing may read afterwards) where nothing records: an
/// activation the caller made and alone holds needs no second one beside it.
public func instanceNorm(
    _ x: Tensor, eps: Float = 1e-5, negativeSlope: Float? = nil, overwriting: Bool
) throws -> Tensor {
    try instanceNorm(
        x, weight: nil, bias: nil, eps: eps, negativeSlope: negativeSlope,
        overwriting: overwriting && !GradMode.isEnabled)
}

private func instanceNorm(
    _ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float, negativeSlope: Float?, overwriting: Bool
) throws -> Tensor {
    try require(x.rank == 4, "instance_norm: argument 'x' must be 4-D [N, C, H, W], got \(Shape.describe(x.shape))")
    try require(
        !x.shape.contains(0), "instance_norm: argument 'x' has a zero-size dimension: \(Shape.describe(x.shape))")
    try require(
        x.shape[2] * x.shape[3] > 1,
        "instance_norm: expected more than 1 spatial element, got \(Shape.describe(x.shape))")
    try checkAffine(weight, "weight", channels: x.shape[1], op: "instance_norm")
    try checkAffine(bias, "bias", channels: x.shape[1], op: "instance_norm")
    try require(eps > 0, "instance_norm: argument 'eps' must be positive, got \(eps)")
    try checkActivationSlope(negativeSlope, op: "instance_norm")
    let layout = NormLayout(batch: x.shape[0], channels: x.shape[1], plane: x.shape[2] * x.shape[3], perSample: true)
    return try normalizeWithBatchStatistics(
        x, weight: weight, bias: bias, eps: eps, layout: layout, negativeSlope: negativeSlope, overwriting: overwriting
    ).0
}
