import Glibc
import XCTest

@testable import SwiftGANCore
@testable import SwiftGANDistributed
@testable import SwiftGANModels
@testable import SwiftGANNN
@testable import SwiftGANOptim

final class StyleGANTests: XCTestCase {
    func testShapesSamplingAndTruncation() throws {
        let model = try StyleGAN(tinyStyleGANConfig(), seed: 1)
        XCTAssertEqual(model.generator!.synthesis.numWs, 4)  // b4: conv1, torgb(=b8 conv0); b8: conv1, torgb
        let images = try model.generate(count: 3, seed: 5)
        XCTAssertEqual(images.shape, [3, 3, 8, 8])
        XCTAssertEqual(images.values, try model.generate(count: 3, seed: 5).values)
        XCTAssertNotEqual(images.values, try model.generate(count: 3, seed: 6).values)
        // psi = 0 maps every seed to w_avg.
        var rng = RandomGenerator(seed: 3)
        for (i, v) in model.generatorEMA.mapping.wAverage!.values.enumerated() {
            model.generatorEMA.mapping.wAverage!.data[i] = v + Float(i)
        }
        let ws = try model.mapping(try rng.normal([4, 8]), psi: 0)
        for row in 0..<(4 * 4) {
            XCTAssertEqual(Array(ws.values[(row * 8)..<(row * 8 + 8)]), model.generatorEMA.mapping.wAverage!.values)
        }
    }

    func testStyleMixingSwitchesWOnce() throws {
        let model = try StyleGAN(tinyStyleGANConfig(), seed: 2)
        var switches = Set<Int>()
        for _ in 0..<20 {
            let ws = try model.mappedWithMixing(model.generator!, try model.rng.normal([2, 8]), nil, mixing: 1)
            let rows = (0..<4).map { Array(ws.values[($0 * 8)..<($0 * 8 + 8)]) }  // sample 0's four ws
            let changes = (1..<4).filter { rows[$0] != rows[$0 - 1] }
            XCTAssertEqual(changes.count, 1, "mixing replaces the ws from one cutoff on")
            switches.insert(changes[0])
        }
        XCTAssertEqual(switches, [1, 2, 3], "cutoffs range over 1..<numWs")
        let unmixed = try model.mappedWithMixing(model.generator!, try model.rng.normal([2, 8]), nil, mixing: 0)
        XCTAssertEqual(Set((0..<4).map { Array(unmixed.values[($0 * 8)..<($0 * 8 + 8)]) }).count, 1)
    }

    /// The R1 penalty's gradient with respect to D's weights (double backward) against finite differences.
    func testR1GradientMatchesFiniteDifferences() throws {
        let model = try StyleGAN(tinyStyleGANConfig(), seed: 3)
        let x = try randomTensor([2, 3, 8, 8], seed: 4)
        let d = model.discriminator as! StyleGAN2Discriminator
        let params = [d.epilogue.conv.weight, d.blocks[0].conv0.weight]
        let r1 = { () throws -> Tensor in
            let g = try Autograd.grad(
                [try sum(try d(x, labels: nil))], wrt: [x], createGraph: true)[0]!
            return try mean(try sum(try square(g), axes: [1, 2, 3]))
        }
        try checkParameterGradients(params, r1)
    }

    /// The path-length penalty's gradient with respect to synthesis weights against finite differences.
    func testPathLengthGradientMatchesFiniteDifferences() throws {
        let model = try StyleGAN(tinyStyleGANConfig(), seed: 4)
        let ws = try randomTensor([2, 4, 8], seed: 5)
        let noise = try randomTensor([2, 3, 8, 8], seed: 6).detached()
        let block = (model.generator!.synthesis as! SynthesisNetwork).blocks[1]
        let params = [block.conv1.weight, block.conv0!.affine.weight, block.torgb!.weight]
        let penalty = { () throws -> Tensor in
            var rng = RandomGenerator(seed: 0)
            let img = try model.generator!.synthesis(ws, noise: .const, rng: &rng)
            let g = try Autograd.grad([try sum(try mul(img, noise))], wrt: [ws], createGraph: true)[0]!
            let lengths = try sqrt(try mean(try sum(try square(g), axes: [2]), axes: [1]))
            return try mean(try square(try affine(lengths, scale: 1, shift: -0.5)))
        }
        try checkParameterGradients(params, penalty)
    }

    /// Compares the tape's gradient of `f` for a few entries of each parameter with finite differences. Leaky
    /// ReLU makes a penalty on gradients (R1, path length) jump where a pre-activation changes sign, so the analytic
    /// value must match the central, the left or the right difference quotient (a jump spoils at most one side).
    func checkParameterGradients(_ params: [Tensor], _ f: () throws -> Tensor) throws {
        let grads = try Autograd.grad([try f()], wrt: params)
        let h: Float = 1e-3
        for (p, g) in zip(params, grads) {
            for i in Swift.stride(from: 0, to: p.count, by: Swift.max(1, p.count / 5)) {
                let saved = p.data[i]
                func at(_ t: Float) throws -> Float {
                    p.data[i] = saved + t
                    defer { p.data[i] = saved }
                    return try f().item
                }
                let (minus, zero, plus) = (try at(-h), try at(0), try at(h))
                let quotients = [(plus - minus) / (2 * h), (zero - minus) / h, (plus - zero) / h]
                let analytic = g!.data[i]
                XCTAssertTrue(
                    quotients.contains { Swift.abs($0 - analytic) <= 2e-2 * Swift.max(1, Swift.abs($0)) },
                    "entry \(i) of \(p.shape): analytic \(analytic), finite differences \(quotients)")
            }
        }
    }

