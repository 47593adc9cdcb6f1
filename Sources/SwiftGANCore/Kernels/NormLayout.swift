/// Batch and instance normalization over [N, C, P] buffers (P = H * W). A "group" is the set of values that
/// share one mean and variance: channel c over the whole batch (batch norm) or one plane (instance norm).
struct NormLayout {
    let batch: Int, channels: Int, plane: Int
    /// True for instance norm (a group per sample and channel), false for batch norm (a group per channel).
    let perSample: Bool

    var groups: Int { perSample ? batch * channels : channels }
    var groupSize: Int { perSample ? plane : batch * plane }
    /// Sample-planes of group g.
    @inline(__always) func planes(_ g: Int) -> StrideTo<Int> {
        perSample ? stride(from: g, to: g + 1, by: 1) : stride(from: g, to: batch * channels, by: channels)
    }
    @inline(__always) func channel(ofGroup g: Int) -> Int { perSample ? g % channels : g }

    /// Mean and biased variance of each group (two passes; planes summed with SIMD, planes added in double).
    func statistics(_ x: UnsafePointer<Float>, mean: UnsafeMutablePointer<Float>, variance: UnsafeMutablePointer<Float>)
    {
        nonisolated(unsafe) let x = x, mean = mean, variance = variance
        let l = self
        parallelFor(groups, costPerItem: groupSize) { g in
            var s: Double = 0
            for p in l.planes(g) { s += Double(sum(x + p * l.plane, l.plane)) }
            let m = Float(s / Double(l.groupSize))
            var v: Double = 0
            for p in l.planes(g) { v += Double(squaredDeviations(x + p * l.plane, m, l.plane)) }
            mean[g] = m
            variance[g] = Float(v / Double(l.groupSize))
        }
    }

    /// out = (x - mean) * invstd * weight + bias, with `rectified` max(0, that).
    func normalize(
        _ x: UnsafePointer<Float>, mean: UnsafePointer<Float>, invstd: UnsafePointer<Float>,
        weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>,
        rectified: Bool = false
    ) {
        nonisolated(unsafe) let x = x, mean = mean, invstd = invstd, weight = weight, bias = bias, out = out
        let l = self
        parallelFor(batch * channels, costPerItem: plane) { p in
            let c = p % l.channels, g = l.perSample ? p : c
            let a = invstd[g] * (weight?[c] ?? 1)
            let b = (bias?[c] ?? 0) - mean[g] * a
            let src = x + p * l.plane, dst = out + p * l.plane
            if rectified {
                for i in 0..<l.plane { dst[i] = Swift.max(src[i] * a + b, 0) }
            } else {
                for i in 0..<l.plane { dst[i] = src[i] * a + b }
            }
        }
    }

    /// Fused first-order backward: gx = w * invstd * (g - mean(g) - xhat * mean(g * xhat)) per group, and the
    /// per-group sums of g and g * xhat (for the bias and weight gradients).
    func backward(
        _ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, mean: UnsafePointer<Float>, invstd: UnsafePointer<Float>,
        weight: UnsafePointer<Float>?, gx: UnsafeMutablePointer<Float>,
        sumG: UnsafeMutablePointer<Float>, sumGXhat: UnsafeMutablePointer<Float>
    ) {
        nonisolated(unsafe) let g = g, x = x, mean = mean, invstd = invstd, weight = weight, gx = gx, sumG = sumG,
            sumGXhat = sumGXhat
        let l = self
        parallelFor(groups, costPerItem: 2 * groupSize) { grp in
            let m = mean[grp], s = invstd[grp]
            var sg: Double = 0, sgx: Double = 0
            for p in l.planes(grp) {
                sg += Double(sum(g + p * l.plane, l.plane))
                sgx += Double(centeredDot(g + p * l.plane, x + p * l.plane, m, l.plane)) * Double(s)
            }
            sumG[grp] = Float(sg)
            sumGXhat[grp] = Float(sgx)
            let n = Float(l.groupSize)
            let a = (weight?[l.channel(ofGroup: grp)] ?? 1) * s
            let meanG = Float(sg) / n, meanGX = Float(sgx) / n
            for p in l.planes(grp) {
                let gp = g + p * l.plane, xp = x + p * l.plane, dst = gx + p * l.plane
                for i in 0..<l.plane { dst[i] = a * (gp[i] - meanG - (xp[i] - m) * s * meanGX) }
            }
        }
    }
}
