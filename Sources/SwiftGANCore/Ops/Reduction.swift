/// Sums and means over axes.

/// Normalizes possibly negative axes; nil means all axes.
func normalizeAxes(_ axes: [Int]?, rank: Int, op: String) throws -> [Int] {
    guard let axes else { return Array(0..<rank) }
    var seen = Set<Int>()
    for a in axes {
        let d = a < 0 ? a + rank : a
        try require(d >= 0 && d < rank, "\(op): dim \(a) is out of range for a tensor of rank \(rank)")
        try require(seen.insert(d).inserted, "\(op): dim \(a) appears twice")
    }
    return seen.sorted()
}

/// Sum over `axes` (all when nil), keeping reduced axes as size 1 when `keepDim`.
public func sum(_ x: Tensor, axes: [Int]? = nil, keepDim: Bool = false) throws -> Tensor {
    let dims = try normalizeAxes(axes, rank: x.rank, op: "sum")
    var kept = x.shape
    for d in dims { kept[d] = 1 }
    let s = try sumTo(x, kept)
    return keepDim ? s : try reshape(s, kept.enumerated().filter { !dims.contains($0.offset) }.map(\.element))
}

/// Mean over `axes` (all when nil).
public func mean(_ x: Tensor, axes: [Int]? = nil, keepDim: Bool = false) throws -> Tensor {
    let dims = try normalizeAxes(axes, rank: x.rank, op: "mean")
    let n = dims.reduce(1) { $0 * x.shape[$1] }
    return try scale(try sum(x, axes: dims, keepDim: keepDim), n == 0 ? .nan : 1 / Float(n))
}
