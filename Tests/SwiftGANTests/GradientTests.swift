import XCTest

@testable import SwiftGANCore
@testable import SwiftGANDistributed
@testable import SwiftGANModels
@testable import SwiftGANNN
@testable import SwiftGANOptim

/// Gradients of ops and code paths that the PyTorch fixtures do not cover, against finite differences.
final class GradientTests: XCTestCase {
    let tolerance: Float = 2e-2

    /// Direct-loop conv2d, the reference for the other kernels: the output and, for an output gradient g, the image and
    /// weight gradients.
    func naiveConv(
        _ x: Tensor, _ w: Tensor, stride: Int, padding: Int,
        outGrad g: Tensor? = nil
    ) throws -> (out: Tensor, imageGrad: Tensor, weightGrad: Tensor) {
        let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (o, kh, kw) = (w.shape[0], w.shape[2], w.shape[3])
        let (ho, wo) = ((h + 2 * padding - kh) / stride + 1, (wd + 2 * padding - kw) / stride + 1)
        let y = try Tensor(zeros: [n, o, ho, wo]), gx = try Tensor(zeros: x.shape), gw = try Tensor(zeros: w.shape)
        for b in 0..<n {
            for oc in 0..<o {
                for oy in 0..<ho {
                    for ox in 0..<wo {
                        let yi = ((b * o + oc) * ho + oy) * wo + ox, gv = g?.data[yi] ?? 0
                        var s: Float = 0
                        for ic in 0..<c {
                            for i in 0..<kh {
                                for j in 0..<kw {
                                    let iy = oy * stride - padding + i, ix = ox * stride - padding + j
                                    guard iy >= 0 && iy < h && ix >= 0 && ix < wd else { continue }
                                    let xi = ((b * c + ic) * h + iy) * wd + ix, wi = ((oc * c + ic) * kh + i) * kw + j
                                    s += x.data[xi] * w.data[wi]
                                    gx.data[xi] += gv * w.data[wi]
                                    gw.data[wi] += gv * x.data[xi]
                                }
                            }
                        }
                        y.data[yi] = s
                    }
                }
            }
        }
        return (y, gx, gw)
    }

    func dot(_ a: Tensor, _ b: Tensor) -> Double {
        (0..<a.count).reduce(0) { $0 + Double(a.data[$1]) * Double(b.data[$1]) }
    }

    func testConvolutionPathsInRowBands() throws {
        // A small column budget forces one-sample tiles split into bands of output rows (and Winograd tiles into
        // chunks).
        let saved = ConvGeometry.columnBudget
        ConvGeometry.columnBudget = 600
        defer { ConvGeometry.columnBudget = saved }
        try testConvolutionPaths()
    }

    /// A convolution case: input and weight shapes (conv2d's layouts, or conv_transpose2d's when `transposed`), stride,
    /// padding, and the algorithm of each pass (forward, image gradient, weight gradient) of ConvAlgorithm.swift's
    /// table, with `panels` when the forward pass runs on panels in builds with `PackedGEMM` (AVX-512). (A
    /// conv-transpose's passes are those of the conv2d whose image gradient it is.)
    struct ConvCase {
        let x: [Int], w: [Int], stride: Int, padding: Int
        let algorithms: [ConvAlgorithm]
        var transposed = false

        init(
            _ x: [Int], _ w: [Int], _ stride: Int, _ padding: Int, _ algorithms: [ConvAlgorithm],
            panels: Bool = false, transposed: Bool = false
        ) {
            (self.x, self.w, self.stride, self.padding, self.transposed) = (x, w, stride, padding, transposed)
            self.algorithms = panels && PackedGEMM.isAvailable ? [.panels] + algorithms.dropFirst() : algorithms
        }

        var geometry: ConvGeometry {
            if transposed {
                let (h, wd) = ((x[2] - 1) * stride - 2 * padding + w[2], (x[3] - 1) * stride - 2 * padding + w[3])
                return ConvGeometry(
                    batch: x[0], inChannels: w[1], inHeight: h, inWidth: wd, outChannels: w[0], outHeight: x[2],
                    outWidth: x[3], kernelHeight: w[2], kernelWidth: w[3], stride: stride, padding: padding)
            }
            return ConvGeometry(
                batch: x[0], inChannels: x[1], inHeight: x[2], inWidth: x[3], outChannels: w[0],
                outHeight: (x[2] + 2 * padding - w[2]) / stride + 1, outWidth: (x[3] + 2 * padding - w[3]) / stride + 1,
                kernelHeight: w[2], kernelWidth: w[3], stride: stride, padding: padding)
        }
    }

