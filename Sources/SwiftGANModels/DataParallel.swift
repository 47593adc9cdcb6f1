import SwiftGANCore
import SwiftGANNN
import SwiftGANOptim

/// Synchronous data parallelism for a `GANModel`: every rank holds the whole model, trains on its own shard of
/// each global batch, and stays identical to the others because
/// - every optimizer averages its gradients over all ranks before each update (`averageGradients`, through the
///   step's `ExecutionContext`), which covers
///   D steps, G steps and lazy regularization steps alike;
/// - the model's RNG draws, on rank r, exactly slice r of what one process would draw for the global batch
///   (`RandomGenerator.shard`), so noise is never repeated across ranks and the offsets stay equal;
/// - model-specific statistics that steer training (StyleGAN's ADA signs and path-length mean) are reduced by the
///   model through `communicator`;
/// - the networks' buffers (BatchNorm running statistics, StyleGAN's w_avg) are averaged over ranks after every
///   step (in double precision, so buffers that are already equal stay bit-identical), so every rank, and the
///   checkpoint rank 0 writes, holds the same state; running means and w_avg then equal one process's;
/// - the losses a step returns are averaged over ranks.
/// BatchNorm normalizes with each rank's own batch statistics, as the reference implementations do, unless
/// `syncBatchNorm`.
public final class DataParallel {
    public let communicator: any Communicator
    /// Batch statistics over all ranks' batches (`SyncBatchNorm`) rather than per rank.
    public let syncBatchNorm: Bool

    /// Attaches data parallelism to `model` (collective: every rank calls it): rank 0's complete state (tensors and
    /// counters) is broadcast so all ranks start identical, and the RNG gets its shard. Returns the attached object,
    /// also stored as `model.dataParallel`.
    @discardableResult
    public static func attach(
        to model: any GANModel, communicator: any Communicator, syncBatchNorm: Bool
    ) throws -> DataParallel {
        let dp = DataParallel(communicator: communicator, syncBatchNorm: syncBatchNorm)
        WeightEpoch.advance()
        for (_, t) in model.stateTensors {
            try communicator.broadcast(UnsafeMutableRawPointer(t.data), bytes: t.count * 4, root: 0)
        }
        var counters = try model.counterNames.map { try model.counter($0) }
        try counters.withUnsafeMutableBytes { try communicator.broadcast($0.baseAddress!, bytes: $0.count, root: 0) }
        for (name, value) in zip(model.counterNames, counters) { try model.setCounter(name, value) }
        model.rng.shard = (UInt64(communicator.rank), UInt64(communicator.size))
        model.dataParallel = dp
        return dp
    }

    /// Detaches data parallelism from `model`: it trains alone again.
    public static func detach(from model: any GANModel) {
        model.rng.shard = (0, 1)
        model.dataParallel = nil
    }

    init(communicator: any Communicator, syncBatchNorm: Bool) {
        (self.communicator, self.syncBatchNorm) = (communicator, syncBatchNorm)
    }

    /// The number of ranks.
    public var worldSize: Int { communicator.size }

    /// One training step of `model` on this rank's shard, with the losses averaged over all ranks.
    public func trainStep(_ model: any GANModel, _ batches: [Tensor]) throws -> [Float] {
        let losses = try ExecutionContext.withCommunicator(communicator, syncBatchNorm: syncBatchNorm) {
            try model.trainStep(batches)
        }
        try averageBuffers(model)
        return try communicator.allreduceMean(losses.map(Double.init)).map(Float.init)
    }

    /// Replaces every buffer of every network by its mean over the ranks.
    func averageBuffers(_ model: any GANModel) throws {
        let buffers = model.nets.flatMap { $0.1.buffers.map(\.1) }
        var values = [Double]()
        values.reserveCapacity(buffers.reduce(0) { $0 + $1.count })
        for b in buffers { for i in 0..<b.count { values.append(Double(b.data[i])) } }
        let mean = try communicator.allreduceMean(values)
        var offset = 0
        for b in buffers {
            for i in 0..<b.count { b.data[i] = Float(mean[offset + i]) }
            offset += b.count
        }
    }
}

extension GANModel {
    /// One training step: through `dataParallel` when attached, else `trainStep` alone.
    public func distributedTrainStep(_ batches: [Tensor]) throws -> [Float] {
        if let dp = dataParallel { return try dp.trainStep(self, batches) }
        return try trainStep(batches)
    }

    /// The number of ranks training this model (1 without data parallelism).
    public var worldSize: Int { dataParallel?.worldSize ?? 1 }
}
