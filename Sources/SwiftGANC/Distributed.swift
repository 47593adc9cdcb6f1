import Glibc
import SwiftGANCore
import SwiftGANDistributed
import SwiftGANModels
import SwiftGANOptim

/// The process's MPI communicator, or a value error when `sg_dist_init` has not succeeded.
func mpiCommunicator() throws -> MPICommunicator {
    guard let c = MPICommunicator.shared else {
        throw SwiftGANError.invalidArgument("distributed: not initialized (call swiftgan.distributed.init() first)")
    }
    return c
}

@_cdecl("sg_dist_init")
public func sg_dist_init(
    _ library: UnsafePointer<CChar>?, _ rank: UnsafeMutablePointer<Int32>?, _ size: UnsafeMutablePointer<Int32>?
) -> Int32 {
    guarded {
        let (rank, size) = (try nonNull(rank, "rank"), try nonNull(size, "size"))
        let c = try MPICommunicator.initialize(library: library.map { String(cString: $0) })
        (rank.pointee, size.pointee) = (Int32(c.rank), Int32(c.size))
    }
}

@_cdecl("sg_dist_finalize")
public func sg_dist_finalize() -> Int32 { guarded { try MPICommunicator.shared?.finalize() } }

@_cdecl("sg_dist_abort")
public func sg_dist_abort(_ code: Int32) -> Int32 { guarded { try mpiCommunicator().abort(code: code) } }

@_cdecl("sg_dist_barrier")
public func sg_dist_barrier() -> Int32 { guarded { try mpiCommunicator().barrier() } }

@_cdecl("sg_dist_allreduce_sum")
public func sg_dist_allreduce_sum(_ values: UnsafeMutablePointer<Double>?, _ n: Int32) -> Int32 {
    guarded {
        try require(n >= 0, "n: expected a non-negative count, got \(n)")
        guard n > 0 else { return }
        try mpiCommunicator().allreduceSum(try nonNull(values, "values"), count: Int(n))
    }
}

@_cdecl("sg_model_set_data_parallel")
public func sg_model_set_data_parallel(_ m: OpaquePointer?, _ enabled: Int32, _ syncBatchNorm: Int32) -> Int32 {
    guarded {
        try ModelBox.with(m) { box in
            DataParallel.detach(from: box.model)
            if enabled != 0 {
                try DataParallel.attach(
                    to: box.model, communicator: try mpiCommunicator(),
                    syncBatchNorm: syncBatchNorm != 0)
            }
        }
    }
}
