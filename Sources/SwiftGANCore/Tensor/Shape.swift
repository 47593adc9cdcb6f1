/// Shape helpers for row-major (C-contiguous) tensors.
public enum Shape {
    /// Most dimensions a tensor may have.
    public static let maxRank = 8

    /// The number of elements, or nil if a dimension is negative or the product overflows the allocation limit.
    public static func count(_ shape: [Int]) -> Int? {
        var n = 1
        for d in shape {
            guard d >= 0 else { return nil }
            let (p, overflow) = n.multipliedReportingOverflow(by: d)
            guard !overflow, p <= Storage.maxElements else { return nil }
            n = p
        }
        return n
    }

    /// The number of elements of a tensor of `shape`: throws `invalidArgument` for a negative dimension or too many
    /// dimensions, `outOfMemory` when the count exceeds the allocation limit.
    public static func checkedCount(_ shape: [Int]) throws -> Int {
        guard shape.count <= maxRank, shape.allSatisfy({ $0 >= 0 }) else {
            throw SwiftGANError.invalidArgument("invalid tensor shape \(describe(shape))")
        }
        guard let n = count(shape) else {
            throw SwiftGANError.outOfMemory(
                "a tensor of shape \(describe(shape)) is too large (limit \(Storage.maxElements) elements)")
        }
        return n
    }

    /// Row-major strides of `shape`.
    public static func strides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            s[i] = acc
            acc *= shape[i]
        }
        return s
    }

    /// The numpy broadcast of two shapes, or nil when they are incompatible.
    public static func broadcast(_ a: [Int], _ b: [Int]) -> [Int]? {
        let n = Swift.max(a.count, b.count)
        var out = [Int](repeating: 1, count: n)
        for i in 0..<n {
            let da = i < n - a.count ? 1 : a[i - (n - a.count)]
            let db = i < n - b.count ? 1 : b[i - (n - b.count)]
            if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else { return nil }
        }
        return out
    }

    /// Text like `[2, 3, 4]` for messages.
    public static func describe(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }
}
