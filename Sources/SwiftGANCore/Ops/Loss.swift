/// Losses, written with differentiable ops.

/// How a loss reduces its elementwise values.
public enum Reduction: Int, Sendable {
    case none = 0, mean = 1, sum = 2
}

private func reduce(_ x: Tensor, _ reduction: Reduction) throws -> Tensor {
    switch reduction {
    case .none: return x
    case .mean: return try mean(x)
    case .sum: return try sum(x)
    }
}

private func checkSameShape(_ x: Tensor, _ y: Tensor, _ op: String, _ name: String) throws {
    try require(
        x.shape == y.shape,
        "\(op): argument '\(name)' must have the shape of 'x' \(Shape.describe(x.shape)), "
            + "got \(Shape.describe(y.shape))"
    )
}

/// Binary cross-entropy on logits, stable for any x: softplus(x) - x * target.
public func bceWithLogits(_ x: Tensor, target: Tensor, reduction: Reduction = .mean) throws -> Tensor {
    try checkSameShape(x, target, "bce_with_logits", "target")
    return try reduce(try sub(try softplus(x), try mul(x, target.detached())), reduction)
}

/// Binary cross-entropy on logits against a constant label (1 for real, 0 for fake).
public func bceWithLogits(_ x: Tensor, target: Float, reduction: Reduction = .mean) throws -> Tensor {
    let loss = target == 0 ? try softplus(x) : try sub(try softplus(x), try scale(x, target))
    return try reduce(loss, reduction)
}

/// Squared error.
public func mseLoss(_ x: Tensor, _ y: Tensor, reduction: Reduction = .mean) throws -> Tensor {
    try checkSameShape(x, y, "mse", "y")
    return try reduce(try square(try sub(x, y)), reduction)
}

/// Absolute error.
public func l1Loss(_ x: Tensor, _ y: Tensor, reduction: Reduction = .mean) throws -> Tensor {
    try checkSameShape(x, y, "l1", "y")
    return try reduce(try abs(try sub(x, y)), reduction)
}
