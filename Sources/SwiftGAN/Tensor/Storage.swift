import Glibc

/// A heap buffer of floats, freed when the last tensor that uses it goes away.
public final class Storage: @unchecked Sendable {
    /// The first element; 64-byte aligned.
    public let pointer: UnsafeMutablePointer<Float>
    /// Number of floats.
    public let count: Int

    /// Largest single buffer the engine will allocate (16 GiB): larger requests fail with `outOfMemory`.
    public static let maxElements = 1 << 32

    /// Allocates `count` uninitialized floats.
    public init(uninitialized count: Int) throws {
        guard count >= 0, count <= Storage.maxElements else {
            throw SwiftGANError.outOfMemory("cannot allocate \(count) floats (limit \(Storage.maxElements))")
        }
        var raw: UnsafeMutableRawPointer? = nil
        guard posix_memalign(&raw, 64, Swift.max(count, 1) * MemoryLayout<Float>.stride) == 0, let raw else {
            throw SwiftGANError.outOfMemory("out of memory allocating \(count) floats")
        }
        pointer = raw.bindMemory(to: Float.self, capacity: Swift.max(count, 1))
        self.count = count
    }

    /// Allocates `count` floats set to `value`.
    public convenience init(repeating value: Float, count: Int) throws {
        try self.init(uninitialized: count)
        if value == 0 {
            memset(pointer, 0, count * MemoryLayout<Float>.stride)
        } else {
            pointer.initialize(repeating: value, count: count)
        }
    }

    deinit { free(pointer) }
}
