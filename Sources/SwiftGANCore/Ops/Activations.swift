/// Activations and elementwise math. Each gradient is written with differentiable ops when the tape is
/// recording during backward (double backward); otherwise a fused one-pass kernel computes it.

private func unary<F: UnaryFunction>(_ x: Tensor, _ f: F) throws -> Tensor {
    let out = try Tensor(uninitialized: x.shape)
    Pointwise.map(x.data, out.data, x.count, f)
    return out
}

/// g * f(a) in one pass, with `composite` used instead while the tape records (create_graph).
private func gradient<F: BinaryFunction>(
    _ g: Tensor, _ a: Tensor, fused f: F, composite: () throws -> Tensor
) throws -> Tensor {
    if GradMode.isEnabled { return try composite() }
    let out = try Tensor(uninitialized: g.shape)
    Pointwise.zip(g.data, a.data, out.data, g.count, f)
    return out
}

/// max(x, 0).
public func relu(_ x: Tensor) throws -> Tensor { try leakyRelu(x, negativeSlope: 0) }

/// x for x > 0, else negativeSlope * x.
public func leakyRelu(_ x: Tensor, negativeSlope: Float = 0.01) throws -> Tensor {
    let out = try unary(x, Fn.LeakyRelu(slope: negativeSlope))
    // With a non-negative slope the output has the input's sign, so the mask comes from the output, which the next
    // layer usually keeps anyway: the input can be freed.
    if negativeSlope >= 0 {
        return recordWithOutput(out, "leakyRelu", [x]) { g, _, y in
            [try leakyReluGrad(g, y.detached(), negativeSlope: negativeSlope)]
        }
    }
    return record(out, "leakyRelu", [x]) { g, _ in [try leakyReluGrad(g, x, negativeSlope: negativeSlope)] }
}

/// g where x > 0, else negativeSlope * g: the gradient of `leakyRelu`; x only selects, so it is a constant.
func leakyReluGrad(_ g: Tensor, _ x: Tensor, negativeSlope: Float) throws -> Tensor {
    let out = try Tensor(uninitialized: g.shape)
    Pointwise.zip(g.data, x.data, out.data, g.count, Fn.LeakyReluGrad(slope: negativeSlope))
    return record(out, "leakyReluGrad", [g]) { gg, _ in [try leakyReluGrad(gg, x, negativeSlope: negativeSlope)] }
}

/// tanh(x).
public func tanh(_ x: Tensor) throws -> Tensor {
    let out = try unary(x, Fn.Tanh())
    return recordWithOutput(out, "tanh", [x]) { g, _, y in
        [try gradient(g, y, fused: Fn.TanhGrad()) { try mul(g, try affine(try square(y), scale: -1, shift: 1)) }]
    }
}

/// 1 / (1 + exp(-x)).
public func sigmoid(_ x: Tensor) throws -> Tensor {
    let out = try unary(x, Fn.Sigmoid())
    return recordWithOutput(out, "sigmoid", [x]) { g, _, y in
        [try gradient(g, y, fused: Fn.SigmoidGrad()) { try mul(g, try mul(y, try affine(y, scale: -1, shift: 1))) }]
    }
}

/// log(1 + exp(x)), computed without overflow.
public func softplus(_ x: Tensor) throws -> Tensor {
    let out = try unary(x, Fn.Softplus())
    return record(out, "softplus", [x]) { g, _ in
        [
            try gradient(g, x, fused: Fn.SoftplusGrad()) {
                try mul(g, try sigmoid(x))
            }
        ]
    }
}

/// e^x.
public func exp(_ x: Tensor) throws -> Tensor {
    let out = try unary(x, Fn.Exp())
    return recordWithOutput(out, "exp", [x]) { g, _, y in [try mul(g, y)] }
}

/// Natural logarithm.
public func log(_ x: Tensor) throws -> Tensor {
    let out = try unary(x, Fn.Log())
    return record(out, "log", [x]) { g, _ in [try div(g, x)] }
}

/// Square root.
public func sqrt(_ x: Tensor) throws -> Tensor {
    let out = try unary(x, Fn.Sqrt())
    return recordWithOutput(out, "sqrt", [x]) { g, _, y in [try scale(try div(g, y), 0.5)] }
}

/// 1 / sqrt(x).
public func rsqrt(_ x: Tensor) throws -> Tensor {
    let out = try unary(x, Fn.Rsqrt())
    return recordWithOutput(out, "rsqrt", [x]) { g, _, y in
        [
            try gradient(g, y, fused: Fn.RsqrtGrad()) {
                try mul(g, try scale(try mul(y, try square(y)), -0.5))
            }
        ]
    }
}

/// x * x.
public func square(_ x: Tensor) throws -> Tensor {
    let out = try unary(x, Fn.Square())
    return record(out, "square", [x]) { g, _ in
        [try gradient(g, x, fused: Fn.SquareGrad()) { try mul(g, try scale(x, 2)) }]
    }
}

/// |x|.
public func abs(_ x: Tensor) throws -> Tensor {
    let out = try unary(x, Fn.Abs())
    return record(out, "abs", [x]) { g, _ in
        let sign = try unary(x, Fn.Sign())
        return [try mul(g, sign)]
    }
}

/// x limited to [low, high] (torch.clamp); the gradient passes where low <= x <= high. StyleGAN2's conv_clamp.
public func clamp(_ x: Tensor, min low: Float, max high: Float) throws -> Tensor {
    try require(low <= high, "clamp: argument 'min' (\(low)) must not exceed 'max' (\(high))")
    let out = try unary(x, Fn.Clamp(low: low, high: high))
    return record(out, "clamp", [x]) { g, _ in [try clampGrad(g, x, low: low, high: high)] }
}

/// g where low <= x <= high, else 0: the gradient of `clamp`; x only selects, so it is a constant.
func clampGrad(_ g: Tensor, _ x: Tensor, low: Float, high: Float) throws -> Tensor {
    let out = try Tensor(uninitialized: g.shape)
    Pointwise.zip(g.data, x.data, out.data, g.count, Fn.ClampGrad(low: low, high: high))
    return record(out, "clampGrad", [g]) { gg, _ in [try clampGrad(gg, x, low: low, high: high)] }
}