    static let convCases: [ConvCase] = [
        // Single-sample chunks (large planes), pointwise convs with one or many samples per chunk, ragged chunks.
        ConvCase([1, 2, 130, 130], [3, 2, 3, 3], 1, 1, [.direct, .direct, .direct]),
        ConvCase([1, 3, 130, 130], [2, 3, 1, 1], 1, 0, [.pointwise, .pointwise, .pointwise]),
        ConvCase([3, 3, 6, 6], [4, 3, 1, 1], 1, 0, [.pointwise, .pointwise, .pointwise]),
        ConvCase([5, 2, 64, 64], [3, 2, 3, 3], 1, 1, [.direct, .direct, .direct]),
        ConvCase([2, 3, 9, 9], [2, 3, 4, 4], 2, 1, [.im2col, .im2col, .im2col]),
        ConvCase([3, 4, 4, 4], [5, 4, 4, 4], 1, 0, [.fullyConnected, .fullyConnected, .fullyConnected]),
        ConvCase([1, 5, 12, 12], [3, 5, 7, 7], 1, 3, [.direct, .direct, .direct]),
        ConvCase([2, 4, 9, 9], [1, 4, 4, 4], 1, 1, [.direct, .direct, .direct]),
        // Winograd F(2x2, 3x3): ragged tiles, padding 0 and 1.
        ConvCase([4, 16, 9, 7], [17, 16, 3, 3], 1, 1, [.winograd, .winograd, .winograd]),
        ConvCase([4, 20, 9, 7], [16, 20, 3, 3], 1, 0, [.winograd, .winograd, .winograd]),
        // F(4x4, 3x3) with samples in the lanes: a ragged 10x10 plane of one partly filled sample block; two blocks,
        // the second partly empty; padding 0.
        ConvCase([5, 16, 10, 10], [16, 16, 3, 3], 1, 1, [.winogradF4, .winogradF4, .winogradF4]),
        ConvCase([9, 17, 13, 14], [16, 17, 3, 3], 1, 1, [.winogradF4, .winogradF4, .winogradF4]),
        ConvCase([8, 16, 18, 18], [19, 16, 3, 3], 1, 0, [.winogradF4, .winogradF4, .winogradF4]),
        // Winograd F(4x4, 3x3) on planes 32 and more wide, the weight gradient too: ragged tiles,
        // padding 1 and 0, two samples, channels that are not multiples of 8.
        ConvCase([1, 16, 20, 35], [16, 16, 3, 3], 1, 1, [.winogradF4, .winogradF4, .winogradF4]),
        ConvCase([1, 16, 18, 34], [16, 16, 3, 3], 1, 0, [.winogradF4, .winogradF4, .winogradF4]),
        ConvCase([2, 19, 9, 33], [21, 19, 3, 3], 1, 1, [.winogradF4, .winogradF4, .winogradF4]),
        // Winograd F(4x4, 2x2) with samples in the lanes and in rows; F(2x2, 2x2) where two samples would leave the
        // former's lanes empty, alone and over the phases of a 4x4 stride-2 conv (16-wide output: the image gradient
        // onto the phase image).
        ConvCase([4, 16, 7, 9], [16, 16, 2, 2], 1, 1, [.winogradF4, .winogradF4, .winogradF4]),
        ConvCase([1, 16, 5, 33], [17, 16, 2, 2], 1, 0, [.winogradF4, .winogradF4, .winogradF4]),
        ConvCase([2, 16, 5, 17], [16, 16, 2, 2], 1, 1, [.winograd, .winograd, .winograd]),
        ConvCase([3, 4, 18, 32], [18, 4, 4, 4], 2, 1, [.phases, .phases, .phases]),
        // Winograd with samples in the lanes (planes under 16 wide): two sample blocks, the second partly empty; over
        // phases at an 8x8 output (F(4x4, 2x2)).
        ConvCase([11, 16, 6, 5], [17, 16, 3, 3], 1, 1, [.winograd, .winograd, .winograd]),
        ConvCase([9, 4, 16, 16], [16, 4, 4, 4], 2, 1, [.phases, .splitPhases, .phases]),
        // ... but im2col for fewer than four samples, which would leave most lanes empty.
        ConvCase([3, 16, 6, 5], [17, 16, 3, 3], 1, 1, [.im2col, .im2col, .im2col], panels: true),
        ConvCase(
            [2, 4, 16, 16], [16, 4, 4, 4], 2, 1, [.stride2Im2col, .stride2Im2col, .stride2Im2col], panels: true),
        // ... with more output channels than GEMM columns (products split by rows): forward and weight gradient over
        // phases at a 4x4 output with 512 channels (F(2x2, 2x2); its image gradient by im2col), and the flipped image
        // gradient.
        ConvCase([4, 4, 8, 8], [512, 4, 4, 4], 2, 1, [.phases, .stride2Im2col, .phases]),
        // At 4x4 outputs also from 32 samples on, and the image gradient split by image phase with 256 channels and
        // 64 samples.
        ConvCase([32, 4, 8, 8], [16, 4, 4, 4], 2, 1, [.phases, .stride2Im2col, .phases]),
        ConvCase([64, 4, 8, 8], [256, 4, 4, 4], 2, 1, [.phases, .splitPhases, .phases]),
        // From four samples, 16x16 outputs split their image gradient by image phase too.
        ConvCase([4, 4, 32, 32], [16, 4, 4, 4], 2, 1, [.phases, .splitPhases, .phases]),
        ConvCase([4, 16, 3, 3], [64, 16, 2, 2], 1, 1, [.winograd, .winograd, .winograd]),
        // F(2x2, 4x4) for stride-1 4x4 convs on planes under 13 wide: samples in the lanes, padding 1 and 0.
        ConvCase([5, 16, 8, 9], [17, 16, 4, 4], 1, 1, [.winograd, .winograd, .winograd]),
        ConvCase([4, 16, 9, 9], [16, 16, 4, 4], 1, 0, [.winograd, .winograd, .winograd]),
        // F(3x3, 4x4) where rows have five or more tiles and it saves a quarter of the multiplies: PatchGAN's 15-wide
        // output (five tiles in the lanes; its image gradient's 16 wide plane by F(2x2, 4x4)), ragged tile rows (33
        // and 34 wide: eleven and twelve tiles, two vectors), padding 0 and 2.
        ConvCase([2, 16, 16, 16], [17, 16, 4, 4], 1, 1, [.winogradF4, .winograd, .winogradF4]),
        ConvCase([1, 16, 6, 34], [18, 16, 4, 4], 1, 1, [.winogradF4, .winogradF4, .winogradF4]),
        ConvCase([3, 20, 18, 18], [16, 20, 4, 4], 1, 0, [.winogradF4, .winogradF4, .winogradF4]),
        ConvCase([1, 16, 13, 14], [16, 16, 4, 4], 1, 2, [.winogradF4, .winogradF4, .winogradF4]),
        ConvCase([4, 64, 3, 3], [16, 64, 2, 2], 1, 1, [.winograd, .winograd, .winograd]),
        // The image gradient split by image phase: a ragged 9x11 output.
        ConvCase([4, 4, 18, 22], [16, 4, 4, 4], 2, 1, [.phases, .splitPhases, .phases]),
        // Stride-2 im2col over phases: kernels 3 to 5, padding 1 and 2, widths below and above a vector; and stride 2
        // where the phases do not apply (odd sizes, padding 0).
        ConvCase([2, 3, 12, 14], [4, 3, 3, 3], 2, 1, [.stride2Im2col, .stride2Im2col, .stride2Im2col]),
        ConvCase([1, 2, 10, 36], [3, 2, 5, 5], 2, 2, [.stride2Im2col, .stride2Im2col, .stride2Im2col]),
        ConvCase([3, 3, 16, 16], [8, 3, 4, 4], 2, 1, [.stride2Im2col, .stride2Im2col, .stride2Im2col]),
        ConvCase([2, 2, 8, 6], [3, 2, 4, 4], 2, 1, [.stride2Im2col, .stride2Im2col, .stride2Im2col]),
        ConvCase([2, 3, 11, 13], [4, 3, 3, 3], 2, 1, [.im2col, .im2col, .im2col]),
        // Tiles of 512 columns, whose column matrices are a cache line wider (`columnStride`): kept from the forward
        // pass for the weight gradient (stride 2), and recomputed (stride 1).
        ConvCase([2, 3, 32, 32], [4, 3, 3, 3], 2, 1, [.stride2Im2col, .stride2Im2col, .stride2Im2col]),
        ConvCase([2, 3, 16, 16], [5, 3, 3, 3], 1, 1, [.im2col, .im2col, .im2col]),
        // The image gradient of a 3x3 stride-2 convolution by the phases of its output (a cropped up-convolution).
        ConvCase([2, 16, 12, 14], [17, 16, 3, 3], 2, 1, [.stride2Im2col, .upPhases, .stride2Im2col]),
        ConvCase([2, 2, 8, 8], [3, 2, 3, 3], 2, 0, [.im2col, .im2col, .im2col]),
        // The forward pass on panels (AVX-512 builds): a 7x7 kernel on three channels in bands of eight panels, four
        // bands per sample; stride 2 with padding 1 and 0 (bands across output rows, a partial last panel, runs of
        // whole vectors and a scalar tail); padding 2 on a 5x5 kernel; output channels that leave a partial row panel.
        ConvCase([2, 3, 38, 38], [16, 3, 7, 7], 1, 0, [.im2col, .im2col, .im2col], panels: true),
        ConvCase(
            [2, 4, 16, 68], [13, 4, 3, 3], 2, 1, [.stride2Im2col, .stride2Im2col, .stride2Im2col], panels: true),
        ConvCase([1, 8, 33, 33], [12, 8, 3, 3], 2, 0, [.im2col, .im2col, .im2col], panels: true),
        ConvCase([2, 5, 9, 40], [25, 5, 5, 5], 1, 2, [.im2col, .im2col, .im2col], panels: true),
        ConvCase([2, 40, 16, 16], [30, 40, 3, 3], 2, 1, [.stride2Im2col, .upPhases, .stride2Im2col], panels: true),
        // Conv-transpose (its fused first-order backward): fully connected, single-sample and multi-sample chunks.
        ConvCase(
            [2, 5, 1, 1], [5, 3, 4, 4], 1, 0, [.fullyConnected, .fullyConnected, .fullyConnected], transposed: true),
        ConvCase(
            [1, 2, 66, 66], [2, 2, 4, 4], 2, 1, [.stride2Im2col, .stride2Im2col, .stride2Im2col], transposed: true),
        ConvCase([4, 3, 5, 5], [3, 2, 3, 3], 2, 0, [.im2col, .im2col, .im2col], transposed: true),
        ConvCase([2, 16, 8, 16], [16, 5, 4, 4], 2, 1, [.phases, .phases, .phases], transposed: true),
        ConvCase(
            [3, 8, 8, 8], [8, 4, 4, 4], 2, 1, [.stride2Im2col, .stride2Im2col, .stride2Im2col], transposed: true),
        ConvCase([2, 3, 7, 9], [3, 2, 3, 3], 2, 1, [.im2col, .im2col, .im2col], transposed: true),
        ConvCase([4, 16, 8, 8], [16, 4, 4, 4], 2, 1, [.phases, .splitPhases, .phases], transposed: true),
    ]

