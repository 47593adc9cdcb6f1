/// Vectorized reductions over float buffers. A plain `s += x[i]` loop is a serial dependency the compiler will not
/// reorder, so these keep several SIMD accumulators; every sum over n values is exact to about sqrt(n) ulps.

/// sum of f(a[i], b[i]) over 0..<n for an elementwise f on SIMD vectors (two accumulators for instruction-level
/// parallelism).
@inline(__always)
private func reduce(_ n: Int, _ f: (Int) -> SIMD8<Float>, _ tail: (Int) -> Float) -> Float {
    var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
    var i = 0
    while i + 16 <= n {
        acc0 += f(i)
        acc1 += f(i + 8)
        i += 16
    }
    if i + 8 <= n {
        acc0 += f(i)
        i += 8
    }
    var sum = (acc0 + acc1).sum()
    while i < n {
        sum += tail(i)
        i += 1
    }
    return sum
}

@inline(__always) private func load(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD8<Float> {
    UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
}

/// sum of a[i].
@inline(__always)
func sum(_ a: UnsafePointer<Float>, _ n: Int) -> Float {
    reduce(n, { load(a, $0) }, { a[$0] })
}

/// sum of (a[i] - m)^2.
@inline(__always)
func squaredDeviations(_ a: UnsafePointer<Float>, _ m: Float, _ n: Int) -> Float {
    let mv = SIMD8<Float>(repeating: m)
    return reduce(
        n,
        {
            let d = load(a, $0) - mv
            return d * d
        }, { (a[$0] - m) * (a[$0] - m) })
}

/// sum of g[i] * (a[i] - m).
@inline(__always)
func centeredDot(_ g: UnsafePointer<Float>, _ a: UnsafePointer<Float>, _ m: Float, _ n: Int) -> Float {
    let mv = SIMD8<Float>(repeating: m)
    return reduce(n, { load(g, $0) * (load(a, $0) - mv) }, { g[$0] * (a[$0] - m) })
}
