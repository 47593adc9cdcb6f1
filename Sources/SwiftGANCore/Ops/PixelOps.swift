/// Per-sample pixel maps and color transforms: the differentiable building blocks of adaptive discriminator
/// augmentation. Both are linear in the image; each one's gradient is its adjoint and the adjoint's gradient is the
/// op again, so they support double backward (R1 through augmented reals).

private func checkImageBatch(_ x: Tensor, _ op: String) throws {
    try require(
        x.rank == 4 && !x.shape.contains(0),
        "\(op): argument 'x' must be a non-empty [N, C, H, W] tensor, got \(Shape.describe(x.shape))")
}

/// out[n, c, p] = x[n, c, source[n][p]] for every output pixel p of an image with the input's size: flips, 90-degree
/// rotations and translations with reflection, all as one gather. `source` holds N * H * W indices into a plane.
public func gatherPixels(_ x: Tensor, source: [Int32]) throws -> Tensor {
    try checkImageBatch(x, "gather_pixels")
    let (n, c, plane) = (x.shape[0], x.shape[1], x.shape[2] * x.shape[3])
    try require(
        source.count == n * plane && source.allSatisfy { $0 >= 0 && Int($0) < plane },
        "gather_pixels: argument 'source' must hold \(n * plane) indices in 0..<\(plane)")
    return try pixelGather(x, source, channels: c, plane: plane)
}

private func pixelGather(_ x: Tensor, _ source: [Int32], channels c: Int, plane: Int) throws -> Tensor {
    let out = try Tensor(uninitialized: x.shape)
    source.withUnsafeBufferPointer { src in
        nonisolated(unsafe) let (xp, op, sp) = (x.data, out.data, src.baseAddress!)
        parallelFor(x.shape[0] * c, costPerItem: plane) { nc in
            let map = sp + (nc / c) * plane, from = xp + nc * plane, to = op + nc * plane
            for p in 0..<plane { to[p] = from[Int(map[p])] }
        }
    }
    return record(out, "gatherPixels", [x]) { g, _ in [try pixelScatter(g, source, channels: c, plane: plane)] }
}

/// The adjoint of `pixelGather`: adds each output pixel's value back at its source.
private func pixelScatter(_ g: Tensor, _ source: [Int32], channels c: Int, plane: Int) throws -> Tensor {
    let out = try Tensor(zeros: g.shape)
    source.withUnsafeBufferPointer { src in
        nonisolated(unsafe) let (gp, op, sp) = (g.data, out.data, src.baseAddress!)
        parallelFor(g.shape[0] * c, costPerItem: plane) { nc in
            let map = sp + (nc / c) * plane, from = gp + nc * plane, to = op + nc * plane
            for p in 0..<plane { to[Int(map[p])] += from[p] }
        }
    }
    return record(out, "scatterPixels", [g]) { gg, _ in [try pixelGather(gg, source, channels: c, plane: plane)] }
}

/// out[n] = M[n] x[n] + t[n] per pixel, for per-sample color matrices `matrices` [N, C, C + 1] (the last column is
/// the offset). A constant: no gradient flows to the matrices.
public func colorTransform(_ x: Tensor, matrices: Tensor) throws -> Tensor {
    try checkImageBatch(x, "color_transform")
    let (n, c) = (x.shape[0], x.shape[1])
    try require(
        matrices.shape == [n, c, c + 1],
        "color_transform: argument 'matrices' must be [\(n), \(c), \(c + 1)], got \(Shape.describe(matrices.shape))")
    return try colorMix(x, matrices.detached(), transpose: false, offset: true)
}

/// y[n, i] = sum_j A[n, i, j] x[n, j] (+ A[n, i, C]), with A transposed for the adjoint (which has no offset).
private func colorMix(_ x: Tensor, _ m: Tensor, transpose: Bool, offset: Bool) throws -> Tensor {
    let (n, c, plane) = (x.shape[0], x.shape[1], x.shape[2] * x.shape[3])
    let out = try Tensor(uninitialized: x.shape)
    nonisolated(unsafe) let (xp, op, mp) = (x.data, out.data, m.data)
    parallelFor(n * c, costPerItem: plane * c) { ni in
        let (s, i) = (ni / c, ni % c)
        let row = mp + s * c * (c + 1)
        let dst = op + ni * plane
        let bias: Float = offset ? row[i * (c + 1) + c] : 0
        for p in 0..<plane { dst[p] = bias }
        for j in 0..<c {
            let a = transpose ? row[j * (c + 1) + i] : row[i * (c + 1) + j]
            let src = xp + (s * c + j) * plane
            for p in 0..<plane { dst[p] += a * src[p] }
        }
    }
    return record(out, "colorTransform", [x]) { g, _ in [try colorMix(g, m, transpose: !transpose, offset: false)] }
}
