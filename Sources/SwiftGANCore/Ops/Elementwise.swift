/// Binary arithmetic with numpy broadcasting, scalar arithmetic, and the broadcast/reduce pair that their
/// gradients need.

/// Strides of a tensor of `shape` seen in an output of rank `rank` (0 along broadcast dimensions).
private func broadcastStrides(_ shape: [Int], rank: Int, outShape: [Int]) -> [Int] {
    let own = Shape.strides(shape)
    return (0..<rank).map { d in
        let i = d - (rank - shape.count)
        return i < 0 || (shape[i] == 1 && outShape[d] != 1) ? 0 : own[i]
    }
}

/// Applies f elementwise with broadcasting.
private func broadcastBinary<F: BinaryFunction>(_ a: Tensor, _ b: Tensor, _ name: String, _ f: F) throws -> Tensor {
    if a.shape == b.shape {
        let out = try Tensor(uninitialized: a.shape)
        Pointwise.zip(a.data, b.data, out.data, a.count, f)
        return out
    }
    guard let shape = Shape.broadcast(a.shape, b.shape) else {
        throw SwiftGANError.invalidArgument(
            "\(name): shapes \(Shape.describe(a.shape)) and \(Shape.describe(b.shape)) cannot be broadcast together")
    }
    let out = try Tensor(uninitialized: shape)
    if b.count == 1 {
        let s = b.data[0]
        Pointwise.map(a.data, out.data, a.count, Fn.WithScalar(f: f, s: s))
    } else {
        Pointwise.broadcastZip(
            a.data, broadcastStrides(a.shape, rank: shape.count, outShape: shape),
            b.data, broadcastStrides(b.shape, rank: shape.count, outShape: shape), out.data, shape, f)
    }
    return out
}

/// a + b.
public func add(_ a: Tensor, _ b: Tensor) throws -> Tensor {
    let out = try broadcastBinary(a, b, "add", Fn.Add())
    let (sa, sb) = (a.shape, b.shape)
    return record(out, "add", [a, b]) { g, need in
        [need[0] ? try sumTo(g, sa) : nil, need[1] ? try sumTo(g, sb) : nil]
    }
}

/// a - b.
public func sub(_ a: Tensor, _ b: Tensor) throws -> Tensor {
    let out = try broadcastBinary(a, b, "sub", Fn.Sub())
    let (sa, sb) = (a.shape, b.shape)
    return record(out, "sub", [a, b]) { g, need in
        [need[0] ? try sumTo(g, sa) : nil, need[1] ? try sumTo(try neg(g), sb) : nil]
    }
}

/// a * b.
public func mul(_ a: Tensor, _ b: Tensor) throws -> Tensor {
    let out = try broadcastBinary(a, b, "mul", Fn.Mul())
    let (sa, sb) = (a.shape, b.shape)
    // Each factor is kept only if the other one's gradient needs it.
    let (keptA, keptB) = (b.requiresGrad ? a : nil, a.requiresGrad ? b : nil)
    return record(out, "mul", [a, b]) { g, need in
        [need[0] ? try sumTo(try mul(g, keptB!), sa) : nil, need[1] ? try sumTo(try mul(g, keptA!), sb) : nil]
    }
}

/// a / b.
public func div(_ a: Tensor, _ b: Tensor) throws -> Tensor {
    let out = try broadcastBinary(a, b, "div", Fn.Div())
    let sa = a.shape
    return recordWithOutput(out, "div", [a, b]) { g, need, y in
        [
            need[0] ? try sumTo(try div(g, b), sa) : nil,
            need[1] ? try sumTo(try neg(try div(try mul(g, y), b)), b.shape) : nil,
        ]
    }
}

/// x * scale + shift, for a constant scale and shift.
public func affine(_ x: Tensor, scale: Float, shift: Float = 0) throws -> Tensor {
    let out = try Tensor(uninitialized: x.shape)
    Pointwise.map(x.data, out.data, x.count, Fn.Affine(scale: scale, shift: shift))
    return record(out, "affine", [x]) { g, _ in [try affine(g, scale: scale)] }
}

/// x * s for a constant s.
public func scale(_ x: Tensor, _ s: Float) throws -> Tensor { try affine(x, scale: s) }

/// -x.
public func neg(_ x: Tensor) throws -> Tensor { try affine(x, scale: -1) }

/// x broadcast to `shape` (numpy rules).
public func broadcast(_ x: Tensor, to shape: [Int]) throws -> Tensor {
    if x.shape == shape { return x }
    guard Shape.broadcast(x.shape, shape) == shape, shape.count <= Shape.maxRank, let n = Shape.count(shape) else {
        throw SwiftGANError.invalidArgument("cannot broadcast \(Shape.describe(x.shape)) to \(Shape.describe(shape))")
    }
    let out = try Tensor(uninitialized: shape)
    if x.count == 1 {
        out.data.update(repeating: x.data[0], count: n)
    } else {
        let zero = Tensor(scalar: 0)
        Pointwise.broadcastZip(
            x.data, broadcastStrides(x.shape, rank: shape.count, outShape: shape),
            zero.data, [Int](repeating: 0, count: shape.count), out.data, shape, Fn.First())
    }
    let shape = x.shape
    return record(out, "broadcast", [x]) { g, _ in [try sumTo(g, shape)] }
}

/// Sums x down to `shape`, the inverse of broadcasting: the gradient of `broadcast`.
public func sumTo(_ x: Tensor, _ shape: [Int]) throws -> Tensor {
    if x.shape == shape { return x }
    guard Shape.broadcast(shape, x.shape) == x.shape else {
        throw SwiftGANError.invalidArgument("cannot sum \(Shape.describe(x.shape)) down to \(Shape.describe(shape))")
    }
    let out = try Tensor(zeros: shape)
    Pointwise.reduceSum(x.data, x.shape, out.data, broadcastStrides(shape, rank: x.rank, outShape: x.shape))
    let xShape = x.shape
    return record(out, "sumTo", [x]) { g, _ in [try broadcast(g, to: xShape)] }
}
