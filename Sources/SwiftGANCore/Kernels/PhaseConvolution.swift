/// 4x4 stride-2 convolutions with padding 1 (every DCGAN layer but the first and last, in both nets: conv-transpose
/// is this convolution's image gradient) as 2x2 stride-1 convolutions over the four phases of the image:
/// x[c, 2Y + r - 1, 2X + s - 1] for r, s in {0, 1} is channel 4c + 2r + s of a phase image of (H/2 + 1) x (W/2 + 1)
/// (zero where the padding was), and weight[o, c, 2a + r, 2b + s] is tap (a, b) of its kernel. The 2x2 convolution
/// runs by Winograd F(4x4, 2x2) or F(2x2, 2x2) (`ConvAlgorithm`): 25 multiplies per 16 outputs, or 9 per 4, instead of
/// the 16 per output of im2col + GEMM.
///
/// Splitting into phases is a permutation of the image (each pixel lands in exactly one phase), so the image
/// gradient gathers straight back from the phase gradient and the weight gradient from the phase kernel's.
extension ConvGeometry {
    /// The equivalent 2x2 stride-1 unpadded convolution over the phase image.
    var phaseGeometry: ConvGeometry {
        ConvGeometry(
            batch: batch, inChannels: 4 * inChannels, inHeight: inHeight / 2 + 1, inWidth: inWidth / 2 + 1,
            outChannels: outChannels, outHeight: outHeight, outWidth: outWidth,
            kernelHeight: 2, kernelWidth: 2, stride: 1, padding: 0)
    }

    /// Runs body(phase geometry, phase kernel buffer) with a scratch buffer of that size.
    private func withPhaseKernels(_ body: (ConvGeometry, UnsafeMutablePointer<Float>) throws -> Void) throws {
        let phases = phaseGeometry
        try Scratch.with(outChannels * phases.colRows) { kernels in try body(phases, kernels) }
    }

    /// Runs body(phase geometry, phase kernels) with `weight` permuted into its phase kernels, which stand for it in a
    /// `WeightCache` that keeps it (so its Winograd forms are kept like a weight's own).
    private func withPhaseKernels(
        of weight: UnsafePointer<Float>, _ body: (ConvGeometry, UnsafeMutablePointer<Float>) throws -> Void
    ) throws {
        try withPhaseKernels { phases, w in
            permuteKernels(weight, into: w, toPhases: true)
            try WeightCache.withRearrangement(w, of: weight, .phaseKernels) { try body(phases, w) }
        }
    }

    /// Runs body(input, readsPhases) with the phase convolution's input: the phase image of `image`, or `image` itself
    /// (readsPhases true) where the phase convolution gathers samples into its vector lanes, reading the phases from
    /// the image as it does (`WinogradConvolution.readsPhases`).
    private func withPhaseInput(
        _ image: UnsafePointer<Float>, _ phases: ConvGeometry, _ body: (UnsafePointer<Float>, Bool) throws -> Void
    ) throws {
        guard phases.winogradTilesInRows else { return try body(image, true) }
        try Scratch.with(phases.batch * phases.inChannels * phases.inPlane) { s in
            splitPhases(image, into: s)
            try body(s, false)
        }
    }

    /// out = conv(image, weight) (no bias).
    func phaseForward(
        image: UnsafePointer<Float>, weight: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>
    ) throws {
        try withPhaseKernels(of: weight) { phases, w in
            try withPhaseInput(image, phases) { s, readsPhases in
                try phases.winogradForward(image: s, weight: w, out: out, readsPhases: readsPhases)
            }
        }
    }

    /// imageGrad = conv^T(outGrad, weight).
    func phaseBackwardData(
        outGrad: UnsafePointer<Float>, weight: UnsafePointer<Float>, imageGrad: UnsafeMutablePointer<Float>
    ) throws {
        try withPhaseKernels(of: weight) { phases, w in
            try Scratch.with(phases.batch * phases.inChannels * phases.inPlane) { ds in
                try phases.winogradBackwardData(outGrad: outGrad, weight: w, imageGrad: ds)
                mergePhases(ds, into: imageGrad)
            }
        }
    }