    /// DCGAN-sized layers at its batch of 64, whose routing the thresholds were tuned for, checked by geometry alone:
    /// 8x8, 16x16 and 4x4 outputs (the image gradient of the 16x16 ones onto the phase image at batch 2 and at 32x32
    /// outputs, of the 4x4 ones by im2col below 256 channels); and StyleGAN's 4x4 and 8x8 layers at batch 1, by im2col.
    static let routingCases: [ConvCase] = [
        ConvCase([64, 64, 16, 16], [128, 64, 4, 4], 2, 1, [.phases, .splitPhases, .phases]),
        ConvCase([64, 128, 32, 32], [256, 128, 4, 4], 2, 1, [.phases, .splitPhases, .phases]),
        ConvCase([64, 4, 32, 32], [16, 4, 4, 4], 2, 1, [.phases, .splitPhases, .phases]),
        ConvCase([2, 4, 32, 32], [16, 4, 4, 4], 2, 1, [.phases, .phases, .phases]),
        ConvCase([64, 4, 64, 64], [16, 4, 4, 4], 2, 1, [.phases, .phases, .phases]),
        ConvCase([64, 128, 8, 8], [256, 128, 4, 4], 2, 1, [.phases, .splitPhases, .phases]),
        ConvCase([64, 64, 8, 8], [128, 64, 4, 4], 2, 1, [.phases, .stride2Im2col, .phases]),
        ConvCase([64, 256, 8, 8], [512, 256, 4, 4], 2, 1, [.phases, .splitPhases, .phases]),
        ConvCase([16, 128, 8, 8], [256, 128, 4, 4], 2, 1, [.stride2Im2col, .stride2Im2col, .stride2Im2col]),
        ConvCase([1, 512, 4, 4], [512, 512, 3, 3], 1, 1, [.im2col, .im2col, .im2col]),
        ConvCase([1, 512, 8, 8], [512, 512, 3, 3], 1, 1, [.im2col, .im2col, .im2col], panels: true),
        ConvCase([1, 512, 16, 16], [512, 512, 3, 3], 1, 1, [.winograd, .winograd, .winograd]),
        // StyleGAN2-32's training batch of 16: F(4x4, 3x3) with samples in the lanes at 8x8 and 16x16, F(2x2) at 4x4
        // and where four samples would leave half of F(4x4)'s lanes empty beside F(2x2)'s rows.
        ConvCase([16, 128, 8, 8], [128, 128, 3, 3], 1, 1, [.winogradF4, .winogradF4, .winogradF4]),
        ConvCase([16, 128, 16, 16], [128, 128, 3, 3], 1, 1, [.winogradF4, .winogradF4, .winogradF4]),
        ConvCase([16, 512, 4, 4], [512, 512, 3, 3], 1, 1, [.winograd, .winograd, .winograd]),
        ConvCase([4, 256, 16, 16], [256, 256, 3, 3], 1, 1, [.winograd, .winograd, .winograd]),
    ]

