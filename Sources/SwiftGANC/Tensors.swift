import Glibc
import SwiftGANCore
import SwiftGANDistributed
import SwiftGANModels
import SwiftGANOptim

/// Handles: an sg_tensor* is a retained Unmanaged<Handle>, a tensor and, for a model's state tensor, that model
/// (whose lock reading and writing it hold, see `CallLock`).
final class Handle {
    let tensor: Tensor
    let owner: ModelBox?

    private init(_ tensor: Tensor, owner: ModelBox?) { (self.tensor, self.owner) = (tensor, owner) }

    static func make(_ t: Tensor, owner: ModelBox? = nil) -> OpaquePointer {
        OpaquePointer(Unmanaged.passRetained(Handle(t, owner: owner)).toOpaque())
    }

    static func from(_ p: OpaquePointer?, _ argument: String) throws -> Handle {
        Unmanaged<Handle>.fromOpaque(UnsafeRawPointer(try nonNull(p, argument))).takeUnretainedValue()
    }

    static func tensor(_ p: OpaquePointer?, _ argument: String) throws -> Tensor { try from(p, argument).tensor }

    static func optionalTensor(_ p: OpaquePointer?) -> Tensor? {
        p.map { Unmanaged<Handle>.fromOpaque(UnsafeRawPointer($0)).takeUnretainedValue().tensor }
    }

    static func store(_ t: Tensor?, _ out: UnsafeMutablePointer<OpaquePointer?>) { out.pointee = t.map { make($0) } }

    /// Runs `body` on the tensor behind `p`, holding its owner model if it has one.
    static func withTensor<T>(_ p: OpaquePointer?, _ argument: String, _ body: (Tensor) throws -> T) throws -> T {
        let handle = try from(p, argument)
        guard let owner = handle.owner else { return try body(handle.tensor) }
        return try owner.lock.hold { try body(handle.tensor) }
    }
}

/// A shape from a C array, checked for rank and size.
func readShape(_ shape: UnsafePointer<Int64>?, _ ndim: Int32, _ argument: String) throws -> [Int] {
    guard ndim >= 0, ndim <= Int32(Shape.maxRank) else {
        throw SwiftGANError.invalidArgument("\(argument): expected at most \(Shape.maxRank) dimensions, got \(ndim)")
    }
    if ndim == 0 { return [] }
    let p = try nonNull(shape, argument)
    let dims = (0..<Int(ndim)).map { Int(p[$0]) }
    guard Shape.count(dims) != nil else {
        throw SwiftGANError.outOfMemory("\(argument): shape \(Shape.describe(dims)) is negative or too large")
    }
    return dims
}

@_cdecl("sg_tensor_create")
public func sg_tensor_create(
    _ data: UnsafePointer<Float>?, _ shape: UnsafePointer<Int64>?, _ ndim: Int32,
    _ requiresGrad: Int32, _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> Int32 {
    guarded {
        let out = try nonNull(out, "out")
        let t = try Tensor(uninitialized: try readShape(shape, ndim, "shape"))
        if t.count > 0 { t.data.update(from: try nonNull(data, "data"), count: t.count) }
        try t.setRequiresGrad(requiresGrad != 0)
        Handle.store(t, out)
    }
}

@_cdecl("sg_tensor_release")
public func sg_tensor_release(_ t: OpaquePointer?) {
    guard let t else { return }
    Unmanaged<Handle>.fromOpaque(UnsafeRawPointer(t)).release()
}

@_cdecl("sg_tensor_ndim")
public func sg_tensor_ndim(_ t: OpaquePointer?) -> Int32 { Handle.optionalTensor(t).map { Int32($0.rank) } ?? -1 }

@_cdecl("sg_tensor_shape")
public func sg_tensor_shape(_ t: OpaquePointer?, _ shape: UnsafeMutablePointer<Int64>?) -> Int32 {
    guarded {
        let t = try Handle.tensor(t, "tensor")
        if t.rank == 0 { return }
        let shape = try nonNull(shape, "shape")
        for (i, d) in t.shape.enumerated() { shape[i] = Int64(d) }
    }
}

@_cdecl("sg_tensor_numel")
public func sg_tensor_numel(_ t: OpaquePointer?) -> Int64 { Handle.optionalTensor(t).map { Int64($0.count) } ?? -1 }

@_cdecl("sg_tensor_read")
public func sg_tensor_read(_ t: OpaquePointer?, _ dst: UnsafeMutablePointer<Float>?, _ capacity: Int64) -> Int32 {
    guarded {
        try Handle.withTensor(t, "tensor") { t in
            try require(capacity >= Int64(t.count), "dst: holds \(capacity) floats, the tensor has \(t.count)")
            if t.count > 0 { try nonNull(dst, "dst").update(from: t.data, count: t.count) }
        }
    }
}

@_cdecl("sg_tensor_write")
public func sg_tensor_write(_ t: OpaquePointer?, _ src: UnsafePointer<Float>?, _ count: Int64) -> Int32 {
    guarded {
        try Handle.withTensor(t, "tensor") { t in
            try require(count == Int64(t.count), "src: expected \(t.count) floats, got \(count)")
            WeightEpoch.advance()
            if t.count > 0 { t.data.update(from: try nonNull(src, "src"), count: t.count) }
        }
    }
}

@_cdecl("sg_tensor_requires_grad")
public func sg_tensor_requires_grad(_ t: OpaquePointer?) -> Int32 {
    Handle.optionalTensor(t)?.requiresGrad == true ? 1 : 0
}

@_cdecl("sg_tensor_set_requires_grad")
public func sg_tensor_set_requires_grad(_ t: OpaquePointer?, _ flag: Int32) -> Int32 {
    guarded { try Handle.tensor(t, "tensor").setRequiresGrad(flag != 0) }
}

@_cdecl("sg_tensor_grad")
public func sg_tensor_grad(_ t: OpaquePointer?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded { Handle.store(try Handle.tensor(t, "tensor").grad, try nonNull(out, "out")) }
}

@_cdecl("sg_tensor_zero_grad")
public func sg_tensor_zero_grad(_ t: OpaquePointer?) -> Int32 {
    guarded { try Handle.withTensor(t, "tensor") { t in try tapeLock.hold { t.grad = nil } } }
}

@_cdecl("sg_tensor_detach")
public func sg_tensor_detach(_ t: OpaquePointer?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded { Handle.store(try Handle.tensor(t, "tensor").detached(), try nonNull(out, "out")) }
}

@_cdecl("sg_random_normal")
public func sg_random_normal(
    _ seed: UInt64, _ offset: UInt64, _ shape: UnsafePointer<Int64>?, _ ndim: Int32,
    _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> Int32 {
    guarded {
        var rng = RandomGenerator(seed: seed, offset: offset)
        Handle.store(try rng.normal(try readShape(shape, ndim, "shape")), try nonNull(out, "out"))
    }
}

@_cdecl("sg_random_uniform")
public func sg_random_uniform(
    _ seed: UInt64, _ offset: UInt64, _ shape: UnsafePointer<Int64>?, _ ndim: Int32,
    _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> Int32 {
    guarded {
        var rng = RandomGenerator(seed: seed, offset: offset)
        Handle.store(try rng.uniform(try readShape(shape, ndim, "shape")), try nonNull(out, "out"))
    }
}
