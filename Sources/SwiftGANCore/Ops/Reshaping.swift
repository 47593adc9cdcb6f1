/// Ops that move values without arithmetic: reshape, narrow (slicing) and its adjoint, concatenation.

/// The same values with a new shape (one entry may be -1). Shares storage.
public func reshape(_ x: Tensor, _ shape: [Int]) throws -> Tensor {
    var shape = shape
    let inferred = shape.indices.filter { shape[$0] == -1 }
    try require(inferred.count <= 1, "reshape: only one dimension can be -1, got \(Shape.describe(shape))")
    try require(shape.count <= Shape.maxRank, "reshape: at most \(Shape.maxRank) dimensions")
    if let i = inferred.first {
        var rest = shape
        rest[i] = 1
        guard let known = Shape.count(rest), known > 0, x.count % known == 0 else {
            throw SwiftGANError.invalidArgument(
                "reshape: cannot reshape \(Shape.describe(x.shape)) to \(Shape.describe(shape))")
        }
        shape[i] = x.count / known
    }
    guard let n = Shape.count(shape), n == x.count else {
        throw SwiftGANError.invalidArgument(
            "reshape: cannot reshape \(Shape.describe(x.shape)) (\(x.count) values) to \(Shape.describe(shape))")
    }
    if shape == x.shape { return x }
    let out = Tensor(shape: shape, storage: x.storage)
    let xShape = x.shape
    return record(out, "reshape", [x]) { g, _ in [try reshape(g, xShape)] }
}

/// (outer, size, inner) of a tensor around axis `dim`.
private func split(_ shape: [Int], _ dim: Int) -> (Int, Int, Int) {
    (shape[..<dim].reduce(1, *), shape[dim], shape[(dim + 1)...].reduce(1, *))
}

/// Copies `rows` runs of `run` floats with source/destination pitches, in parallel.
private func copyRuns(
    _ src: UnsafePointer<Float>, srcPitch: Int, _ dst: UnsafeMutablePointer<Float>, dstPitch: Int,
    rows: Int, run: Int
) {
    nonisolated(unsafe) let src = src, dst = dst
    parallelFor(rows, costPerItem: run) { r in (dst + r * dstPitch).update(from: src + r * srcPitch, count: run) }
}

/// Elements start..<start+length of axis `dim` (torch.narrow).
public func narrow(_ x: Tensor, dim: Int, start: Int, length: Int) throws -> Tensor {
    let d = try normalizeAxes([dim], rank: x.rank, op: "narrow")[0]
    try require(
        start >= 0 && length >= 0 && start + length <= x.shape[d],
        "narrow: start \(start) and length \(length) do not fit dim \(dim) of size \(x.shape[d])")
    var shape = x.shape
    shape[d] = length
    let out = try Tensor(uninitialized: shape)
    let (outer, size, inner) = split(x.shape, d)
    copyRuns(
        x.data + start * inner, srcPitch: size * inner, out.data, dstPitch: length * inner, rows: outer,
        run: length * inner)
    return record(out, "narrow", [x]) { g, _ in [try embed(g, dim: d, start: start, size: size)] }
}

/// x placed at start..<start+x.shape[dim] of a zero tensor whose axis `dim` has `size` elements: the
/// adjoint of `narrow`.
func embed(_ x: Tensor, dim: Int, start: Int, size: Int) throws -> Tensor {
    var shape = x.shape
    shape[dim] = size
    let out = try Tensor(zeros: shape)
    let (outer, length, inner) = split(x.shape, dim)
    copyRuns(
        x.data, srcPitch: length * inner, out.data + start * inner, dstPitch: size * inner, rows: outer,
        run: length * inner)
    return record(out, "embed", [x]) { g, _ in [try narrow(g, dim: dim, start: start, length: length)] }
}

/// Concatenation along axis `dim`; all other dimensions must match.
public func cat(_ xs: [Tensor], dim: Int = 0) throws -> Tensor {
    guard let first = xs.first else { throw SwiftGANError.invalidArgument("cat: expected at least one tensor") }
    let d = try normalizeAxes([dim], rank: first.rank, op: "cat")[0]
    var shape = first.shape
    shape[d] = 0
    for (i, x) in xs.enumerated() {
        var s = x.shape
        if s.count == shape.count { s[d] = 0 }
        try require(
            s == shape.map { $0 } && x.rank == first.rank,
            "cat: tensor \(i) has shape \(Shape.describe(x.shape)), which does not match "
                + "\(Shape.describe(first.shape)) outside dim \(dim)"
        )
    }
    shape[d] = xs.reduce(0) { $0 + $1.shape[d] }
    let out = try Tensor(uninitialized: shape)
    let (outer, total, inner) = split(shape, d)
    var offset = 0
    var starts: [Int] = []
    for x in xs {
        let n = x.shape[d]
        copyRuns(
            x.data, srcPitch: n * inner, out.data + offset * inner, dstPitch: total * inner, rows: outer, run: n * inner
        )
        starts.append(offset)
        offset += n
    }
    let lengths = xs.map { $0.shape[d] }
    return record(out, "cat", xs) { g, need in
        try lengths.indices.map { i in need[i] ? try narrow(g, dim: d, start: starts[i], length: lengths[i]) : nil }
    }
}

/// The axes of `x` reordered: output axis i is input axis `dims[i]` (torch.permute). A copy.
public func permute(_ x: Tensor, _ dims: [Int]) throws -> Tensor {
    try require(
        dims.count == x.rank && Set(dims) == Set(0..<x.rank),
        "permute: argument 'dims' must order the \(x.rank) axes of x, got \(dims)")
    if dims == Array(0..<x.rank) { return x }
    let shape = dims.map { x.shape[$0] }
    let out = try Tensor(uninitialized: shape)
    // Input strides, in output axis order: output index (i0, i1, ...) reads input offset sum(i_k * stride[k]).
    var inputStrides = [Int](repeating: 1, count: x.rank)
    for axis in stride(from: x.rank - 2, through: 0, by: -1) {
        inputStrides[axis] = inputStrides[axis + 1] * x.shape[axis + 1]
    }
    let strides = dims.map { inputStrides[$0] }
    let inner = shape.last ?? 1, innerStride = strides.last ?? 1
    let rows = x.count / Swift.max(inner, 1)
    nonisolated(unsafe) let src = x.data, dst = out.data
    parallelFor(rows, costPerItem: inner) { row in
        var offset = 0, rest = row
        for axis in stride(from: shape.count - 2, through: 0, by: -1) {
            offset += (rest % shape[axis]) * strides[axis]
            rest /= shape[axis]
        }
        let o = dst + row * inner
        for i in 0..<inner { o[i] = src[offset + i * innerStride] }
    }
    var inverse = [Int](repeating: 0, count: dims.count)
    for (i, d) in dims.enumerated() { inverse[d] = i }
    return record(out, "permute", [x]) { g, _ in [try permute(g, inverse)] }
}