    func testConvolutionPaths() throws {
        for (i, c) in (GradientTests.convCases + GradientTests.routingCases).enumerated() {
            XCTAssertEqual(ConvPass.allCases.map(c.geometry.algorithm), c.algorithms, "case \(i): \(c.x) \(c.w)")
        }
        for (i, c) in GradientTests.convCases.enumerated() {
            let x = try randomTensor(c.x, seed: UInt64(i)), w = try randomTensor(c.w, seed: UInt64(i + 10))
            let y =
                c.transposed
                ? try convTranspose2d(x, weight: w, stride: c.stride, padding: c.padding)
                : try conv2d(x, weight: w, stride: c.stride, padding: c.padding)
            if !c.transposed {
                XCTAssertLessThan(
                    relativeError(y, try naiveConv(x, w, stride: c.stride, padding: c.padding).out), 1e-5,
                    "case \(i) forward")
            }
            // The gradients are the adjoints: <conv(x, w), g> = <x, dL/dx> = <w, dL/dw>.
            let g = try randomTensor(y.shape, seed: UInt64(i + 20)).detached()
            let grads = try Autograd.grad([y], seeds: [g], wrt: [x, w])
            let reference = dot(y, g)
            XCTAssertEqual(
                dot(x, grads[0]!), reference, accuracy: 1e-4 * Swift.abs(reference) + 1e-3, "case \(i) input grad")
            XCTAssertEqual(
                dot(w, grads[1]!), reference, accuracy: 1e-4 * Swift.abs(reference) + 1e-3, "case \(i) weight grad")
        }
        let x = try randomTensor([5, 3, 6, 6], seed: 3), w1 = try randomTensor([4, 3, 1, 1], seed: 4),
            b = try randomTensor([4], seed: 5)
        XCTAssertLessThan(try gradientError([x, w1, b]) { try conv2d($0[0], weight: $0[1], bias: $0[2]) }, tolerance)
        let wt = try randomTensor([3, 2, 3, 3], seed: 7), bt = try randomTensor([2], seed: 8)
        XCTAssertLessThan(
            try gradientError([x, wt, bt]) {
                try convTranspose2d($0[0], weight: $0[1], bias: $0[2], stride: 2, padding: 1, outputPadding: 1)
            }, tolerance)
    }

    /// A reflection-padded convolution that runs as Winograd over tile rows reads the reflection in its input
    /// transform, and its image gradient is the unpadded geometry's plus the border's: F(4x4, 3x3) and F(2x2, 3x3),
    /// ragged tiles, padding 1 and 2, two samples, with and without a bias; forward, image, weight and bias gradients,
    /// and the gradient of the image gradient, all equal to padding first. Elsewhere (sample lanes, 7x7) it pads first.
    func testReflectionPaddedConvolutionReadsTheReflection() throws {
        for (i, (x, w, padding, reads)) in [
            ([2, 16, 34, 37], [17, 16, 3, 3], 1, true), ([1, 16, 19, 18], [16, 16, 3, 3], 1, true),
            ([1, 16, 33, 40], [16, 16, 3, 3], 2, true), ([2, 16, 6, 6], [16, 16, 3, 3], 1, false),
            ([1, 3, 20, 20], [16, 3, 7, 7], 3, false),
        ].enumerated() {
            let geometry = ConvCase(x, w, 1, padding, []).geometry
            XCTAssertEqual(geometry.winogradReadsReflection, reads, "case \(i)")
            let image = try randomTensor(x, seed: UInt64(40 + i)), weight = try randomTensor(w, seed: UInt64(50 + i))
            let bias = try randomTensor([w[0]], seed: UInt64(60 + i))
            let inputs = i % 2 == 0 ? [image, weight, bias] : [image, weight]
            let sides = [padding, padding, padding, padding]
            let reference = try conv2d(
                try reflectionPad2d(image, padding: sides), weight: weight, bias: i % 2 == 0 ? bias : nil)
            let fused = try noGrad {
                try reflectionPaddedConv2d(image, weight: weight, bias: i % 2 == 0 ? bias : nil, padding: padding)
            }
            XCTAssertLessThan(relativeError(fused, reference), 1e-5, "case \(i)")
            let recorded = try reflectionPaddedConv2d(
                image, weight: weight, bias: i % 2 == 0 ? bias : nil, padding: padding)
            XCTAssertLessThan(relativeError(recorded, reference), 1e-5, "case \(i) recorded")
            let g = try randomTensor(reference.shape, seed: UInt64(70 + i)).detached()
            let expected = try Autograd.grad([reference], seeds: [g], wrt: inputs, retainGraph: true)
            for (k, grad) in try Autograd.grad([recorded], seeds: [g], wrt: inputs, retainGraph: true).enumerated() {
                XCTAssertLessThan(relativeError(grad!, expected[k]!), 1e-5, "case \(i) gradient \(k)")
            }
            // Second order: the image gradient's own gradient with respect to the weight.
            let secondOrder = try [reference, recorded].map { y in
                let gx = try Autograd.grad([y], seeds: [g], wrt: [image], createGraph: true)[0]!
                return try Autograd.grad([try sum(try square(gx))], wrt: [weight])[0]!
            }
            XCTAssertLessThan(relativeError(secondOrder[1], secondOrder[0]), 1e-4, "case \(i) second order")
        }
    }

    /// A 3x3 stride-2 conv-transpose with output padding 1 (CycleGAN's up-convolution) runs by the phases of its
    /// output and equals the direct loops' image gradient of the convolution it transposes.
    func testUpConvolutionByOutputPhasesMatchesTheDirectLoops() throws {
        let x = try randomTensor([2, 16, 5, 7], seed: 31), w = try randomTensor([16, 17, 3, 3], seed: 32)
        let geometry = GradientTests.ConvCase([2, 17, 10, 14], [16, 17, 3, 3], 2, 1, []).geometry
        XCTAssertEqual(geometry.algorithm(.imageGradient), .upPhases)
        let y = try convTranspose2d(x, weight: w, stride: 2, padding: 1, outputPadding: 1)
        let reference = try naiveConv(try Tensor(zeros: [2, 17, 10, 14]), w, stride: 2, padding: 1, outGrad: x)
        XCTAssertLessThan(relativeError(y, reference.imageGrad), 1e-5)
    }

