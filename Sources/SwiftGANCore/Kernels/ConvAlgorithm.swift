/// Which kernel computes each pass of a convolution: the one table of the engine's convolution algorithms.
///
/// A convolution has three passes over one `ConvGeometry` (conv-transpose runs them with the roles swapped: its
/// forward pass is the image gradient). `ConvGeometry.algorithm(_:)` maps a pass and a geometry to one
/// `ConvAlgorithm`, and every entry point (`forward`, `backwardData`, `backwardWeight`,
/// `forwardAndBackwardWeight`) dispatches on it; the thresholds below are the only tuned numbers in that choice.

/// A pass of a convolution.
public enum ConvPass: String, CaseIterable, Sendable {
    /// out = conv(image, weight): conv2d's forward pass, and conv-transpose's image gradient.
    case forward
    /// The gradient with respect to the image: conv2d's input gradient, and conv-transpose's forward pass.
    case imageGradient = "image_gradient"
    /// The gradient with respect to the weight.
    case weightGradient = "weight_gradient"
}

/// How a convolution pass is computed; all are exact up to float rounding.
public enum ConvAlgorithm: String, CaseIterable, Sendable {
    /// The kernel covers the whole unpadded image: one GEMM, like a fully connected layer (DCGAN's first G and last
    /// D layers).
    case fullyConnected = "fully_connected"
    /// A 1x1 stride-1 unpadded kernel: a GEMM on the image itself, no im2col.
    case pointwise
    /// Register-blocked loops for stride 1 and very few output channels (CycleGAN's last 7x7 conv to RGB,
    /// PatchGAN's last conv; `DirectConvolution.swift`).
    case direct
    /// Winograd F(2x2, 3x3), F(2x2, 2x2) or F(2x2, 4x4) for stride-1 3x3, 2x2 and 4x4 kernels
    /// (`WinogradConvolution.swift`).
    case winograd
    /// Winograd F(4x4, 3x3) or F(4x4, 2x2) on wide enough planes: 36 multiplies per 4x4 outputs of a 3x3 kernel,
    /// against F(2x2, 3x3)'s 64 and direct convolution's 144; 25 for a 2x2 kernel, against 36 and 64. For 4x4 kernels,
    /// F(3x3, 4x4): 36 per 3x3 outputs, against F(2x2, 4x4)'s 25 per 2x2 and direct convolution's 144.
    case winogradF4 = "winograd_f4"
    /// A 4x4 stride-2 convolution as a 2x2 Winograd convolution over the image's four phases; for the image
    /// gradient, that convolution's own image gradient onto the phase image (`PhaseConvolution.swift`).
    case phases
    /// The image gradient of a 4x4 stride-2 convolution as four 2x2 Winograd convolutions of the output gradient, one
    /// per image phase (`phaseSplitImageGradient`).
    case splitPhases = "split_phases"
    /// The image gradient of a 3x3 stride-2 convolution with padding 1 of an even-sized image (the forward pass of
    /// CycleGAN's up-convolutions) by the phases of its output: four GEMMs, no column matrix, no col2im
    /// (`PhaseUpConvolution.swift`).
    case upPhases = "up_phases"
    /// The forward pass on the packed GEMM's micro-kernel, with im2col written one column panel of 32 output pixels
    /// at a time (AVX-512 builds; `PanelConvolution.swift`).
    case panels
    /// im2col/col2im over the image split into its phases, with one GEMM per tile (stride 2, even sizes).
    case stride2Im2col = "stride2_im2col"
    /// im2col/col2im with one GEMM per tile: everything else.
    case im2col
}

