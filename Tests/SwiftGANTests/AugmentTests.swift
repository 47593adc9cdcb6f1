import XCTest

@testable import SwiftGANCore
@testable import SwiftGANDistributed
@testable import SwiftGANModels
@testable import SwiftGANNN
@testable import SwiftGANOptim

final class AugmentTests: XCTestCase {
    func testOffAndZeroProbabilityAreTheIdentity() throws {
        var c = tinyStyleGANConfig()
        let plain = try StyleGAN(c, seed: 1)
        XCTAssertNil(plain.trainer!.augment)
        c.ada = true
        let ada = try StyleGAN(c, seed: 1)
        let x = try randomTensor([2, 3, 8, 8], seed: 2)
        let before = ada.rng
        XCTAssertEqual(try ada.discriminate(x).values, try plain.discriminate(x).values)
        XCTAssertEqual(ada.rng, before, "p = 0 draws nothing")
    }

    func testAugmentationIsDifferentiableAndMovesPixels() throws {
        let augment = try AdaptiveAugment(initialP: 1)
        var rng = RandomGenerator(seed: 3)
        let x = try randomTensor([3, 3, 8, 8], seed: 4)
        var rngCopy = rng, rngZero = rng
        let y = try augment(x, rng: &rng)
        let offset = try augment(try Tensor(zeros: x.shape), rng: &rngZero)  // brightness adds a constant
        XCTAssertEqual(y.shape, x.shape)
        XCTAssertNotEqual(y.values, x.values)
        // The adjoint identity <A x, g> = <x, A^T g> for the same draws (A x = augment(x) - augment(0)).
        let g = try randomTensor(x.shape, seed: 5).detached()
        let gx = try Autograd.grad([try augment(x, rng: &rngCopy)], seeds: [g], wrt: [x])[0]!
        let lhs = (0..<y.count).reduce(0.0) { $0 + Double(y.data[$1] - offset.data[$1]) * Double(g.data[$1]) }
        let rhs = (0..<x.count).reduce(0.0) { $0 + Double(x.data[$1]) * Double(gx.data[$1]) }
        XCTAssertEqual(lhs, rhs, accuracy: 1e-4 * Swift.abs(lhs) + 1e-4)
        // Grayscale works too (the mean color row).
        let gray = try randomTensor([2, 1, 8, 8], seed: 6)
        XCTAssertEqual(try augment(gray, rng: &rng).shape, [2, 1, 8, 8])
    }

    func testColorMatrices() throws {
        let flipTwice = Matrix4.lumaFlip * Matrix4.lumaFlip
        let hue = Matrix4.hueRotation(1.1), sat = Matrix4.saturation(1)
        for i in 0..<4 {
            for j in 0..<4 {
                XCTAssertEqual(flipTwice[i, j], i == j ? 1 : 0, accuracy: 1e-12)
                XCTAssertEqual(sat[i, j], i == j ? 1 : 0, accuracy: 1e-12)
            }
        }
        // A hue rotation keeps gray gray: (1, 1, 1) maps to itself.
        for i in 0..<3 { XCTAssertEqual((0..<3).map { hue[i, $0] }.reduce(0, +), 1, accuracy: 1e-12) }
    }

    func testProbabilityFollowsTheSignOfRealLogits() throws {
        let augment = try AdaptiveAugment(target: 0.6, interval: 2, speedImages: 100)
        let confident = try Tensor([1, 1, 1, 1], shape: [4, 1])
        try augment.observe(realLogits: confident, batch: 4, step: 0)
        XCTAssertEqual(augment.p.item, 0, "p moves only every interval")
        try augment.observe(realLogits: confident, batch: 4, step: 1)
        XCTAssertEqual(augment.p.item, 0.08, accuracy: 1e-6)  // 4 * 2 / 100
        let unsure = try Tensor([1, -1, -1, -1], shape: [4, 1])
        try augment.observe(realLogits: unsure, batch: 4, step: 2)
        try augment.observe(realLogits: unsure, batch: 4, step: 3)
        XCTAssertEqual(augment.p.item, 0, accuracy: 1e-6)
    }

    func testResumeWithADAIsBitIdentical() throws {
        var c = tinyStyleGANConfig()
        (c.ada, c.augmentP, c.adaInterval) = (true, 0.5, 2)
        var rng = RandomGenerator(seed: 7)
        let batches = try (0..<4).map { _ in try rng.uniform([4, 3, 8, 8], low: -1, high: 1) }
        let straight = try StyleGAN(c, seed: 8)
        for b in batches { _ = try straight.trainStep([b]) }
        let first = try StyleGAN(c, seed: 8)
        for b in batches.prefix(3) { _ = try first.trainStep([b]) }
        let resumed = try StyleGAN(c, seed: 1)
        for ((_, to), (_, from)) in zip(resumed.stateTensors, first.stateTensors) {
            to.data.update(from: from.data, count: from.count)
        }
        for name in first.counterNames { try resumed.setCounter(name, try first.counter(name)) }
        resumed.lastPenalties = first.lastPenalties
        _ = try resumed.trainStep([batches[3]])
        for ((name, a), (_, b)) in zip(straight.stateTensors, resumed.stateTensors) {
            XCTAssertEqual(a.values, b.values, name)
        }
        XCTAssertNotEqual(straight.trainer!.augment!.p.item, 0.5, "p adapted")
    }
}