    /// imageGrad = conv^T(outGrad, weight) by image phases, with no phase image and no col2im: pixel (2Y + r, 2X + q)
    /// of the image gradient sums outGrad[o, Y + a + r - 1, X + b + q - 1] * weight[o, c, 3 - 2a - r, 3 - 2b - q] over
    /// o and a, b in {0, 1}. So each of the four phases is a 2x2 stride-1 convolution of the output gradient, the size
    /// of the output gradient, padded by 1 - r rows above and 1 - q columns left: a 2x2 Winograd convolution with that
    /// origin.
    func phaseSplitImageGradient(
        outGrad: UnsafePointer<Float>, weight: UnsafePointer<Float>, imageGrad: UnsafeMutablePointer<Float>
    ) throws {
        let (o, c, ho, wo) = (outChannels, inChannels, outHeight, outWidth), plane = batch * c * ho * wo
        let phase = ConvGeometry(
            batch: batch, inChannels: o, inHeight: ho, inWidth: wo, outChannels: c, outHeight: ho, outWidth: wo,
            kernelHeight: 2, kernelWidth: 2, stride: 1, padding: 1)
        try Scratch.with(4 * plane) { phases in
            try Scratch.with(4 * c * o * 4) { kernels in
                // The four phases' kernels at once: each 4x4 kernel is one cache line, read once as a vector.
                // Phase (r, q) takes taps (a, b) = kernel[3 - 2a - r, 3 - 2b - q].
                nonisolated(unsafe) let (w, k) = (weight, kernels)
                let phaseStride = c * o * 4
                parallelFor(c, costPerItem: 16 * o) { ci in
                    for oi in 0..<o {
                        let v = UnsafeRawPointer(w + (oi * c + ci) * 16).loadUnaligned(as: SIMD16<Float>.self)
                        let dst = UnsafeMutableRawPointer(k + (ci * o + oi) * 4)
                        dst.storeBytes(of: SIMD4(v[15], v[13], v[7], v[5]), as: SIMD4<Float>.self)
                        (dst + 4 * phaseStride).storeBytes(of: SIMD4(v[14], v[12], v[6], v[4]), as: SIMD4<Float>.self)
                        (dst + 8 * phaseStride).storeBytes(of: SIMD4(v[11], v[9], v[3], v[1]), as: SIMD4<Float>.self)
                        (dst + 12 * phaseStride).storeBytes(of: SIMD4(v[10], v[8], v[2], v[0]), as: SIMD4<Float>.self)
                    }
                }
                for r in 0..<2 {
                    for q in 0..<2 {
                        let k = kernels + (2 * r + q) * c * o * 4
                        try WeightCache.withRearrangement(k, of: weight, .imageGradientPhase(2 * r + q)) {
                            try phase.winogradForward(
                                image: outGrad, weight: k, out: phases + (2 * r + q) * plane, origin: (1 - r, 1 - q))
                        }
                    }
                }
            }
            nonisolated(unsafe) let (phases, gx) = (UnsafePointer(phases), imageGrad)
            let (h, w) = (inHeight, inWidth)
            parallelFor(batch * c, costPerItem: h * w) { nc in
                for y in 0..<h {
                    let even = phases + (2 * (y & 1)) * plane + (nc * ho + y / 2) * wo
                    interleave(even, even + plane, w, into: gx + (nc * h + y) * w)
                }
            }
        }
    }

    /// weightGrad = the weight gradient of `phaseForward`.
    func phaseBackwardWeight(
        image: UnsafePointer<Float>, outGrad: UnsafePointer<Float>, weightGrad: UnsafeMutablePointer<Float>
    ) throws {
        try withPhaseKernels { phases, dw in
            try withPhaseInput(image, phases) { s, readsPhases in
                try phases.winogradBackwardWeight(image: s, outGrad: outGrad, weightGrad: dw, readsPhases: readsPhases)
            }
            permuteKernels(dw, into: weightGrad, toPhases: false)
        }
    }

    /// `phaseForward` and `phaseBackwardWeight` of the same image (conv-transpose's backward needs both), with one
    /// phase image for both where there is one.
    func phaseForwardAndBackwardWeight(
        image: UnsafePointer<Float>, weight: UnsafePointer<Float>, outGrad: UnsafePointer<Float>,
        out: UnsafeMutablePointer<Float>, weightGrad: UnsafeMutablePointer<Float>
    ) throws {
        try withPhaseKernels(of: weight) { phases, w in
            try withPhaseInput(image, phases) { s, readsPhases in
                try phases.winogradForward(image: s, weight: w, out: out, readsPhases: readsPhases)
                // w is free again (no form is derived from it after this): it takes the phase kernels' gradient
                try phases.winogradBackwardWeight(image: s, outGrad: outGrad, weightGrad: w, readsPhases: readsPhases)
            }
            permuteKernels(w, into: weightGrad, toPhases: false)
        }
    }