extension ConvGeometry {
    /// The most output channels the direct kernels take (more make a GEMM worth its im2col).
    static let directMaxOutputChannels = 4
    /// The fewest channels on either side for which Winograd's transforms pay against its smaller GEMMs.
    static let winogradMinChannels = 16
    /// The fewest samples for Winograd on planes whose rows hold fewer than eight F(2x2, .) tiles (narrower than 15):
    /// those put eight samples in the vector lanes, so with fewer samples most lanes, and GEMM columns, are empty and
    /// im2col does less work (StyleGAN's 4x4 and 8x8 layers at batch 1).
    static let winogradMinSamplesInLanes = 4
    /// The narrowest plane (output, or image for the image gradient) on which 3x3 kernels run F(4x4, 3x3) whatever
    /// the batch: its tiles fill the vector lanes with rows of eight tiles from 32 columns on.
    static let winogradF4MinWidth = 32
    /// The narrowest plane on which 3x3 kernels run F(4x4, 3x3) with samples in the lanes: where they are full (eight
    /// samples), or where F(2x2, 3x3) would put samples in its lanes too (planes narrower than 15). StyleGAN's 8x8 and
    /// 16x16 layers at batch 16: 0.53-0.78 of F(2x2)'s time; at 4x4, one tile per sample, 512 channels lose (1.4).
    static let winogradF4SamplesMinWidth = 8
    /// The narrowest plane on which 2x2 kernels run F(4x4, 2x2) (in rows from 29 columns, else with samples in the
    /// lanes): on DCGAN's 4x4 outputs, one tile per sample, F(2x2, 2x2) is as fast.
    static let winogradF4x2MinWidth = 8
    /// The largest share of F(2x2, 4x4)'s multiplies at which 4x4 kernels run F(3x3, 4x4) (on rows of five or more
    /// tiles): PatchGAN's 15-wide output needs 0.56 of them (forward 0.88x the time, weight gradient 0.70x), its image
    /// gradient's 16-wide plane 0.81, where the half-filled last vectors and the larger weight transform lose (1.2x).
    static let winogradF3x4MaxMultiplyRatio = 0.75
    /// The smallest output side at which 4x4 stride-2 convolutions run over phases. At the next smaller side (4: four
    /// F(2x2, 2x2) tiles per sample) the forward pass and the weight gradient do so from
    /// `phasesMinSamplesAtSmallOutputs` samples or `phasesMinChannelsAtSmallOutputs` output channels up: with fewer,
    /// the transformed GEMMs are too narrow, or too shallow, to pay for the transforms.
    static let phasesMinOutputSide = 8
    static let phasesMinSamplesAtSmallOutputs = 32
    static let phasesMinChannelsAtSmallOutputs = 512
    /// The narrowest output whose image gradient runs onto the phase image (one row and column larger than the
    /// output); narrower outputs of `phasesMinOutputSide` and up split the gradient by image phase instead, where
    /// the extra row and column would cost a whole extra tile row and column. From `winogradMinSamplesInLanes`
    /// samples, whose split convolutions put samples in their lanes, the split runs up to
    /// `phaseImageGradientMinWidthInLanes` (DCGAN-64's 16x16 outputs at batch 64: 0.78-0.80 per pass, step 0.96; at
    /// batch 4 0.79-0.85, at batch 1 and 2 it loses, 1.05-1.09). At 4x4 outputs the split pays only with both
    /// `splitPhasesMinChannelsAtSmallOutputs` output channels and `splitPhasesMinSamplesAtSmallOutputs` samples
    /// (DCGAN-32's 256-channel and DCGAN-64's 512-channel layers at batch 64: DCGAN-32's step 0.95); im2col is faster
    /// below (128 channels: 1.07).
    static let phaseImageGradientMinWidth = 16
    static let phaseImageGradientMinWidthInLanes = 32
    static let splitPhasesMinChannelsAtSmallOutputs = 256
    static let splitPhasesMinSamplesAtSmallOutputs = 64

