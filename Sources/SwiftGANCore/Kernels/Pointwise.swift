/// Elementwise loops over raw buffers, split over the engine's threads.
enum Pointwise {
    /// out[i] = f(x[i]).
    static func map<F: UnaryFunction>(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ n: Int, _ f: F) {
        nonisolated(unsafe) let x = x, out = out
        parallelRanges(n) { r in for i in r { out[i] = f(x[i]) } }
    }

    /// out[i] = f(a[i], b[i]).
    static func zip<F: BinaryFunction>(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
        _ n: Int, _ f: F
    ) {
        nonisolated(unsafe) let a = a, b = b, out = out
        parallelRanges(n) { r in for i in r { out[i] = f(a[i], b[i]) } }
    }

    /// out = f(a, b) with numpy broadcasting; `aStrides`/`bStrides` are the inputs' strides in the output's
    /// rank, 0 along broadcast dimensions.
    static func broadcastZip<F: BinaryFunction>(
        _ a: UnsafePointer<Float>, _ aStrides: [Int], _ b: UnsafePointer<Float>,
        _ bStrides: [Int], _ out: UnsafeMutablePointer<Float>, _ shape: [Int], _ f: F
    ) {
        let rank = shape.count
        let inner = rank == 0 ? 1 : shape[rank - 1]
        let sa = rank == 0 ? 0 : aStrides[rank - 1], sb = rank == 0 ? 0 : bStrides[rank - 1]
        let outer = inner == 0 ? 0 : shape.reduce(1, *) / inner
        nonisolated(unsafe) let a = a, b = b, out = out
        parallelFor(outer, costPerItem: inner) { o in
            var rem = o, offA = 0, offB = 0
            var d = rank - 2
            while d >= 0 {
                let idx = rem % shape[d]
                rem /= shape[d]
                offA += idx * aStrides[d]
                offB += idx * bStrides[d]
                d -= 1
            }
            let dst = out + o * inner
            for i in 0..<inner { dst[i] = f(a[offA + i * sa], b[offB + i * sb]) }
        }
    }

    /// Sums x (of `shape`) into out (zeroed by the caller), whose strides in x's rank are `outStrides`
    /// (0 along reduced dimensions). Runs of up to 4096 values are summed with SIMD; a total over everything adds
    /// those partial sums in double precision.
    static func reduceSum(
        _ x: UnsafePointer<Float>, _ shape: [Int], _ out: UnsafeMutablePointer<Float>, _ outStrides: [Int]
    ) {
        let rank = shape.count
        let count = shape.reduce(1, *)
        if count == 0 { return }
        // Fold the dimensions into (outer, inner) runs; parallelize over output elements when possible.
        let outCount = Swift.zip(shape, outStrides).reduce(1) { $0 * ($1.1 == 0 ? 1 : $1.0) }
        if outCount == 1 {
            nonisolated(unsafe) let x = x
            let chunks = Swift.max(1, Swift.min(Threads.count, count / 65_536))
            var partial = [Double](repeating: 0, count: chunks)
            partial.withUnsafeMutableBufferPointer { p in
                nonisolated(unsafe) let p = p
                parallelFor(chunks, costPerItem: 1 << 20) { c in
                    let start = c * count / chunks, end = (c + 1) * count / chunks
                    var s: Double = 0
                    for block in Swift.stride(from: start, to: end, by: 4096) {
                        s += Double(sum(x + block, Swift.min(4096, end - block)))
                    }
                    p[c] = s
                }
            }
            out[0] += Float(partial.reduce(0, +))
            return
        }
        // General case: walk x in order; each inner run either reduces to one value or adds elementwise.
        let inner = shape[rank - 1], innerStride = outStrides[rank - 1]
        let outer = count / inner
        var index = [Int](repeating: 0, count: rank)
        for o in 0..<outer {
            var off = 0
            for d in 0..<(rank - 1) { off += index[d] * outStrides[d] }
            let src = x + o * inner
            if innerStride == 0 {
                out[off] += sum(src, inner)
            } else {
                for i in 0..<inner { out[off + i] += src[i] }
            }
            var d = rank - 2
            while d >= 0 {
                index[d] += 1
                if index[d] < shape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
    }
}
