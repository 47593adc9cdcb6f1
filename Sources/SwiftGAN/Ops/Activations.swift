import Glibc

/// Activations and elementwise math. Each gradient is written with differentiable ops when the tape is
/// recording during backward (double backward); otherwise a fused one-pass kernel computes it.

@inline(__always)
private func unary(_ x: Tensor, _ f: @escaping (Float) -> Float) throws -> Tensor {
    let out = try Tensor(uninitialized: x.shape)
    Pointwise.map(x.data, out.data, x.count, f)
    return out
}

/// g * f(a) in one pass, with `composite` used instead while the tape records (create_graph).
@inline(__always)
private func gradient(_ g: Tensor, _ a: Tensor, fused f: @escaping (Float, Float) -> Float,
                      composite: () throws -> Tensor) throws -> Tensor {
    if GradMode.isEnabled { return try composite() }
    let out = try Tensor(uninitialized: g.shape)
    Pointwise.zip(g.data, a.data, out.data, g.count, f)
    return out
}

/// max(x, 0).
public func relu(_ x: Tensor) throws -> Tensor { try leakyRelu(x, negativeSlope: 0) }

/// x for x > 0, else negativeSlope * x.
public func leakyRelu(_ x: Tensor, negativeSlope: Float = 0.01) throws -> Tensor {
    let out = try unary(x) { $0 > 0 ? $0 : (negativeSlope == 0 ? 0 : $0 * negativeSlope) }
    return record(out, "leakyRelu", [x]) { g, _ in [try leakyReluGrad(g, x, negativeSlope: negativeSlope)] }
}

/// g where x > 0, else negativeSlope * g: the gradient of `leakyRelu`; x only selects, so it is a constant.
func leakyReluGrad(_ g: Tensor, _ x: Tensor, negativeSlope: Float) throws -> Tensor {
    let out = try Tensor(uninitialized: g.shape)
    Pointwise.zip(g.data, x.data, out.data, g.count) { gv, xv in xv > 0 ? gv : (negativeSlope == 0 ? 0 : gv * negativeSlope) }
    return record(out, "leakyReluGrad", [g]) { gg, _ in [try leakyReluGrad(gg, x, negativeSlope: negativeSlope)] }
}

/// tanh(x).
public func tanh(_ x: Tensor) throws -> Tensor {
    let out = try unary(x) { Glibc.tanhf($0) }
    return record(out, "tanh", [x]) { g, _ in
        [try gradient(g, out, fused: { gv, y in gv * (1 - y * y) }) { try mul(g, try affine(try square(out), scale: -1, shift: 1)) }]
    }
}

/// 1 / (1 + exp(-x)).
public func sigmoid(_ x: Tensor) throws -> Tensor {
    let out = try unary(x) { v in v >= 0 ? 1 / (1 + Glibc.expf(-v)) : Glibc.expf(v) / (1 + Glibc.expf(v)) }
    return record(out, "sigmoid", [x]) { g, _ in
        [try gradient(g, out, fused: { gv, y in gv * y * (1 - y) }) { try mul(g, try mul(out, try affine(out, scale: -1, shift: 1))) }]
    }
}

/// log(1 + exp(x)), computed without overflow.
public func softplus(_ x: Tensor) throws -> Tensor {
    let out = try unary(x) { v in Swift.max(v, 0) + Glibc.log1pf(Glibc.expf(-Swift.abs(v))) }
    return record(out, "softplus", [x]) { g, _ in
        [try gradient(g, x, fused: { gv, v in gv * (v >= 0 ? 1 / (1 + Glibc.expf(-v)) : Glibc.expf(v) / (1 + Glibc.expf(v))) }) {
            try mul(g, try sigmoid(x))
        }]
    }
}

/// e^x.
public func exp(_ x: Tensor) throws -> Tensor {
    let out = try unary(x) { Glibc.expf($0) }
    return record(out, "exp", [x]) { g, _ in [try mul(g, out)] }
}

/// Natural logarithm.
public func log(_ x: Tensor) throws -> Tensor {
    let out = try unary(x) { Glibc.logf($0) }
    return record(out, "log", [x]) { g, _ in [try div(g, x)] }
}

/// Square root.
public func sqrt(_ x: Tensor) throws -> Tensor {
    let out = try unary(x) { $0.squareRoot() }
    return record(out, "sqrt", [x]) { g, _ in [try scale(try div(g, out), 0.5)] }
}

/// 1 / sqrt(x).
public func rsqrt(_ x: Tensor) throws -> Tensor {
    let out = try unary(x) { 1 / $0.squareRoot() }
    return record(out, "rsqrt", [x]) { g, _ in
        [try gradient(g, out, fused: { gv, y in -0.5 * gv * y * y * y }) {
            try mul(g, try scale(try mul(out, try square(out)), -0.5))
        }]
    }
}

/// x * x.
public func square(_ x: Tensor) throws -> Tensor {
    let out = try unary(x) { $0 * $0 }
    return record(out, "square", [x]) { g, _ in
        [try gradient(g, x, fused: { gv, v in 2 * gv * v }) { try mul(g, try scale(x, 2)) }]
    }
}

/// |x|.
public func abs(_ x: Tensor) throws -> Tensor {
    let out = try unary(x) { Swift.abs($0) }
    return record(out, "abs", [x]) { g, _ in
        let sign = try unary(x) { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }
        return [try mul(g, sign)]
    }
}