    /// The algorithm of `pass` for this geometry.
    public func algorithm(_ pass: ConvPass) -> ConvAlgorithm {
        if isFullyConnected { return .fullyConnected }
        if isPointwise { return .pointwise }
        if stride == 1 && outChannels <= ConvGeometry.directMaxOutputChannels { return .direct }
        let width = pass == .imageGradient ? inWidth : outWidth
        if isWinogradShape {
            let lanesFilled = batch >= ConvGeometry.winogradMinSamplesInLanes, lanesFull = batch >= 8
            let twoByTwoInRows = (width + 1) / 2 >= 8  // F(2x2, .) puts tile rows in its lanes
            if kernelHeight == 3 && width >= ConvGeometry.winogradF4MinWidth { return .winogradF4 }
            if kernelHeight == 3 && width >= ConvGeometry.winogradF4SamplesMinWidth
                && (lanesFull || lanesFilled && !twoByTwoInRows)
            {
                return .winogradF4
            }
            if kernelHeight == 2 && width >= ConvGeometry.winogradF4x2MinWidth && (lanesFilled || (width + 3) / 4 >= 8)
            {
                return .winogradF4
            }
            if kernelHeight == 4 && (width + 2) / 3 >= WinogradF3x4.fewestRowTiles
                && f3x4MultiplyRatio(pass) <= ConvGeometry.winogradF3x4MaxMultiplyRatio
            {
                return .winogradF4
            }
            if lanesFilled || twoByTwoInRows { return .winograd }
        }
        if isPhaseShape {
            switch pass {
            case .forward, .weightGradient: return .phases
            case .imageGradient:
                let samplesInLanes = batch >= ConvGeometry.winogradMinSamplesInLanes
                let phaseImageMinWidth =
                    samplesInLanes
                    ? ConvGeometry.phaseImageGradientMinWidthInLanes : ConvGeometry.phaseImageGradientMinWidth
                if outWidth >= phaseImageMinWidth { return .phases }
                let side = ConvGeometry.phasesMinOutputSide
                if outHeight >= side && outWidth >= side
                    || outChannels >= ConvGeometry.splitPhasesMinChannelsAtSmallOutputs
                        && batch >= ConvGeometry.splitPhasesMinSamplesAtSmallOutputs
                {
                    return .splitPhases
                }
            }
        }
        if pass == .imageGradient && isUpPhaseShape { return .upPhases }
        if pass == .forward && usesPanelForward { return .panels }
        return usesStride2Phases ? .stride2Im2col : .im2col
    }

    /// F(3x3, 4x4)'s multiplies over F(2x2, 4x4)'s on the plane that `pass` tiles (the image for the image gradient,
    /// else the output).
    private func f3x4MultiplyRatio(_ pass: ConvPass) -> Double {
        let (h, w) = pass == .imageGradient ? (inHeight, inWidth) : (outHeight, outWidth)
        let large: Int = 36 * ((h + 2) / 3) * ((w + 2) / 3), small: Int = 25 * ((h + 1) / 2) * ((w + 1) / 2)
        return Double(large) / Double(small)
    }

    /// 3x3, stride 2, padding 1, an image twice the output's size, and enough channels on both sides for GEMMs.
    private var isUpPhaseShape: Bool {
        kernelHeight == 3 && kernelWidth == 3 && stride == 2 && padding == 1 && inHeight == 2 * outHeight
            && inWidth == 2 * outWidth && inChannels >= ConvGeometry.winogradMinChannels
            && outChannels >= ConvGeometry.winogradMinChannels
    }

    /// Stride 1, a square 3x3, 2x2 or 4x4 kernel, padding below the kernel size (so the image gradient is again such
    /// a convolution), and enough channels on both sides.
    private var isWinogradShape: Bool {
        stride == 1 && kernelHeight == kernelWidth && (2...4).contains(kernelHeight) && padding < kernelHeight
            && inChannels >= ConvGeometry.winogradMinChannels && outChannels >= ConvGeometry.winogradMinChannels
    }

    /// 4x4, stride 2, padding 1, even sizes, a large enough output, and a phase convolution that is Winograd's.
    private var isPhaseShape: Bool {
        let side = ConvGeometry.phasesMinOutputSide
        let largeEnough =
            outHeight >= side && outWidth >= side
            || outHeight >= side / 2 && outWidth >= side / 2
                && (batch >= ConvGeometry.phasesMinSamplesAtSmallOutputs
                    || outChannels >= ConvGeometry.phasesMinChannelsAtSmallOutputs)
        return kernelHeight == 4 && kernelWidth == 4 && stride == 2 && padding == 1 && inHeight % 2 == 0
            && inWidth % 2 == 0 && largeEnough
            && [.winograd, .winogradF4].contains(phaseGeometry.algorithm(.forward))
    }

    /// Whether im2col and col2im split the image into phases: stride 2, even sizes, output half the input, tap
    /// shifts of at most one.
    var usesStride2Phases: Bool {
        stride == 2 && inHeight % 2 == 0 && inWidth % 2 == 0 && outHeight == inHeight / 2 && outWidth == inWidth / 2
            && padding >= 1 && padding <= 2 && kernelHeight - 1 - padding <= 3 && kernelWidth - 1 - padding <= 3
    }
}
