import SwiftGANCore
import SwiftGANNN
import SwiftGANOptim

/// CycleGAN's networks as in junyanz/pytorch-CycleGAN-and-pix2pix, with its state names ("model.N.*").

/// ResnetGenerator: ReflectionPad(3) + Conv 7x7, two stride-2 3x3 convs, `blocks` residual blocks, two stride-2
/// ConvTranspose 3x3 (output_padding 1), ReflectionPad(3) + Conv 7x7, Tanh. InstanceNorm without affine
/// parameters or running statistics; every conv has a bias. Weights N(0, 0.02).
func resnetGenerator(
    inChannels: Int, outChannels: Int, ngf: Int, blocks: Int, rng: inout RandomGenerator
) throws -> Sequential {
    var layers: [any Layer] = [
        ReflectionPad2d(3), try Conv2d(inChannels, ngf, kernel: 7, rng: &rng), InstanceNorm2d(), Activation(.relu),
    ]
    for i in 0..<2 {
        let m = 1 << i
        layers += [
            try Conv2d(ngf * m, ngf * m * 2, kernel: 3, stride: 2, padding: 1, rng: &rng), InstanceNorm2d(),
            Activation(.relu),
        ]
    }
    for _ in 0..<blocks {
        let c = ngf * 4
        layers.append(
            Residual(
                "conv_block",
                Sequential([
                    ReflectionPad2d(1), try Conv2d(c, c, kernel: 3, rng: &rng), InstanceNorm2d(), Activation(.relu),
                    ReflectionPad2d(1), try Conv2d(c, c, kernel: 3, rng: &rng), InstanceNorm2d(),
                ])))
    }
    for i in 0..<2 {
        let m = 1 << (2 - i)
        layers += [
            try ConvTranspose2d(ngf * m, ngf * m / 2, kernel: 3, stride: 2, padding: 1, outputPadding: 1, rng: &rng),
            InstanceNorm2d(), Activation(.relu),
        ]
    }
    layers += [ReflectionPad2d(3), try Conv2d(ngf, outChannels, kernel: 7, rng: &rng), Activation(.tanh)]
    return Sequential(layers)
}

/// The PatchGAN discriminator (NLayerDiscriminator, 70x70 receptive field for 3 layers): 4x4 convs, LeakyReLU(0.2),
/// InstanceNorm on all but the first, one output channel per patch.
func patchDiscriminator(inChannels: Int, ndf: Int, layers n: Int, rng: inout RandomGenerator) throws -> Sequential {
    var layers: [any Layer] = [
        try Conv2d(inChannels, ndf, kernel: 4, stride: 2, padding: 1, rng: &rng), Activation(.leakyRelu(0.2)),
    ]
    var mult = 1
    for i in 1..<Swift.max(n, 1) {
        let previous = mult
        mult = Swift.min(1 << i, 8)
        layers += [
            try Conv2d(ndf * previous, ndf * mult, kernel: 4, stride: 2, padding: 1, rng: &rng), InstanceNorm2d(),
            Activation(.leakyRelu(0.2)),
        ]
    }
    let previous = mult
    mult = Swift.min(1 << n, 8)
    layers += [
        try Conv2d(ndf * previous, ndf * mult, kernel: 4, padding: 1, rng: &rng), InstanceNorm2d(),
        Activation(.leakyRelu(0.2)),
        try Conv2d(ndf * mult, 1, kernel: 4, padding: 1, rng: &rng),
    ]
    return Sequential(layers)
}
