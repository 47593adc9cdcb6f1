/// StyleGAN2's synthesis layers computed for inference with nothing written twice: the style scales the input
/// channels inside the Winograd input transform (or is folded into a per-sample copy of the weight by the other
/// algorithms), and demodulation, noise, bias, activation and clamp are applied to each output row by the pass that
/// writes it (`LayerEpilogue`), instead of by five whole-tensor ops.

/// What a synthesis layer applies to each output of its convolution, in NVlabs' order:
/// y = clamp(act(conv * scale[n, o] + noise[y, x] * strength + bias[o]) * gain, -limit, limit), with act a leaky
/// ReLU of `slope` (1: none). Rounds as the composed ops do.
struct LayerEpilogue {
    /// The demodulation [N, O], or nil for none.
    let scale: UnsafePointer<Float>?
    /// Noise [H, W] shared by the batch, or [N, H, W] when `noisePerSample`; nil for none.
    let noise: UnsafePointer<Float>?
    let noisePerSample: Bool
    let noiseStrength: Float
    /// The bias [O].
    let bias: UnsafePointer<Float>
    /// The leaky ReLU's negative slope (1: linear), the gain after it, and the clamp bound after the gain.
    let slope: Float, gain: Float, limit: Float?
    /// The output's channels and plane.
    let channels: Int, height: Int, width: Int

    /// Applies the epilogue to `count` outputs of row y of plane (n, o), from column 0.
    @inline(__always)
    func apply(_ row: UnsafeMutablePointer<Float>, sample n: Int, channel o: Int, y: Int, count: Int) {
        let s = SIMD8<Float>(repeating: scale.map { $0[n * channels + o] } ?? 1)
        let b = SIMD8<Float>(repeating: bias[o]), strength = SIMD8<Float>(repeating: noiseStrength)
        let (slope, gain) = (SIMD8<Float>(repeating: slope), SIMD8<Float>(repeating: gain))
        let bound = SIMD8<Float>(repeating: limit ?? .infinity)
        let noiseRow = noise.map { $0 + (noisePerSample ? n * height * width : 0) + y * width }
        forEachVector(count) { x in
            let k = Swift.min(8, count - x)
            var v = load8(row + x, k)
            if scale != nil { v = v * s }
            if let noiseRow { v = v + load8(noiseRow + x, k) * strength }
            v = v + b
            v = v.replacing(with: v * slope, where: v .< 0) * gain
            if limit != nil {  // (SIMD's `clamped` is not inlined)
                v = v.replacing(with: bound, where: v .> bound).replacing(with: -bound, where: v .< -bound)
            }
            store8(v, row + x, k)
        }
    }

    /// Applies the epilogue to the whole plane (n, o) at `plane`.
    func apply(plane: UnsafeMutablePointer<Float>, sample n: Int, channel o: Int) {
        for y in 0..<height { apply(plane + y * width, sample: n, channel: o, y: y, count: width) }
    }
}

/// The style scale of a Winograd convolution's input channels and the epilogue of its output rows.
struct WinogradModulation {
    /// s [N, C]: input channel c of sample n is multiplied by s[n, c].
    let inputScale: UnsafePointer<Float>
    let epilogue: LayerEpilogue
}

/// 1 / sqrt(sum over c, taps of (weight[o, c] style[n, c])^2 + eps) for weight [O, C, taps]: the demodulation
/// [N, O] of StyleGAN2, into `out`.
func computeDemodulation(
    weight: UnsafePointer<Float>, style: UnsafePointer<Float>, batch: Int, outChannels: Int, inChannels: Int,
    taps: Int, eps: Float, into out: UnsafeMutablePointer<Float>
) {
    nonisolated(unsafe) let (w, s, out) = (weight, style, out)
    let (o, c) = (outChannels, inChannels)
    parallelFor(o, costPerItem: c * (taps + batch)) { oi in
        withUnsafeTemporaryAllocation(of: Float.self, capacity: c) { energy in
            for ci in 0..<c {
                let k = w + (oi * c + ci) * taps
                var e: Float = 0
                for t in 0..<taps { e += k[t] * k[t] }
                energy[ci] = e
            }
            for n in 0..<batch {
                let style = s + n * c
                var total: Float = 0
                for ci in 0..<c { total += style[ci] * style[ci] * energy[ci] }
                out[n * o + oi] = 1 / (total + eps).squareRoot()
            }
        }
    }
}

