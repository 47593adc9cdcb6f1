/// Matrix products.

/// op(a) x op(b) for 2-D tensors, op = transpose when the flag is set.
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) throws -> Tensor {
    try require(a.rank == 2, "matmul: argument 'a' must be 2-D, got shape \(Shape.describe(a.shape))")
    try require(b.rank == 2, "matmul: argument 'b' must be 2-D, got shape \(Shape.describe(b.shape))")
    let (m, k) = transposeA ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
    let (kb, n) = transposeB ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
    try require(k == kb, "matmul: inner dimensions differ: \(Shape.describe(a.shape)) and \(Shape.describe(b.shape))")
    let out = try Tensor(uninitialized: [m, n])
    sgemm(
        transA: transposeA, transB: transposeB, m: m, n: n, k: k, a: a.data, lda: a.shape[1], b: b.data,
        ldb: b.shape[1],
        c: out.data, ldc: n)
    let (keptA, keptB) = (b.requiresGrad ? a : nil, a.requiresGrad ? b : nil)
    return record(out, "matmul", [a, b]) { g, need in
        let (a, b) = (keptA, keptB)
        let ga: Tensor? =
            !need[0]
            ? nil
            : transposeA
                ? try matmul(b!, g, transposeA: transposeB, transposeB: true)
                : try matmul(g, b!, transposeB: !transposeB)
        let gb: Tensor? =
            !need[1]
            ? nil
            : transposeB
                ? try matmul(g, a!, transposeA: true, transposeB: transposeA)
                : try matmul(a!, g, transposeA: !transposeA)
        return [ga, gb]
    }
}

/// x W^T + b for x [N, in], W [out, in], b [out].
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) throws -> Tensor {
    try require(x.rank == 2, "linear: argument 'x' must be [N, in_features], got \(Shape.describe(x.shape))")
    try require(
        weight.rank == 2 && weight.shape[1] == x.shape[1],
        "linear: argument 'weight' must be [out_features, \(x.shape[1])], got \(Shape.describe(weight.shape))")
    let y = try matmul(x, weight, transposeB: true)
    guard let bias else { return y }
    try require(
        bias.shape == [weight.shape[0]],
        "linear: argument 'bias' must be [\(weight.shape[0])], got \(Shape.describe(bias.shape))")
    return try add(y, bias)
}