    /// Within a scope that declares a weight constant, its Winograd transforms are computed once and reused: forward
    /// passes and image gradients are bit-identical to those without the scope, and a second call derives nothing.
    /// F(2x2, 3x3)'s image gradient reads the forward pass's U; F(4x4, 3x3)'s (a 36-wide plane) the transform of the
    /// reversed kernels, kept as a form of its own.
    func testWeightCache() throws {
        for (i, shape) in [[1, 16, 10, 20], [1, 16, 6, 36]].enumerated() {
            let x = try randomTensor(shape, seed: 1), w = try randomTensor([16, 16, 3, 3], seed: 2)
            try x.setRequiresGrad(true)
            let g = try randomTensor(shape, seed: 3).detached()
            let geometry = ConvCase(shape, [16, 16, 3, 3], 1, 1, []).geometry
            XCTAssertEqual(geometry.algorithm(.imageGradient), i == 0 ? .winograd : .winogradF4)
            func run() throws -> ([Float], [Float]) {
                let y = try conv2d(x, weight: w, padding: 1)
                return (y.values, try Autograd.grad([y], seeds: [g], wrt: [x])[0]!.values)
            }
            let plain = try run()
            let cache = WeightCache(constant: [w])
            let forwardOnly = try cache.with { try conv2d(x.detached(), weight: w, padding: 1).values }
            let formFloats = cache.heldFloats
            let first = try cache.with { try run() }
            let held = cache.heldFloats
            let second = try cache.with { try run() }
            XCTAssertEqual(forwardOnly, plain.0)
            XCTAssertEqual(cache.heldFloats, held, "case \(i): the second call derived again")
            // F(2x2)'s image gradient reads U itself, or on AVX-512 builds panels of its own (the same size here).
            XCTAssertEqual(held, i == 0 && !PackedGEMM.isAvailable ? formFloats : 2 * formFloats, "case \(i): forms")
            for run in [first, second] {
                XCTAssertEqual(run.0, plain.0)
                XCTAssertEqual(run.1, plain.1)
            }
        }
    }

    func testDirectKernels() throws {
        // Stride-1 convs with at most 4 output channels (CycleGAN's last 7x7 conv, PatchGAN's last 4x4 conv): bands of
        // 32 pixels with ragged and sub-vector widths, padding 0 (in place) and above 0 (padded rows), more than k - 1
        // (a cropping image gradient), non-square kernels, 1, 3 and 4 output channels, wide rows whose source channels
        // are summed in several groups, batch 2.
        let cases: [([Int], [Int], Int)] = [
            ([1, 5, 20, 20], [3, 5, 7, 7], 0), ([2, 4, 23, 41], [3, 4, 7, 7], 3),
            ([1, 4, 46, 46], [3, 4, 7, 7], 0), ([1, 20, 9, 262], [3, 20, 7, 7], 0),
            ([1, 20, 3, 262], [3, 20, 7, 7], 3), ([2, 3, 5, 5], [4, 3, 3, 3], 1),
            ([1, 7, 12, 37], [1, 7, 3, 3], 1), ([2, 9, 17, 30], [4, 9, 3, 3], 1),
            ([1, 2, 6, 6], [2, 2, 3, 3], 3), ([1, 3, 10, 40], [2, 3, 3, 5], 2),
            ([2, 6, 7, 7], [1, 6, 4, 4], 1),
        ]
        let threads = Threads.count
        defer { try? Threads.set(threads) }
        for (k, (xs, ws, padding)) in cases.enumerated() {
            let geometry = ConvGeometry(
                batch: xs[0], inChannels: xs[1], inHeight: xs[2], inWidth: xs[3], outChannels: ws[0],
                outHeight: xs[2] + 2 * padding - ws[2] + 1, outWidth: xs[3] + 2 * padding - ws[3] + 1,
                kernelHeight: ws[2], kernelWidth: ws[3], stride: 1, padding: padding)
            XCTAssertEqual(ConvPass.allCases.map(geometry.algorithm), [.direct, .direct, .direct], "case \(k)")
            let x = try randomTensor(xs, seed: UInt64(k + 60)), w = try randomTensor(ws, seed: UInt64(k + 70))
            let g = try randomTensor(geometry.outputShape, seed: UInt64(k + 80)).detached()
            let reference = try naiveConv(x, w, stride: 1, padding: padding, outGrad: g)
            // Any thread count gives the same bits.
            var results: [[[Float]]] = []
            for n in [1, 2] {
                try Threads.set(n)
                let y = try conv2d(x, weight: w, padding: padding)
                let grads = try Autograd.grad([y], seeds: [g], wrt: [x, w])
                XCTAssertLessThan(relativeError(y, reference.out), 1e-5, "case \(k) forward")
                XCTAssertLessThan(relativeError(grads[0]!, reference.imageGrad), 1e-5, "case \(k) input grad")
                XCTAssertLessThan(relativeError(grads[1]!, reference.weightGrad), 1e-5, "case \(k) weight grad")
                results.append([y.values, grads[0]!.values, grads[1]!.values])
            }
            XCTAssertEqual(results[0], results[1], "case \(k) threads")
        }
    }

    func testLinearOpsAndShapes() throws {
        let a = try randomTensor([3, 4], seed: 1), b = try randomTensor([5, 4], seed: 2)
        XCTAssertLessThan(try gradientError([a, b]) { try matmul($0[0], $0[1], transposeB: true) }, tolerance)
        XCTAssertLessThan(
            try gradientError([a, b]) { try matmul($0[1], $0[0], transposeA: false, transposeB: true) }, tolerance)
        let c = try randomTensor([4, 3], seed: 3)
        XCTAssertLessThan(
            try gradientError([a, c]) { try matmul($0[0], $0[1], transposeA: true, transposeB: true) }, tolerance)
        let x = try randomTensor([2, 3, 4, 5], seed: 4), y = try randomTensor([1, 3, 1, 5], seed: 5)
        let z = try randomTensor([2, 1, 4, 5], seed: 7)
        XCTAssertLessThan(
            try gradientError([x, z]) { try cat([try narrow($0[0], dim: 1, start: 1, length: 2), $0[1]], dim: 1) },
            tolerance)
        XCTAssertLessThan(
            try gradientError([x, y]) { try mul(try add($0[0], $0[1]), try sub($0[1], $0[0])) }, tolerance)
        let pos = try randomTensor([1, 3, 1, 5], seed: 6, low: 0.5, high: 2)
        XCTAssertLessThan(try gradientError([x, pos], step: 1e-3) { try div($0[0], $0[1]) }, tolerance)
        XCTAssertLessThan(try gradientError([x]) { try mean($0[0], axes: [0, 2], keepDim: true) }, tolerance)
        XCTAssertLessThan(try gradientError([x]) { try sum($0[0], axes: [-1]) }, tolerance)
        XCTAssertLessThan(
            try gradientError([x]) {
                try reshape(try broadcast(try reshape($0[0], [2, 3, 20, 1]), to: [2, 3, 20, 2]), [-1])
            }, tolerance)
    }

