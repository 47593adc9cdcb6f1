import XCTest

@testable import SwiftGANCore
@testable import SwiftGANDistributed
@testable import SwiftGANModels
@testable import SwiftGANNN
@testable import SwiftGANOptim

/// A training step stopped at any point leaves every model exactly as it was, and training on is bit-identical to
/// training that was never interrupted.
final class StepTransactionTests: XCTestCase {
    /// Every state tensor's values and every counter.
    struct Snapshot: Equatable {
        let tensors: [String: [Float]], counters: [String: Int64]

        init(_ model: any GANModel) throws {
            tensors = Dictionary(uniqueKeysWithValues: model.stateTensors.map { ($0.0, $0.1.values) })
            counters = Dictionary(uniqueKeysWithValues: try model.counterNames.map { ($0, try model.counter($0)) })
        }
    }

    /// Stops the step after `stopAt` cancellation checks (checked at every allocation), or counts the checks of a
    /// whole step when `stopAt` is nil; returns the number of checks.
    @discardableResult
    func step(_ model: any GANModel, _ batches: [Tensor], stopAt: Int?) throws -> Int {
        var checks = 0
        _ = try StepTransaction.run(
            model, interval: 0,
            shouldCancel: {
                checks += 1
                return checks == stopAt
            }
        ) { try model.trainStep(batches) }
        return checks
    }

    /// For a model after `warmUp` steps: a step cancelled at each of `samples` points spread over the step leaves
    /// the model unchanged, and the next full step matches an uninterrupted model's.
    func checkRollback(
        _ make: () throws -> any GANModel, batches: [[Tensor]], warmUp: Int, samples: Int = 24,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let reference = try make()
        for b in batches.prefix(warmUp) { _ = try reference.trainStep(b) }
        let checks = try step(reference, batches[warmUp], stopAt: nil)
        let expected = try Snapshot(reference)
        XCTAssertGreaterThan(checks, samples, "checks per step", file: file, line: line)

        let model = try make()
        for b in batches.prefix(warmUp) { _ = try model.trainStep(b) }
        let before = try Snapshot(model)
        for k in 0..<samples {
            let stopAt = 1 + k * (checks - 1) / (samples - 1)
            XCTAssertThrowsError(
                try step(model, batches[warmUp], stopAt: stopAt), "stopped at check \(stopAt)", file: file, line: line
            ) {
                guard case SwiftGANError.cancelled = $0 else { return XCTFail("\($0)", file: file, line: line) }
            }
            let after = try Snapshot(model)
            for (name, values) in before.tensors where after.tensors[name] != values {
                XCTFail("stopped at check \(stopAt) of \(checks): \(name) changed", file: file, line: line)
            }
            XCTAssertEqual(
                after.counters, before.counters, "stopped at check \(stopAt) of \(checks)", file: file, line: line)
        }
        try step(model, batches[warmUp], stopAt: nil)
        XCTAssertTrue(try Snapshot(model) == expected, "a full step after stopped ones", file: file, line: line)
    }

    func batches(_ count: Int, _ shapes: [[Int]]) throws -> [[Tensor]] {
        var rng = RandomGenerator(seed: 11)
        return try (0..<count).map { _ in try shapes.map { try rng.uniform($0, low: -1, high: 1) } }
    }

    func testDCGANStepRollsBack() throws {
        var c = DCGAN.Config()
        (c.imageSize, c.channels, c.nz, c.ngf, c.ndf) = (16, 1, 8, 8, 8)
        try checkRollback({ try DCGAN(c, seed: 1) }, batches: try batches(3, [[4, 1, 16, 16]]), warmUp: 2)
    }

    /// After warm-up the pools are full, so the step swaps pooled images.
    func testCycleGANStepRollsBack() throws {
        var c = CycleGAN.Config()
        (c.imageSize, c.ngf, c.ndf, c.nBlocks, c.poolSize, c.epochSteps, c.nLayersD) = (16, 4, 4, 1, 3, 2, 2)
        try checkRollback(
            { try CycleGAN(c, seed: 1) }, batches: try batches(4, [[2, 3, 16, 16], [2, 3, 16, 16]]), warmUp: 3)
    }

    /// A step with both regularizers, adaptive augmentation's update and the EMA.
    func testStyleGANStepRollsBack() throws {
        var c = tinyStyleGANConfig()
        (c.ada, c.adaInterval, c.augmentP) = (true, 1, 0.5)
        try checkRollback({ try StyleGAN(c, seed: 1) }, batches: try batches(3, [[4, 3, 8, 8]]), warmUp: 2)
    }

    /// A step that fails before its final updates (here on allocation budgets it runs out of at ever later points,
    /// until one is enough) is rolled back too.
    func testFailedStepRollsBack() throws {
        var c = DCGAN.Config()
        (c.imageSize, c.channels, c.nz, c.ngf, c.ndf) = (16, 1, 8, 8, 8)
        let model = try DCGAN(c, seed: 1)
        let batch = try batches(1, [[4, 1, 16, 16]])[0]
        let before = try Snapshot(model)
        var budget = 1000, failures = 0
        while true {
            do {
                _ = try AllocationBudget.with(budget, "test budget") {
                    try StepTransaction.run(model, shouldCancel: { false }) { try model.trainStep(batch) }
                }
                break
            } catch SwiftGANError.outOfMemory {
                failures += 1
                XCTAssertTrue(try Snapshot(model) == before, "failed under a budget of \(budget) floats")
            }
            budget = budget * 5 / 4
        }
        XCTAssertGreaterThan(failures, 10)
        XCTAssertEqual(model.step, 1)
    }
}
