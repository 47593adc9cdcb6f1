import Glibc

/// A heap buffer of floats, freed when the last tensor that uses it goes away.
///
/// Large buffers are recycled through `BufferCache`: a training loop allocates the same sizes every step, so
/// after the first step its tensors reuse memory instead of faulting in fresh pages from the kernel.
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
        self.count = count
        if let p = BufferCache.take(count) {
            pointer = p
            return
        }
        var raw: UnsafeMutableRawPointer? = nil
        guard posix_memalign(&raw, 64, Swift.max(count, 1) * MemoryLayout<Float>.stride) == 0, let raw else {
            throw SwiftGANError.outOfMemory("out of memory allocating \(count) floats")
        }
        pointer = raw.bindMemory(to: Float.self, capacity: Swift.max(count, 1))
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

    deinit {
        if !BufferCache.give(pointer, count) { free(pointer) }
    }
}

/// Freed buffers of at least `minimumCount` floats, kept by exact size for reuse, up to `limitBytes` in all.
public enum BufferCache {
    static let minimumCount = 1 << 14
    nonisolated(unsafe) static var limitBytes = 256 << 20
    nonisolated(unsafe) private static var buffers: [Int: [UnsafeMutablePointer<Float>]] = [:]
    nonisolated(unsafe) private static var cachedBytes = 0
    nonisolated(unsafe) private static var mutex: pthread_mutex_t = {
        var m = pthread_mutex_t()
        pthread_mutex_init(&m, nil)
        return m
    }()

    static func take(_ count: Int) -> UnsafeMutablePointer<Float>? {
        guard count >= minimumCount else { return nil }
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        guard let p = buffers[count]?.popLast() else { return nil }
        cachedBytes -= count * MemoryLayout<Float>.stride
        return p
    }

    /// Keeps the buffer if it is large enough and fits the limit; false means the caller frees it.
    static func give(_ p: UnsafeMutablePointer<Float>, _ count: Int) -> Bool {
        let bytes = count * MemoryLayout<Float>.stride
        guard count >= minimumCount else { return false }
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        guard cachedBytes + bytes <= limitBytes else { return false }
        buffers[count, default: []].append(p)
        cachedBytes += bytes
        return true
    }

    /// Frees every cached buffer, returning the memory to the system allocator.
    public static func clear() {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        for list in buffers.values { for p in list { free(p) } }
        buffers = [:]
        cachedBytes = 0
    }

    /// Bytes currently held for reuse.
    public static var bytes: Int {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return cachedBytes
    }
}
