import Glibc
import XCTest

@testable import SwiftGANCore
@testable import SwiftGANModels

final class ProjectorTests: XCTestCase {
    /// A tiny model, one of its images (seed 5, constant noise) and a projection of that image.
    func project(
        _ configure: (inout Projector.Options) -> Void = { _ in }
    ) throws -> (StyleGAN, Tensor, Projector) {
        let model = try StyleGAN(tinyStyleGANConfig(), seed: 11)
        var sampler = RandomGenerator(seed: 5)
        let image = try model.synthesis(try model.mapping(try sampler.normal([1, 8])))
        var options = Projector.Options()
        (options.numSteps, options.wAvgSamples) = (200, 500)
        configure(&options)
        return (model, image, try Projector(model, target: image, labels: nil, options: options))
    }

    func testRolledAndNoiseRegularizationFollowNVlabs() throws {
        let map = try randomTensor([16, 16], seed: 3)
        let x = try reshape(map, [1, 1, 16, 16])
        let right = try Projector.rolled(x, dim: 3), down = try Projector.rolled(x, dim: 2)
        for i in 0..<16 {
            for j in 0..<16 {
                XCTAssertEqual(right.data[i * 16 + j], map.data[i * 16 + (j + 15) % 16])
                XCTAssertEqual(down.data[i * 16 + j], map.data[((i + 15) % 16) * 16 + j])
            }
        }
        // Two scales (16x16, then 8x8 by 2x2 averages), each the squared mean product with both shifts.
        var expected = 0.0
        var values = map.values.map(Double.init), side = 16
        while true {
            for (di, dj) in [(0, 1), (1, 0)] {
                var s = 0.0
                for i in 0..<side {
                    for j in 0..<side {
                        s += values[i * side + j] * values[((i + side - di) % side) * side + (j + side - dj) % side]
                    }
                }
                expected += (s / Double(side * side)) * (s / Double(side * side))
            }
            if side <= 8 { break }
            let half = side / 2
            values = (0..<half * half).map { k in
                let (i, j) = (2 * (k / half), 2 * (k % half))
                return
                    (values[i * side + j] + values[i * side + j + 1] + values[(i + 1) * side + j]
                    + values[(i + 1) * side + j + 1]) / 4
            }
            side = half
        }
        let got = try Projector.noiseRegularization([map]).item
        XCTAssertEqual(Double(got), expected, accuracy: 1e-6 * Swift.max(1, expected))
    }

    /// The loss's gradient with respect to w and a noise map, through the synthesis network (and D's features),
    /// against finite differences.
    func testLossGradientMatchesFiniteDifferences() throws {
        for distance in [Projector.Distance.pixel, .discriminator] {
            let (_, _, projector) = try project {
                $0.distance = distance
                $0.space = .wPlus
                $0.regularizeNoiseWeight = 10
            }
            let map = projector.noiseMaps[1].1
            let error = try gradientError([projector.wOpt, map], step: 1e-2) { _ in
                let images = try projector.synthesize(projector.wOpt)
                let reg = try Projector.noiseRegularization(projector.noiseMaps.map(\.1))
                return try add(try projector.distance(images), try scale(reg, projector.options.regularizeNoiseWeight))
            }
            XCTAssertLessThan(error, 2e-2, "\(distance)")
        }
    }

    func testProjectionInWPlusRecoversTheModelsOwnImage() throws {
        let (model, image, projector) = try project { $0.space = .wPlus }
        let before = model.generatorEMA.state.map { $0.1.values }
        var first: Float = 0
        for i in 0..<projector.options.numSteps {
            let losses = try projector.step()
            if i == 0 { first = losses.distance }
        }
        XCTAssertThrowsError(try projector.step())  // every step taken
        let reconstruction = try projector.image()
        let mse = try mseLoss(reconstruction, image).item
        let psnr = 10 * Glibc.log10(4 / mse)
        XCTAssertGreaterThan(psnr, 30, "PSNR \(psnr) dB (first distance \(first))")
        XCTAssertEqual(try projector.ws.shape, [1, 4, 8])
        // The projector optimizes its own copy: the model's G_ema, noise buffers included, is untouched.
        XCTAssertTrue(zip(before, model.generatorEMA.state).allSatisfy { $0 == $1.1.values })
    }

    func testNoiseMapsStayNormalized() throws {
        let (_, _, projector) = try project()
        for _ in 0..<3 { _ = try projector.step() }
        for (name, map) in projector.noiseMaps {
            let values = map.values.map(Double.init)
            let mean = values.reduce(0, +) / Double(values.count)
            let meanSquare = values.reduce(0) { $0 + $1 * $1 } / Double(values.count)
            XCTAssertEqual(mean, 0, accuracy: 1e-5, name)
            XCTAssertEqual(meanSquare, 1, accuracy: 1e-4, name)
        }
    }

    func testStoppedStepChangesNothing() throws {
        let (_, _, stopped) = try project()
        let (_, _, straight) = try project()
        _ = try stopped.step()
        _ = try straight.step()
        let state = { (p: Projector) in [p.wOpt.values] + p.noiseMaps.map { $0.1.values } }
        let before = state(stopped)
        XCTAssertThrowsError(
            try StepTransaction.run(interval: 0, shouldCancel: { true }, restore: {}) { try stopped.step() })
        XCTAssertEqual(state(stopped), before)
        XCTAssertEqual(stopped.stepsTaken, 1)
        XCTAssertEqual(try stopped.step().loss, try straight.step().loss)
        XCTAssertEqual(state(stopped), state(straight))
    }

    func testBadArgumentsAreRefused() throws {
        let model = try StyleGAN(tinyStyleGANConfig(), seed: 11)
        let good = try Tensor(zeros: [1, 3, 8, 8])
        var options = Projector.Options()
        options.wAvgSamples = 10
        XCTAssertThrowsError(
            try Projector(model, target: try Tensor(zeros: [1, 3, 4, 4]), labels: nil, options: options))
        XCTAssertThrowsError(try Projector(model, target: good, labels: try Tensor(zeros: [1, 2]), options: options))
        let nan = try Tensor(repeating: .nan, shape: [1, 3, 8, 8])
        XCTAssertThrowsError(try Projector(model, target: nan, labels: nil, options: options))
        for change in [
            { (o: inout Projector.Options) in o.numSteps = 0 }, { $0.lrRampupLength = 0 }, { $0.wAvgSamples = 0 },
            { $0.initialLearningRate = -1 }, { $0.regularizeNoiseWeight = .infinity },
        ] {
            var bad = options
            change(&bad)
            XCTAssertThrowsError(try Projector(model, target: good, labels: nil, options: bad))
        }
        var generating = tinyStyleGANConfig()
        generating.trainable = false
        options.distance = .discriminator
        XCTAssertThrowsError(
            try Projector(try StyleGAN(generating, seed: 1), target: good, labels: nil, options: options))
    }
}
