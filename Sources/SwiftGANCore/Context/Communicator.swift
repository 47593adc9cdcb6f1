/// A group of processes that train one model together (data parallelism): each process (rank) holds a full copy
/// of the model, and collective operations keep the copies identical. Every rank must call the same collectives
/// in the same order with the same counts.
public protocol Communicator: AnyObject {
    /// This process's index in the group, 0 ..< size.
    var rank: Int { get }
    /// The number of processes in the group.
    var size: Int { get }
    /// Replaces `buffer[0 ..< count]` on every rank by its element-wise sum over all ranks.
    func allreduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws
    /// Replaces `buffer[0 ..< count]` on every rank by its element-wise sum over all ranks.
    func allreduceSum(_ buffer: UnsafeMutablePointer<Double>, count: Int) throws
    /// Copies `bytes` bytes at `buffer` on rank `root` to `buffer` on every other rank.
    func broadcast(_ buffer: UnsafeMutableRawPointer, bytes: Int, root: Int) throws
    /// Returns once every rank has called it.
    func barrier() throws
}

extension Communicator {
    /// Sums `values` element-wise over all ranks, in place.
    public func allreduceSum(_ values: inout [Double]) throws {
        guard !values.isEmpty else { return }
        try values.withUnsafeMutableBufferPointer { try allreduceSum($0.baseAddress!, count: $0.count) }
    }

    /// The element-wise mean of `values` over all ranks.
    public func allreduceMean(_ values: [Double]) throws -> [Double] {
        var sums = values
        try allreduceSum(&sums)
        return sums.map { $0 / Double(size) }
    }
}
