import XCTest

@testable import SwiftGANCore
@testable import SwiftGANDistributed
@testable import SwiftGANModels
@testable import SwiftGANNN
@testable import SwiftGANOptim

final class CycleGANTests: XCTestCase {
    func smallConfig() -> CycleGAN.Config {
        var c = CycleGAN.Config()
        (c.imageSize, c.ngf, c.ndf, c.nBlocks, c.poolSize, c.epochSteps, c.nEpochs, c.nEpochsDecay) = (
            16, 4, 4, 1, 3, 2, 1, 2
        )
        c.nLayersD = 2
        return c
    }

    /// junyanz's ResnetGenerator (6 blocks) and PatchGAN outputs within 1e-3 relative, loaded under their names; also
    /// where nothing records (translation), where the generator's layers fuse (convolutions without the bias that
    /// instance norm cancels, instance norm with its ReLU).
    func testFixtureParity() throws {
        var c = CycleGAN.Config()
        (c.ngf, c.ndf, c.nBlocks, c.imageSize) = (16, 16, 6, 64)
        let model = try CycleGAN(c, seed: 0)
        for (file, net) in [("cyclegan_resnet6_G", "G_A"), ("cyclegan_patchgan_D", "D_A")] {
            let f = try Fixture("models/\(file).safetensors")
            let state = Dictionary(uniqueKeysWithValues: try model.net(net).state)
            let weights = f.tensors.filter { $0.key.hasPrefix("model.") }
            XCTAssertEqual(Set(weights.keys), Set(state.keys), file)
            for (key, value) in weights {
                XCTAssertEqual(state[key]?.shape, value.shape, "\(file) \(key)")
                state[key]?.data.update(from: value.data, count: value.count)
            }
            let out = try model.forward(net: net, f["__input__"], training: false)
            XCTAssertLessThan(relativeError(out, f["__output__"]), 1e-3, file)
            let inference = try noGrad { try model.forward(net: net, f["__input__"], training: false) }
            XCTAssertLessThan(relativeError(inference, f["__output__"]), 1e-3, file)
            XCTAssertLessThan(relativeError(inference, out), 1e-5, file)
        }
    }

    func testResumeIsBitIdenticalIncludingPoolsAndSchedule() throws {
        var rng = RandomGenerator(seed: 5)
        let batches = try (0..<6).map { _ in
            [try rng.uniform([2, 3, 16, 16], low: -1, high: 1), try rng.uniform([2, 3, 16, 16], low: -1, high: 1)]
        }
        let straight = try CycleGAN(smallConfig(), seed: 3)
        var straightLosses: [[Float]] = []
        for b in batches { straightLosses.append(try straight.trainStep(b)) }

        let first = try CycleGAN(smallConfig(), seed: 3)
        for b in batches.prefix(3) { _ = try first.trainStep(b) }
        let resumed = try CycleGAN(smallConfig(), seed: 42)
        for ((_, to), (_, from)) in zip(resumed.stateTensors, first.stateTensors) {
            to.data.update(from: from.data, count: from.count)
        }
        for name in first.counterNames { try resumed.setCounter(name, try first.counter(name)) }
        var resumedLosses: [[Float]] = []
        for b in batches.suffix(3) { resumedLosses.append(try resumed.trainStep(b)) }

        XCTAssertEqual(Array(straightLosses.suffix(3)), resumedLosses)
        for ((name, a), (_, b)) in zip(straight.stateTensors, resumed.stateTensors) {
            XCTAssertEqual(a.values, b.values, name)
        }
        XCTAssertEqual(try straight.counter("pool_A.count"), 3)
        XCTAssertTrue(straightLosses.joined().allSatisfy { $0.isFinite })
    }

    func testScheduleAndValidation() throws {
        let model = try CycleGAN(smallConfig(), seed: 1)
        let rates = try (0..<8).map { s -> Float in
            try model.setCounter("step", Int64(s))
            return model.learningRate
        }
        // epoch_steps 2, 1 constant epoch, then 2 decay epochs: 1, 1, 2/3, 2/3, 1/3, 1/3, 0, 0 (times lr).
        let expected: [Float] = [1, 1, 2.0 / 3, 2.0 / 3, 1.0 / 3, 1.0 / 3, 0, 0].map { $0 * 2e-4 }
        for (r, e) in zip(rates, expected) { XCTAssertEqual(r, e, accuracy: 1e-9) }
        XCTAssertThrowsError(try model.forward(net: "G_A", try Tensor(zeros: [1, 3, 18, 18]), training: false))
        XCTAssertThrowsError(try model.forward(net: "G_A", try Tensor(zeros: [1, 1, 16, 16]), training: false))
        XCTAssertEqual(
            try model.forward(net: "G_B", try Tensor(zeros: [1, 3, 24, 32]), training: false).shape, [1, 3, 24, 32])
        XCTAssertThrowsError(try model.trainStep([try Tensor(zeros: [1, 3, 16, 16])]))
        try model.setCounter("epoch_steps", 4)
        try model.setCounter("step", 5)
        XCTAssertEqual(model.learningRate, 2e-4 * 2 / 3, accuracy: 1e-9)  // step 5 is in epoch 1, the first decay epoch
        XCTAssertEqual(try model.counter("epoch_steps"), 4)
    }

    /// Tiles with margins and whole-image InstanceNorm statistics give the untiled generator's output.
    func testTiledTranslationEqualsTheWholeImage() throws {
        let model = try CycleGAN(smallConfig(), seed: 3)
        var rng = RandomGenerator(seed: 4)
        let x = try rng.uniform([2, 3, 40, 56], low: -1, high: 1)
        let whole = try model.forward(net: "G_B", x, training: false)
        for tile in [16, 24, 40] {
            XCTAssertLessThan(
                relativeError(try model.translate(net: "G_B", x, tile: tile), whole), 1e-5, "tile \(tile)")
        }
        XCTAssertEqual(try model.translate(net: "G_B", x, tile: 64).values, whole.values)  // one tile: untiled
        XCTAssertThrowsError(try model.translate(net: "G_B", x, tile: 18))
        XCTAssertThrowsError(try model.translate(net: "D_A", x, tile: 16))
    }
}