    func testElementwiseMath() throws {
        let pos = try randomTensor([2, 7], seed: 1, low: 0.5, high: 2)
        for f in [sqrt, rsqrt, exp, log, square, tanh, sigmoid, softplus] as [(Tensor) throws -> Tensor] {
            XCTAssertLessThan(try gradientError([pos], step: 1e-3) { try f($0[0]) }, tolerance)
        }
        let x = try randomTensor([2, 7], seed: 2)
        XCTAssertLessThan(try gradientError([x], step: 1e-3) { try abs($0[0]) }, tolerance)
        XCTAssertLessThan(try gradientError([x], step: 1e-3) { try clamp($0[0], min: -0.3, max: 0.4) }, tolerance)
        XCTAssertLessThan(
            try doubleBackwardError([x], step: 1e-3) { try tanh(try clamp($0[0], min: -0.3, max: 9)) }, tolerance)
        let y = try randomTensor([2, 3, 4, 5], seed: 9)
        XCTAssertLessThan(try gradientError([y]) { try permute($0[0], [2, 0, 3, 1]) }, tolerance)
        let target = try randomTensor([2, 7], seed: 3, low: 0, high: 1)
        XCTAssertLessThan(
            try gradientError([x]) { try bceWithLogits($0[0], target: target.detached(), reduction: .sum) }, tolerance)
    }

    func testResampling() throws {
        let x = try randomTensor([2, 2, 5, 6], seed: 1)
        XCTAssertLessThan(try gradientError([x]) { try zeroPad2d($0[0], padding: [1, 2, 0, 3]) }, tolerance)
        XCTAssertLessThan(try gradientError([x]) { try upsampleNearest2d($0[0], scale: 3) }, tolerance)
        // Reflection: several gradient rows and columns land on one input (the copies' one-pass adjoint).
        XCTAssertLessThan(try gradientError([x]) { try reflectionPad2d($0[0], padding: [3, 2, 1, 3]) }, tolerance)
        XCTAssertLessThan(
            try gradientError([x]) { try avgPool2d($0[0], kernelSize: 3, stride: 2, padding: 1) }, tolerance)
        let f = try Tensor([1, 3, 3, 1, 3, 9, 9, 3, 3, 9, 9, 3, 1, 3, 3, 1].map { $0 / 64 }, shape: [4, 4])
        XCTAssertLessThan(
            try gradientError([x]) { try upfirdn2d($0[0], filter: f, up: 2, padding: [2, 1, 2, 1], gain: 4) }, tolerance
        )
        XCTAssertLessThan(
            try gradientError([x]) { try upfirdn2d($0[0], filter: f, down: 2, padding: [1, 1, 1, 1]) }, tolerance)
        let up = try upfirdn2d(x, filter: f, up: 2, padding: [2, 1, 2, 1], gain: 4)
        XCTAssertEqual(up.shape, [2, 2, 10, 12])
        // Rows of several vectors run the FIR window kernels (blur, downsampling by 2, cropping on the left).
        let wide = try randomTensor([1, 2, 3, 37], seed: 2)
        for (down, padding, stride) in [(1, [2, 2, 1, 1], 1), (2, [1, 1, 1, 1], 2), (2, [-3, 2, 1, 1], 2)] {
            let r = FIRResample(
                inHeight: 3, inWidth: 37, up: 1, down: down, padLeft: padding[0], padRight: padding[1],
                padTop: padding[2], padBottom: padding[3], filterHeight: 4, filterWidth: 4)
            let window = try XCTUnwrap(separableFIR(r, filter: f, gain: 1)?.cols.window(inputs: 37))
            XCTAssertEqual(window.stride, stride)
            XCTAssertLessThan(
                try gradientError([wide]) { try upfirdn2d($0[0], filter: f, down: down, padding: padding) }, tolerance)
        }
        XCTAssertNil(
            separableFIR(
                FIRResample(
                    inHeight: 5, inWidth: 6, up: 2, down: 1, padLeft: 2, padRight: 1, padTop: 2, padBottom: 1,
                    filterHeight: 4, filterWidth: 4), filter: f, gain: 4)?.cols.window(inputs: 6))
    }

    func testNormalization() throws {
        let x = try randomTensor([3, 2, 4, 4], seed: 1), w = try randomTensor([2], seed: 2),
            b = try randomTensor([2], seed: 3)
        XCTAssertLessThan(
            try gradientError([x, w, b], step: 1e-3) { try instanceNorm($0[0], weight: $0[1], bias: $0[2]) }, tolerance)
        let rm = try Tensor([0.1, -0.2], shape: [2]), rv = try Tensor([1.5, 0.5], shape: [2])
        XCTAssertLessThan(
            try gradientError([x, w, b]) {
                try batchNorm($0[0], runningMean: rm, runningVar: rv, weight: $0[1], bias: $0[2], training: false)
            }, tolerance)
        // Running statistics: momentum update with the unbiased batch variance.
        let rm2 = try Tensor(zeros: [2]), rv2 = try Tensor(repeating: 1, shape: [2])
        _ = try batchNorm(x, runningMean: rm2, runningVar: rv2, training: true, momentum: 0.1)
        let c0 = (0..<3).flatMap { n in (0..<16).map { x.data[n * 32 + $0] } }
        let m0 = c0.reduce(0, +) / 48
        let v0 = c0.map { ($0 - m0) * ($0 - m0) }.reduce(0, +) / 47
        XCTAssertEqual(rm2.data[0], 0.1 * m0, accuracy: 1e-6)
        XCTAssertEqual(rv2.data[0], 0.9 + 0.1 * v0, accuracy: 1e-5)
    }