    func testVersion1GrowsProgressively() throws {
        // The schedule: train 8 for a phase, fade 16 in over a phase, train 16, ... (phases of 10 images).
        let stages = [0, 9, 10, 15, 19, 20, 30, 35, 40, 100].map {
            GrowthStage.at(images: $0, phaseImages: 10, initial: 8, final: 32)
        }
        XCTAssertEqual(stages.map(\.resolution), [8, 8, 8, 16, 16, 16, 16, 32, 32, 32])
        XCTAssertEqual(stages.map(\.alpha), [1, 1, 1, 0.5, 0.9, 1, 1, 0.5, 1, 1])

        var c = StyleGAN.Config()
        c.version = 1
        (c.resolution, c.channels, c.zDim, c.wDim, c.mappingLayers, c.channelBase, c.channelMax) = (
            16, 3, 8, 8, 2, 32, 8
        )
        (c.phaseImages, c.initialResolution) = (8, 8)
        let model = try StyleGAN(c, seed: 1)
        XCTAssertEqual(model.generator!.synthesis.numWs, 6)
        var rng = RandomGenerator(seed: 2)
        let batches = try (0..<5).map { _ in try rng.uniform([4, 3, 16, 16], low: -1, high: 1) }
        var losses: [[Float]] = []
        for b in batches { losses.append(try model.trainStep([b])) }  // 8x8, 8x8, fade 16 (0.5), fade (1.0)...
        XCTAssertTrue(losses.joined().allSatisfy { $0.isFinite })
        XCTAssertEqual(model.stage(images: 12), GrowthStage(resolution: 16, alpha: 0.5))
        XCTAssertEqual(
            try model.generate(count: 2, seed: 3).shape, [2, 3, 16, 16], "samples are full size at every stage")

        // Resume in the middle of the fade-in.
        let first = try StyleGAN(c, seed: 1), resumed = try StyleGAN(c, seed: 9)
        for b in batches.prefix(3) { _ = try first.trainStep([b]) }
        for ((_, to), (_, from)) in zip(resumed.stateTensors, first.stateTensors) {
            to.data.update(from: from.data, count: from.count)
        }
        for name in first.counterNames { try resumed.setCounter(name, try first.counter(name)) }
        resumed.lastPenalties = first.lastPenalties
        for b in batches.suffix(2) { _ = try resumed.trainStep([b]) }
        for ((name, a), (_, b)) in zip(model.stateTensors, resumed.stateTensors) {
            XCTAssertEqual(a.values, b.values, name)
        }
    }

    func testEMARampUp() throws {
        // With the ramp-up, the half-life is at most ema_rampup x images seen: the first step copies G (nothing seen
        // yet), the second averages with beta = 0.5^(batch / (0.05 * batch)) = 0.5^20. Without it G_ema lags behind.
        var rng = RandomGenerator(seed: 11)
        let batch = try rng.uniform([4, 3, 8, 8], low: -1, high: 1)
        var fixed = tinyStyleGANConfig()
        fixed.emaRampup = 0
        for (config, follows) in [(tinyStyleGANConfig(), true), (fixed, false)] {
            let model = try StyleGAN(config, seed: 12)
            let before = model.generatorEMA.parameters.map { $0.1.values }
            _ = try model.trainStep([batch])
            for ((name, g), (e, old)) in zip(
                model.generator!.parameters, zip(model.generatorEMA.parameters.map(\.1), before))
            where g.values != old {
                if follows {
                    XCTAssertEqual(e.values, g.values, name)
                } else {
                    XCTAssertNotEqual(e.values, g.values, name)
                }
            }
            let g0 = model.generator!.parameters.map { $0.1.values },
                e0 = model.generatorEMA.parameters.map { $0.1.values }
            _ = try model.trainStep([batch])
            let beta = Float(Glibc.pow(0.5, follows ? 20 : 4.0 / 10_000))
            for (i, ((_, g), (_, e))) in zip(model.generator!.parameters, model.generatorEMA.parameters).enumerated() {
                for j in 0..<g.count where g0[i][j] != g.values[j] {
                    XCTAssertEqual(e.values[j], beta * e0[i][j] + (1 - beta) * g.values[j], accuracy: 1e-6)
                }
            }
        }
    }

    func testResumeIsBitIdenticalIncludingEMAAndRegularizers() throws {
        var rng = RandomGenerator(seed: 7)
        let batches = try (0..<5).map { _ in try rng.uniform([4, 3, 8, 8], low: -1, high: 1) }
        let straight = try StyleGAN(tinyStyleGANConfig(), seed: 8)
        var straightLosses: [[Float]] = []
        for b in batches { straightLosses.append(try straight.trainStep([b])) }

        let first = try StyleGAN(tinyStyleGANConfig(), seed: 8)
        for b in batches.prefix(3) { _ = try first.trainStep([b]) }
        let resumed = try StyleGAN(tinyStyleGANConfig(), seed: 99)
        for ((_, to), (_, from)) in zip(resumed.stateTensors, first.stateTensors) {
            to.data.update(from: from.data, count: from.count)
        }
        for name in first.counterNames { try resumed.setCounter(name, try first.counter(name)) }
        resumed.lastPenalties = first.lastPenalties
        var resumedLosses: [[Float]] = []
        for b in batches.suffix(2) { resumedLosses.append(try resumed.trainStep([b])) }

        XCTAssertEqual(Array(straightLosses.suffix(2)), resumedLosses)
        for ((name, a), (_, b)) in zip(straight.stateTensors, resumed.stateTensors) {
            XCTAssertEqual(a.values, b.values, name)
        }
        XCTAssertTrue(straightLosses.joined().allSatisfy { $0.isFinite })
        XCTAssertNotEqual(straight.trainer!.plMean.item, 0, "path-length regularization ran")
        XCTAssertTrue(straight.stateTensors.contains { $0.0 == "G_ema.mapping.w_avg" })
    }
}
