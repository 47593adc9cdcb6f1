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

    /// out = (x - mean) * invstd * weight + bias, through leakyRelu(negativeSlope) (0: ReLU) where one is given.
    func normalize(
        _ x: UnsafePointer<Float>, mean: UnsafePointer<Float>, invstd: UnsafePointer<Float>,
        weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>,
        negativeSlope: Float? = nil
    ) {
        nonisolated(unsafe) let x = x, mean = mean, invstd = invstd, weight = weight, bias = bias, out = out
        let l = self
        parallelFor(batch * channels, costPerItem: plane) { p in
            let c = p % l.channels, g = l.perSample ? p : c
            let a = invstd[g] * (weight?[c] ?? 1)
            let b = (bias?[c] ?? 0) - mean[g] * a
            let src = x + p * l.plane, dst = out + p * l.plane
            if negativeSlope == 0 {  // ReLU's loop on its own: max, no select on the slope
                for i in 0..<l.plane { dst[i] = Swift.max(src[i] * a + b, 0) }
            } else if let negativeSlope {
                let activation = Fn.LeakyRelu(slope: negativeSlope)
                for i in 0..<l.plane { dst[i] = activation(src[i] * a + b) }
            } else {
                for i in 0..<l.plane { dst[i] = src[i] * a + b }
            }
        }
    }

    /// Fused first-order backward: gx = w * invstd * (g - mean(g) - xhat * mean(g * xhat)) per group, and the
    /// per-group sums of g and g * xhat (for the bias and weight gradients). With `activated`, g is the gradient of
    /// leakyRelu(slope) of the normalized values, whose output is given: the first pass writes its masked form plane by
    /// plane where gx goes and sums it from there, the second updates it in place; no pass of its own over the tensor.
    func backward(
        _ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, mean: UnsafePointer<Float>, invstd: UnsafePointer<Float>,
        weight: UnsafePointer<Float>?, activated: (output: UnsafePointer<Float>, slope: Float)? = nil,
        gx: UnsafeMutablePointer<Float>, sumG: UnsafeMutablePointer<Float>, sumGXhat: UnsafeMutablePointer<Float>
    ) {
        nonisolated(unsafe) let g = g, x = x, mean = mean, invstd = invstd, weight = weight, gx = gx, sumG = sumG,
            sumGXhat = sumGXhat, activatedOutput = activated?.output
        let l = self, mask = Fn.LeakyReluGrad(slope: activated?.slope ?? 0)
        parallelFor(groups, costPerItem: 2 * groupSize) { grp in
            let m = mean[grp], s = invstd[grp]
            var sg: Double = 0, sgx: Double = 0
            for p in l.planes(grp) {
                var gp = g + p * l.plane
                if let y = activatedOutput.map({ $0 + p * l.plane }) {
                    let masked = gx + p * l.plane
                    for i in 0..<l.plane { masked[i] = mask(gp[i], y[i]) }
                    gp = UnsafePointer(masked)
                }
                sg += Double(sum(gp, l.plane))
                sgx += Double(centeredDot(gp, x + p * l.plane, m, l.plane)) * Double(s)
            }
            sumG[grp] = Float(sg)
            sumGXhat[grp] = Float(sgx)
            let n = Float(l.groupSize)
            let a = (weight?[l.channel(ofGroup: grp)] ?? 1) * s
            let (meanG, meanGX) = (Float(sg) / n, Float(sgx) / n)
            for p in l.planes(grp) {
                let xp = x + p * l.plane, dst = gx + p * l.plane
                if activatedOutput == nil {
                    let gp = g + p * l.plane
                    for i in 0..<l.plane { dst[i] = a * (gp[i] - meanG - (xp[i] - m) * s * meanGX) }
                } else {  // in place: through one pointer, so that the loop is vectorized (a copy would alias)
                    for i in 0..<l.plane { dst[i] = a * (dst[i] - meanG - (xp[i] - m) * s * meanGX) }
                }
            }
        }
    }
}