    /// A norm followed by a (leaky) ReLU as one op (`negativeSlope`) equals the two ops in sequence: output,
    /// gradients of input, scale and shift, running statistics, and the second order through the image gradient.
    func testNormWithActivationEqualsTheTwoOps() throws {
        for (i, (shape, slope, perSample)) in [
            ([4, 3, 5, 6], Float(0.2), false), ([3, 2, 7, 1], 0, false), ([2, 3, 4, 9], 0, true),
            ([1, 2, 6, 6], 0.2, true),
        ].enumerated() {
            let x = try randomTensor(shape, seed: UInt64(80 + i)), w = try randomTensor([shape[1]], seed: 90),
                b = try randomTensor([shape[1]], seed: 91)
            let statistics = try (0..<4).map { _ in try Tensor(repeating: 0.5, shape: [shape[1]]) }
            func norm(_ x: Tensor, _ slope: Float?, _ rm: Tensor, _ rv: Tensor) throws -> Tensor {
                perSample
                    ? try instanceNorm(x, weight: w, bias: b, negativeSlope: slope)
                    : try batchNorm(
                        x, runningMean: rm, runningVar: rv, weight: w, bias: b, training: true, negativeSlope: slope)
            }
            let reference = try leakyRelu(try norm(x, nil, statistics[0], statistics[1]), negativeSlope: slope)
            let fused = try norm(x, slope, statistics[2], statistics[3])
            XCTAssertLessThan(relativeError(fused, reference), 1e-6, "case \(i)")
            XCTAssertEqual(statistics[2].values, statistics[0].values, "case \(i) running mean")
            XCTAssertEqual(statistics[3].values, statistics[1].values, "case \(i) running variance")
            let g = try randomTensor(shape, seed: UInt64(100 + i)).detached()
            let expected = try Autograd.grad([reference], seeds: [g], wrt: [x, w, b], retainGraph: true)
            for (k, grad) in try Autograd.grad([fused], seeds: [g], wrt: [x, w, b], retainGraph: true).enumerated() {
                XCTAssertLessThan(relativeError(grad!, expected[k]!), 1e-5, "case \(i) gradient \(k)")
            }
            let secondOrder = try [reference, fused].map { y in
                let gx = try Autograd.grad([y], seeds: [g], wrt: [x], createGraph: true)[0]!
                return try Autograd.grad([try sum(try square(gx))], wrt: [w])[0]!
            }
            XCTAssertLessThan(relativeError(secondOrder[1], secondOrder[0]), 1e-4, "case \(i) second order")
        }
        let x = try randomTensor([2, 2, 3, 3], seed: 1)
        XCTAssertThrowsError(try batchNorm(x, training: true, negativeSlope: -0.1))
        XCTAssertThrowsError(try instanceNorm(x, negativeSlope: .nan))
    }

    func testStyleGANOps() throws {
        let x = try randomTensor([4, 4, 3, 3], seed: 1)
        XCTAssertLessThan(
            try gradientError([x], step: 1e-3) { try minibatchStddev($0[0], group: 2, numChannels: 2) }, tolerance)
        let w = try randomTensor([3, 4, 3, 3], seed: 2), s = try randomTensor([4, 4], seed: 3, low: 0.5, high: 1.5)
        XCTAssertLessThan(
            try gradientError([x, w, s], step: 1e-3) {
                try modulatedConv2d($0[0], weight: $0[1], style: $0[2], padding: 1)
            }, tolerance)
    }

    /// synthesisLayer without a tape (the fused kernels) equals its composition of differentiable ops, on every path:
    /// Winograd with the tiles' rows or eight samples in the vector lanes, im2col with the style scaling the images
    /// (small planes) or folded into the weight (few channels, 1x1 toRGB), and the up-convolution by output phases with
    /// its FIR filter, in one run of samples or (`testFusedUpConvolutionSampleBySample`) one sample at a time; noise
    /// shared, per sample or none; clamp. Within a `WeightCache` (a generation model's), a second call reuses the
    /// derived weights and gives the same values.
    func testFusedSynthesisLayerEqualsTheComposedOps() throws {
        let filter = try firFilter([1, 3, 3, 1])
        // (batch, in, out, kernel, side, up, noise: 0 none / 1 shared / 2 per sample, demodulate, activate, clamp)
        let cases: [(Int, Int, Int, Int, Int, Bool, Int, Bool, Bool, Float?)] = [
            (1, 16, 16, 3, 20, false, 1, true, true, 0.5),  // Winograd, rows in lanes
            (4, 16, 24, 3, 6, false, 2, true, true, nil),  // Winograd, samples in lanes
            (9, 16, 16, 3, 4, false, 1, true, true, 0.3),  // two blocks of eight samples
            (3, 16, 24, 3, 6, false, 2, true, true, nil),  // im2col (few samples in a small plane), styled images
            (2, 4, 5, 3, 9, false, 0, true, true, nil),  // im2col with the style folded into the weight
            (2, 16, 3, 1, 10, false, 0, false, false, 0.2),  // toRGB
            (1, 16, 16, 3, 5, true, 1, true, true, 0.4),  // up-convolutions
            (3, 6, 4, 3, 4, true, 2, true, true, nil),
            (2, 6, 4, 3, 7, true, 1, true, true, 0.3),
        ]
        for (i, (n, c, o, k, side, up, noiseKind, demodulate, activate, clamp)) in cases.enumerated() {
            let seed = UInt64(10 * i)
            let x = try randomTensor([n, c, side, side], seed: seed),
                w = try randomTensor([o, c, k, k], seed: seed + 1)
            let style = try randomTensor([n, c], seed: seed + 2, low: 0.5, high: 1.5)
            let bias = try randomTensor([o], seed: seed + 3), strength = try randomTensor([], seed: seed + 4)
            let outSide = up ? 2 * side : side
            let noise: Tensor? =
                noiseKind == 0 ? nil : try randomTensor([noiseKind == 1 ? 1 : n, 1, outSide, outSide], seed: seed + 5)
            let output = SynthesisLayerOutput(
                demodulate: demodulate, noise: noise, noiseStrength: noise == nil ? nil : strength, bias: bias,
                activate: activate, gain: 0.7, clamp: clamp)
            let layer = { try synthesisLayer(x, weight: w, style: style, upFilter: up ? filter : nil, output) }
            let composed = try layer(), fused = try noGrad(layer)
            XCTAssertNotNil(composed.gradFn, "case \(i): a recorded gradient composes the ops")
            XCTAssertEqual(fused.shape, [n, o, outSide, outSide])
            XCTAssertLessThan(relativeError(fused, composed), 2e-6, "case \(i)")
            let cache = WeightCache(constant: [w])
            let first = try cache.with { try noGrad(layer) }, second = try cache.with { try noGrad(layer) }
            XCTAssertEqual(first.values, fused.values, "case \(i)")
            XCTAssertEqual(second.values, fused.values, "case \(i)")
        }
    }