extension ConvGeometry {
    /// out = epilogue(conv(image * style, weight)) for weight [O, C, kh, kw] and style [N, C]: by Winograd with the
    /// modulation inside its transforms where the algorithm table chooses Winograd; else, where an image is smaller
    /// than the weight, the style scales the images and the batch shares the weight; else one sample at a time with
    /// the style folded into the weight.
    func modulatedForward(
        image: UnsafePointer<Float>, weight: UnsafePointer<Float>, style: UnsafePointer<Float>,
        epilogue: LayerEpilogue, out: UnsafeMutablePointer<Float>
    ) throws {
        switch algorithm(.forward) {
        case .winograd, .winogradF4:
            let modulation = WinogradModulation(inputScale: style, epilogue: epilogue)
            return try winogradForward(image: image, weight: weight, out: out, modulation: modulation)
        default: break
        }
        let taps = kernelHeight * kernelWidth
        guard inPlane < outChannels * taps else {
            let one = withBatch(1)
            return try Scratch.with(outChannels * inChannels * taps) { folded in
                for n in 0..<batch {
                    foldStyle(weight, style + n * inChannels, taps: taps, into: folded)
                    let sampleOut = out + n * outChannels * outPlane
                    try one.forward(
                        image: image + n * inChannels * inPlane, weight: folded, bias: nil, out: sampleOut)
                    applyEpilogue(epilogue, sample: n, planes: sampleOut)
                }
            }
        }
        try Scratch.with(batch * inChannels * inPlane) { scaled in
            scalePlanes(image, by: style, planes: batch * inChannels, plane: inPlane, into: scaled)
            try forward(image: scaled, weight: weight, bias: nil, out: out)
            for n in 0..<batch { applyEpilogue(epilogue, sample: n, planes: out + n * outChannels * outPlane) }
        }
    }

    /// out = epilogue(fir(conv_transpose(image * style, weight))) for this geometry's image gradient (the transposed
    /// convolution from its outputs [N, C, h, w] to its images [N, O, H, W]), NVlabs' weight [O, C, 3, 3] and the FIR
    /// resample `fir` of the [H, W] planes: the conv-transpose by output phases (`phaseUpConvolution`), the style
    /// scaling the images.
    func modulatedTransposedForward(
        image: UnsafePointer<Float>, weight: UnsafePointer<Float>, style: UnsafePointer<Float>,
        fir: SeparableResample, epilogue: LayerEpilogue, out: UnsafeMutablePointer<Float>
    ) throws {
        let (firPlane, planes) = (fir.rows.outputs * fir.cols.outputs, inChannels)
        nonisolated(unsafe) let epilogue = epilogue
        try phaseUpConvolution(image: image, style: style, weight: weight) { n0, count, upsampled in
            for s in 0..<count {
                let n = n0 + s
                fir.forward(upsampled + s * planes * inPlane, planes: planes, out: out + n * planes * firPlane) {
                    p, plane in epilogue.apply(plane: plane, sample: n, channel: p)
                }
            }
        }
    }

    /// This geometry for `n` samples.
    private func withBatch(_ n: Int) -> ConvGeometry {
        ConvGeometry(
            batch: n, inChannels: inChannels, inHeight: inHeight, inWidth: inWidth, outChannels: outChannels,
            outHeight: outHeight, outWidth: outWidth, kernelHeight: kernelHeight, kernelWidth: kernelWidth,
            stride: stride, padding: padding)
    }

    /// scaled[p] = image[p] * style[p] for `planes` planes of `plane` floats: the style [N, C] of images [N, C, plane].
    private func scalePlanes(
        _ image: UnsafePointer<Float>, by style: UnsafePointer<Float>, planes: Int, plane: Int,
        into scaled: UnsafeMutablePointer<Float>
    ) {
        nonisolated(unsafe) let (x, s, scaled) = (image, style, scaled)
        parallelFor(planes, costPerItem: plane) { p in
            let factor = s[p]
            for i in 0..<plane { scaled[p * plane + i] = x[p * plane + i] * factor }
        }
    }

    /// folded[o, c] = weight[o, c] * style[c] for weight [O, C, taps] (this geometry's channels).
    private func foldStyle(
        _ weight: UnsafePointer<Float>, _ style: UnsafePointer<Float>, taps: Int,
        into folded: UnsafeMutablePointer<Float>
    ) {
        nonisolated(unsafe) let (w, s, f) = (weight, style, folded)
        let (o, c) = (outChannels, inChannels)
        parallelFor(o, costPerItem: c * taps) { oi in
            for ci in 0..<c {
                let (src, dst, scale) = (w + (oi * c + ci) * taps, f + (oi * c + ci) * taps, s[ci])
                for t in 0..<taps { dst[t] = src[t] * scale }
            }
        }
    }

    /// Applies `epilogue` to every output plane of sample n, at `planes`.
    private func applyEpilogue(_ epilogue: LayerEpilogue, sample n: Int, planes: UnsafeMutablePointer<Float>) {
        nonisolated(unsafe) let planes = planes
        parallelFor(outChannels, costPerItem: outPlane) { o in
            epilogue.apply(plane: planes + o * outPlane, sample: n, channel: o)
        }
    }
}
