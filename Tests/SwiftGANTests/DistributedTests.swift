import XCTest

@testable import SwiftGANCore
@testable import SwiftGANDistributed
@testable import SwiftGANModels
@testable import SwiftGANNN
@testable import SwiftGANOptim

/// A world of `size` ranks in one process in which every other rank holds exactly this rank's data: a sum over
/// the ranks is `size` times the local value. Enough to check the collective math without MPI.
final class ReplicaCommunicator: Communicator {
    let rank = 0
    let size: Int
    init(size: Int) { self.size = size }
    func allreduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {
        for i in 0..<count { buffer[i] *= Float(size) }
    }
    func allreduceSum(_ buffer: UnsafeMutablePointer<Double>, count: Int) throws {
        for i in 0..<count { buffer[i] *= Double(size) }
    }
    func broadcast(_ buffer: UnsafeMutableRawPointer, bytes: Int, root: Int) throws {}
    func barrier() throws {}
}

final class DistributedTests: XCTestCase {
    /// Shard r of a sharded draw is slice r of the unsharded draw of the whole, for counts that do not fill
    /// Philox blocks evenly, and every shard's offset ends where the whole draw's does.
    func testShardedDrawsAreSlicesOfTheGlobalDraw() throws {
        for (world, count) in [(2, 5), (3, 7), (4, 100), (2, 1)] {
            var whole = RandomGenerator(seed: 9, offset: 3)
            let expected = try whole.normal([world * count])
            for r in 0..<world {
                var shard = RandomGenerator(seed: 9, offset: 3)
                shard.shard = (UInt64(r), UInt64(world))
                let values = try shard.normal([count])
                XCTAssertEqual(
                    (0..<count).map { values.data[$0] }, (0..<count).map { expected.data[r * count + $0] },
                    "world \(world), count \(count), shard \(r)")
                XCTAssertEqual(shard.offset, whole.offset)
            }
        }
    }

    /// Averaging replaces gradients by their mean over the ranks (here all equal, so unchanged) and leaves a
    /// parameter without a gradient without one; an optimizer update in a data-parallel step averages first.
    func testGradientsAreAveragedOverTheRanks() throws {
        let a = try Tensor([1, 2, 3], shape: [3]), b = try Tensor([4], shape: [1])
        a.grad = try Tensor([0.5, -1, 2], shape: [3])
        try averageGradients([a, b], over: ReplicaCommunicator(size: 4))
        XCTAssertEqual((0..<3).map { a.grad!.data[$0] }, [0.5, -1, 2])
        XCTAssertNil(b.grad)
        // A communicator that doubles every sum: the update sees gradients of 2 * g / 2 = g only if it averaged.
        final class Doubling: Communicator {
            let rank = 0, size = 2
            func allreduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {}
            func allreduceSum(_ buffer: UnsafeMutablePointer<Double>, count: Int) throws {}
            func broadcast(_ buffer: UnsafeMutableRawPointer, bytes: Int, root: Int) throws {}
            func barrier() throws {}
        }
        let p = try Tensor([1], shape: [1])
        try p.setRequiresGrad(true)
        p.grad = try Tensor([4], shape: [1])
        let sgd = try SGD([p])
        try ExecutionContext.withCommunicator(Doubling(), syncBatchNorm: false) { try sgd.update(lr: 1) }
        XCTAssertEqual(p.data[0], 1 - 2)  // the local sum 4 over 2 ranks: a mean gradient of 2
    }

    /// Synchronized BatchNorm over W identical replicas of x computes what BatchNorm computes on W copies of x
    /// concatenated: the output, the running statistics, the input gradient of the summed losses, and (summed over
    /// the ranks) the affine gradients.
    func testSyncBatchNormEqualsBatchNormOverTheConcatenatedBatch() throws {
        var rng = RandomGenerator(seed: 4)
        let world = 3
        let x = try rng.normal([2, 3, 2, 2]), seed = try rng.normal([2, 3, 2, 2])
        func run(_ input: Tensor, _ upstream: Tensor, sync: Bool) throws -> (Tensor, [Tensor?], Tensor, Tensor) {
            let weight = try Tensor([1.5, 0.7, -1.1], shape: [3]), b = try Tensor([0.1, -0.2, 0.3], shape: [3])
            for t in [input, weight, b] { try t.setRequiresGrad(true) }
            let rm = try Tensor(zeros: [3]), rv = try Tensor(repeating: 1, shape: [3])
            let normalize = {
                try batchNorm(input, runningMean: rm, runningVar: rv, weight: weight, bias: b, training: true)
            }
            let out =
                sync
                ? try ExecutionContext.withCommunicator(
                    ReplicaCommunicator(size: world), syncBatchNorm: true, normalize)
                : try normalize()
            let grads = try Autograd.grad([out], seeds: [upstream], wrt: [input, weight, b])
            return (out, grads, rm, rv)
        }
        let (out, grads, rm, rv) = try run(x, seed, sync: true)
        let (outAll, gradsAll, rmAll, rvAll) = try run(
            try cat(Array(repeating: x, count: world)).detached(),
            try cat(Array(repeating: seed, count: world)), sync: false)
        XCTAssertLessThan(relativeError(out, try narrow(outAll, dim: 0, start: 0, length: 2)), 1e-5)
        XCTAssertLessThan(relativeError(grads[0]!, try narrow(gradsAll[0]!, dim: 0, start: 0, length: 2)), 1e-4)
        XCTAssertLessThan(relativeError(try scale(grads[1]!, Float(world)), gradsAll[1]!), 1e-5)
        XCTAssertLessThan(relativeError(try scale(grads[2]!, Float(world)), gradsAll[2]!), 1e-5)
        XCTAssertLessThan(relativeError(rm, rmAll), 1e-5)
        XCTAssertLessThan(relativeError(rv, rvAll), 1e-5)
    }
}