    func testFusedUpConvolutionSampleBySample() throws {
        let saved = ConvGeometry.columnBudget
        ConvGeometry.columnBudget = 600
        defer { ConvGeometry.columnBudget = saved }
        try testFusedSynthesisLayerEqualsTheComposedOps()
    }

    /// The 4x4 stride-2 phase routes transform kernels permuted from the weight into scratch; within a scope that
    /// declares the weight constant, those forms are kept under the weight (`WeightCache.withRearrangement`): results
    /// are bit-identical to those without the scope, and a second call derives nothing. Both image-gradient routes:
    /// the phase image (batch 2) and the split phases (batch 8).
    func testWeightCacheKeepsPhaseRouteForms() throws {
        for (i, shape) in [[2, 16, 32, 32], [8, 16, 16, 16]].enumerated() {
            let x = try randomTensor(shape, seed: 1), w = try randomTensor([32, 16, 4, 4], seed: 2)
            try x.setRequiresGrad(true)
            try w.setRequiresGrad(true)
            let geometry = ConvCase(shape, [32, 16, 4, 4], 2, 1, []).geometry
            XCTAssertEqual(geometry.algorithm(.forward), .phases)
            XCTAssertEqual(geometry.algorithm(.imageGradient), i == 0 ? .phases : .splitPhases)
            let g = try randomTensor([shape[0], 32, shape[2] / 2, shape[3] / 2], seed: 3).detached()
            func run() throws -> [[Float]] {
                let y = try conv2d(x, weight: w, stride: 2, padding: 1)
                let grads = try Autograd.grad([y], seeds: [g], wrt: [x, w])
                return [y.values, grads[0]!.values, grads[1]!.values]
            }
            let plain = try run()
            let cache = WeightCache(constant: [w])
            let first = try cache.with { try run() }
            let held = cache.heldFloats
            let second = try cache.with { try run() }
            XCTAssertGreaterThan(held, 0, "case \(i): no phase form was kept")
            XCTAssertEqual(cache.heldFloats, held, "case \(i): the second call derived again")
            XCTAssertEqual(first, plain, "case \(i)")
            XCTAssertEqual(second, plain, "case \(i)")
        }
    }

    /// A kept `WeightCache` drops what it derived once `WeightEpoch` advances: after an in-place write to the weight,
    /// the layer computes with the new values.
    func testWeightCacheFollowsWrites() throws {
        let filter = try firFilter([1, 3, 3, 1])
        for up in [false, true] {
            let side = up ? 4 : 16  // the transposed weight of a styled image; Winograd's transform
            let x = try randomTensor([1, 32, side, side], seed: 1), w = try randomTensor([32, 32, 3, 3], seed: 2)
            let style = try randomTensor([1, 32], seed: 3, low: 0.5, high: 1.5), bias = try randomTensor([32], seed: 4)
            let output = SynthesisLayerOutput(
                demodulate: true, noise: nil, noiseStrength: nil, bias: bias, activate: true, gain: 1, clamp: nil)
            let layer = {
                try noGrad { try synthesisLayer(x, weight: w, style: style, upFilter: up ? filter : nil, output) }
            }
            let cache = WeightCache(constant: [w])
            _ = try cache.with(layer)
            XCTAssertGreaterThan(cache.heldFloats, 0, "up \(up): the derived weight is kept")
            WeightEpoch.advance()
            for j in 0..<w.count { w.data[j] *= -0.5 }
            XCTAssertEqual(try cache.with(layer).values, try layer().values, "up \(up)")
        }
    }

    func testDoubleBackward() throws {
        let x = try randomTensor([2, 3, 4, 4], seed: 1), w = try randomTensor([2, 3, 3, 3], seed: 2)
        let s = try randomTensor([2, 3], seed: 3, low: 0.5, high: 1.5), bw = try randomTensor([3], seed: 4)
        XCTAssertLessThan(
            try doubleBackwardError([x, w], step: 1e-3) { try tanh(try conv2d($0[0], weight: $0[1], padding: 1)) },
            tolerance)
        let wt = try randomTensor([3, 2, 3, 3], seed: 5)
        XCTAssertLessThan(
            try doubleBackwardError([x, wt], step: 1e-3) {
                try sigmoid(try convTranspose2d($0[0], weight: $0[1], stride: 2, padding: 1))
            }, tolerance)
        XCTAssertLessThan(
            try doubleBackwardError([x, w, s], step: 1e-3) {
                try modulatedConv2d($0[0], weight: $0[1], style: $0[2], padding: 1)
            }, tolerance)
        XCTAssertLessThan(
            try doubleBackwardError([x, bw], step: 1e-3) { try batchNorm($0[0], weight: $0[1], training: true) },
            tolerance)
        XCTAssertLessThan(try doubleBackwardError([x], step: 1e-3) { try softplus(try instanceNorm($0[0])) }, tolerance)
        let f = try Tensor([1, 3, 3, 1].map { $0 / 8 }, shape: [1, 4])
        XCTAssertLessThan(
            try doubleBackwardError([x], step: 1e-3) {
                try tanh(try upfirdn2d($0[0], filter: f, up: 2, padding: [2, 1, 0, 0]))
            }, tolerance)
        XCTAssertLessThan(
            try doubleBackwardError([x], step: 1e-3) {
                try sqrt(try affine(try avgPool2d(try square($0[0]), kernelSize: 2), scale: 1, shift: 1))
            }, tolerance)
    }
}