    /// The phase image of `image`: s[n, 4c + 2r + q, Y, X] = image[n, c, 2Y + r - 1, 2X + q - 1], zero outside.
    /// Image row y is phase row (y + 1) / 2 of phases r = (y + 1) % 2, q = 0 (its odd columns) and q = 1 (even).
    private func splitPhases(_ image: UnsafePointer<Float>, into s: UnsafeMutablePointer<Float>) {
        nonisolated(unsafe) let (x, s) = (image, s)
        let (h, w, hp, wp) = (inHeight, inWidth, inHeight / 2 + 1, inWidth / 2 + 1)
        parallelFor(batch * inChannels, costPerItem: 4 * hp * wp) { nc in
            let src = x + nc * h * w, phases = s + nc * 4 * hp * wp
            @inline(__always) func row(_ r: Int, _ q: Int, _ py: Int) -> UnsafeMutablePointer<Float> {
                phases + ((2 * r + q) * hp + py) * wp
            }
            for q in 0..<2 {
                row(0, q, 0).update(repeating: 0, count: wp)
                row(1, q, hp - 1).update(repeating: 0, count: wp)
            }
            for y in 0..<h {
                let (py, r) = ((y + 1) / 2, (y + 1) % 2)
                let (q0, q1) = (row(r, 0, py), row(r, 1, py))  // image columns 2X - 1 and 2X
                q0[0] = 0
                q1[wp - 1] = 0
                deinterleave(src + y * w, w, shift: 1, even: q0, odd: q1)
            }
        }
    }

    /// The adjoint of `splitPhases` (a gather, since every pixel is in exactly one phase): the image gradient.
    private func mergePhases(_ ds: UnsafePointer<Float>, into imageGrad: UnsafeMutablePointer<Float>) {
        nonisolated(unsafe) let (ds, gx) = (ds, imageGrad)
        let (h, w, hp, wp) = (inHeight, inWidth, inHeight / 2 + 1, inWidth / 2 + 1)
        parallelFor(batch * inChannels, costPerItem: h * w) { nc in
            let dst = gx + nc * h * w, phases = ds + nc * 4 * hp * wp
            for y in 0..<h {
                let (py, r) = ((y + 1) / 2, (y + 1) % 2)
                let (q0, q1) = (phases + ((2 * r) * hp + py) * wp, phases + ((2 * r + 1) * hp + py) * wp)
                interleave(q1, q0 + 1, w, into: dst + y * w)
            }
        }
    }

    /// Kernels [O, C, 4, 4] to phase kernels [O, 4C, 2, 2] (kernel[o, c, 2a + r, 2b + q] is tap (a, b) of channel
    /// 4c + 2r + q), or back.
    /// A kernel is one vector: phase p = 2r + q's tap 2a + b is element (2a + r) * 4 + 2b + q of the 4x4 kernel.
    private func permuteKernels(_ from: UnsafePointer<Float>, into to: UnsafeMutablePointer<Float>, toPhases: Bool) {
        nonisolated(unsafe) let (from, to) = (from, to)
        parallelFor(outChannels * inChannels, costPerItem: 16) { oc in
            let v = UnsafeRawPointer(from + oc * 16).loadUnaligned(as: SIMD16<Float>.self)
            let permuted =
                toPhases
                ? SIMD16(
                    v[0], v[2], v[8], v[10], v[1], v[3], v[9], v[11], v[4], v[6], v[12], v[14], v[5], v[7], v[13], v[15]
                )
                : SIMD16(
                    v[0], v[4], v[1], v[5], v[8], v[12], v[9], v[13], v[2], v[6], v[3], v[7], v[10], v[14], v[11], v[15]
                )
            UnsafeMutableRawPointer(to + oc * 16).storeBytes(of: permuted, as: SIMD16<Float>.self)
        }
    }
}
