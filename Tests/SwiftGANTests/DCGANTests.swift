import XCTest

@testable import SwiftGANCore
@testable import SwiftGANDistributed
@testable import SwiftGANModels
@testable import SwiftGANNN
@testable import SwiftGANOptim

final class DCGANTests: XCTestCase {
    /// A small DCGAN for fast tests.
    func smallModel(seed: UInt64, size: Int = 16) throws -> DCGAN {
        var c = DCGAN.Config()
        (c.imageSize, c.channels, c.nz, c.ngf, c.ndf) = (size, 1, 8, 8, 8)
        return try DCGAN(c, seed: seed)
    }

    /// The reference networks' outputs (pytorch/examples, training-mode BatchNorm) within 1e-3 relative.
    func testFixtureParity() throws {
        for name in ["dcgan32", "dcgan64"] {
            for net in ["G", "D"] {
                let f = try Fixture("models/\(name)_\(net).safetensors")
                var c = DCGAN.Config()
                c.imageSize = f.int("image_size", 0)
                c.channels = f.int("channels", 0)
                (c.nz, c.ngf, c.ndf) = (f.int("nz", 0), f.int("ngf", 0), f.int("ndf", 0))
                let model = try DCGAN(c, seed: 0)
                let state = Dictionary(uniqueKeysWithValues: try model.net(net).state)
                let weights = f.tensors.filter { $0.key.hasPrefix("main.") }
                XCTAssertEqual(Set(weights.keys), Set(state.keys), "\(name) \(net): state names")
                for (key, value) in weights {
                    XCTAssertEqual(state[key]?.shape, value.shape, "\(name) \(net) \(key)")
                    state[key]?.data.update(from: value.data, count: value.count)
                }
                let out = try model.forward(net: net, f["__input__"], training: true)
                XCTAssertLessThan(relativeError(out, f["__output__"]), 1e-3, "\(name) \(net)")
            }
        }
    }

    func testTrainingIsDeterministicAndResumable() throws {
        var rng = RandomGenerator(seed: 5)
        let batches = try (0..<4).map { _ in try rng.uniform([4, 1, 16, 16], low: -1, high: 1) }
        let straight = try smallModel(seed: 3)
        for b in batches { _ = try straight.trainStep([b]) }

        let first = try smallModel(seed: 3)
        for b in batches.prefix(2) { _ = try first.trainStep([b]) }
        let resumed = try smallModel(seed: 99)  // different init: everything must come from the copied state
        for ((_, to), (_, from)) in zip(resumed.stateTensors, first.stateTensors) {
            to.data.update(from: from.data, count: from.count)
        }
        for name in first.counterNames { try resumed.setCounter(name, try first.counter(name)) }
        for b in batches.suffix(2) { _ = try resumed.trainStep([b]) }

        for ((name, a), (_, b)) in zip(straight.stateTensors, resumed.stateTensors) {
            XCTAssertEqual(a.values, b.values, name)
        }
        XCTAssertEqual(straight.step, 4)
        XCTAssertEqual(try resumed.counter("rng_offset"), try straight.counter("rng_offset"))
    }

    func testTrainStepReportsSaneLosses() throws {
        let model = try smallModel(seed: 1, size: 32)
        var rng = RandomGenerator(seed: 2)
        let losses = try model.trainStep([try rng.uniform([8, 1, 32, 32], low: -1, high: 1)])
        XCTAssertEqual(losses.count, model.lossNames.count)
        XCTAssertTrue(losses.allSatisfy { $0.isFinite })
        XCTAssertEqual(losses[0], 2 * Float(0.6931), accuracy: 0.3)  // log 2 per term near initialization
        let samples = try model.generate(count: 3, seed: 7)
        XCTAssertEqual(samples.shape, [3, 1, 32, 32])
        XCTAssertEqual(samples.values, try model.generate(count: 3, seed: 7).values)
        XCTAssertThrowsError(try model.trainStep([try Tensor(zeros: [8, 3, 32, 32])]))
    }
}
