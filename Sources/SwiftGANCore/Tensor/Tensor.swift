/// An n-dimensional float32 array in row-major (NCHW) order, and a node of the autodiff graph.
///
/// Values are treated as immutable by ops: every op returns a new tensor. Only leaves (parameters, buffers)
/// are updated in place, by optimizers and running-statistics updates.
public final class Tensor: @unchecked Sendable {
    /// The size of each dimension.
    public let shape: [Int]
    /// The values (possibly shared with other tensors of the same element count, e.g. after `reshape`).
    public let storage: Storage
    /// Number of elements.
    public let count: Int
    /// Whether gradients flow to (or through) this tensor.
    public internal(set) var requiresGrad: Bool
    /// The gradient accumulated by `backward` (leaves only).
    public var grad: Tensor?
    /// The op that produced this tensor, when it was recorded on the tape.
    var gradFn: GradFn?

    /// A tensor over existing storage; `storage` must hold at least the shape's element count.
    init(shape: [Int], storage: Storage, requiresGrad: Bool = false) {
        self.shape = shape
        self.storage = storage
        self.count = shape.reduce(1, *)
        self.requiresGrad = requiresGrad
    }

    /// A tensor of `shape` with uninitialized values.
    public convenience init(uninitialized shape: [Int]) throws {
        let n = try Shape.checkedCount(shape)
        self.init(shape: shape, storage: try Storage(uninitialized: n))
    }

    /// A tensor of `shape` filled with `value`.
    public convenience init(repeating value: Float, shape: [Int]) throws {
        let n = try Shape.checkedCount(shape)
        self.init(shape: shape, storage: try Storage(repeating: value, count: n))
    }

    /// A tensor of zeros.
    public convenience init(zeros shape: [Int]) throws { try self.init(repeating: 0, shape: shape) }

    /// A tensor holding `values` (whose count must match the shape).
    public convenience init(_ values: [Float], shape: [Int]) throws {
        try self.init(uninitialized: shape)
        guard values.count == count else {
            throw SwiftGANError.invalidArgument("\(values.count) values do not fill shape \(Shape.describe(shape))")
        }
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    /// A 0-d tensor.
    public convenience init(scalar: Float) {
        self.init(shape: [], storage: Storage(scalar: scalar))
    }

    /// Pointer to the first value.
    @inline(__always) public var data: UnsafeMutablePointer<Float> { storage.pointer }
    /// Number of dimensions.
    public var rank: Int { shape.count }
    /// True for tensors no recorded op produced.
    public var isLeaf: Bool { gradFn == nil }
    /// The values as an array.
    public var values: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }
    /// The first value (the value of a 0-d tensor).
    public var item: Float { data[0] }

    /// Marks a leaf as a parameter whose gradient `backward` accumulates.
    public func setRequiresGrad(_ flag: Bool) throws {
        guard isLeaf else {
            throw SwiftGANError.invalidArgument("requires_grad can only be changed on leaf tensors")
        }
        requiresGrad = flag
    }

    /// The same values, cut from the tape.
    public func detached() -> Tensor { Tensor(shape: shape, storage: storage) }

    /// A new tensor with a copy of the values.
    public func copy() throws -> Tensor {
        let t = try Tensor(uninitialized: shape)
        t.data.update(from: data, count: count)
        return t
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String { "Tensor(\(Shape.describe(shape))\(requiresGrad ? ", requiresGrad" : ""))" }
}
