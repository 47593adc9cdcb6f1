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
    /// Floats allocated: `count`, or more where a larger cached buffer was reused (`BufferCache.take`).
    let capacity: Int

    /// Largest single buffer the engine will allocate (16 GiB): larger requests fail with `outOfMemory`.
    public static let maxElements = 1 << 32

    /// Requests of at least this many bytes are checked against the memory the system has available.
    static let checkedBytes = 64 << 20

    /// Throws `outOfMemory` (naming `what`) unless `count` floats are within the limit and, for a large request, within
    /// the memory the system has available: with overcommit, malloc would succeed and the first write would bring the
    /// kernel's OOM killer instead of an error.
    public static func checkAllocation(_ count: Int, _ what: String = "tensor") throws {
        guard count >= 0, count <= maxElements else {
            throw SwiftGANError.outOfMemory("\(what): cannot allocate \(count) floats (limit \(maxElements))")
        }
        let bytes = count * MemoryLayout<Float>.stride
        guard bytes >= checkedBytes, let available = availableBytes(), bytes > available else { return }
        BufferCache.clear()  // cached buffers count as used; give them back and look again
        if let available = availableBytes(), bytes > available {
            throw SwiftGANError.outOfMemory(
                "\(what): cannot allocate \(bytes >> 20) MB, the system has \(available >> 20) MB available")
        }
    }

    /// MemAvailable of /proc/meminfo in bytes, or nil where it cannot be read.
    static func availableBytes() -> Int? {
        guard let file = fopen("/proc/meminfo", "r") else { return nil }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if text.hasPrefix("MemAvailable:"),
                let kilobytes = text.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
            {
                return kilobytes * 1024
            }
        }
        return nil
    }

    /// Allocates `count` uninitialized floats.
    public init(uninitialized count: Int) throws {
        let context = ExecutionContext.current
        try context.transaction?.checkCancellation()  // every op allocates its result: a cancelled step stops here
        try Storage.checkAllocation(count)
        try AllocationBudget.charge(count, context)
        self.count = count
        if let (p, capacity) = BufferCache.take(count) {
            (pointer, self.capacity) = (p, capacity)
            return
        }
        capacity = count
        let bytes = Swift.max(count, 1) * MemoryLayout<Float>.stride, huge = bytes >= Storage.hugePageBytes
        var raw: UnsafeMutableRawPointer? = nil
        guard posix_memalign(&raw, huge ? Storage.hugePageSize : 64, bytes) == 0, let raw else {
            throw SwiftGANError.outOfMemory("out of memory allocating \(count) floats")
        }
        // Where the system gives huge pages on request only (transparent_hugepage = madvise), ask for them: the
        // kernels stride over channel planes megabytes apart, one translation-cache miss per 4 KB page otherwise.
        if huge { _ = madvise(raw, bytes / Storage.hugePageSize * Storage.hugePageSize, MADV_HUGEPAGE) }
        pointer = raw.bindMemory(to: Float.self, capacity: Swift.max(count, 1))
    }

    /// x86-64's huge page, and the smallest buffer allocated on huge-page boundaries with huge pages requested.
    static let hugePageSize = 2 << 20
    static let hugePageBytes = 4 << 20

    /// One float set to `value`, allocated without any check (it cannot fail).
    init(scalar value: Float) {
        (count, capacity) = (1, 1)
        pointer = malloc(MemoryLayout<Float>.stride)!.bindMemory(to: Float.self, capacity: 1)  // freed by deinit
        pointer.initialize(to: value)
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
        if !BufferCache.give(pointer, capacity) { free(pointer) }
    }
}

/// Freed buffers of at least `minimumCount` floats, kept by size for reuse, up to `limitBytes` in all; the least
/// recently freed go first when a new one would pass the limit.
///
/// A generator or a training step asks for the same sizes on every call, so from the second call on its
/// activations reuse these buffers instead of faulting in (and zeroing) fresh pages: about a quarter of the time of
/// a StyleGAN2 1024 px batch. A request takes a buffer of its own size, else the smallest cached one at most
/// `maxOversize` times larger: a step whose passes run at a few batch sizes (CycleGAN's batches of one to three
/// images) would otherwise keep a set of buffers per size, 330 MB more at 128 px. The memory stays with the process
/// until `clear()`, like PyTorch's caching allocator.
public enum BufferCache {
    static let minimumCount = 1 << 14
    /// The most times larger than a request a reused buffer may be.
    static let maxOversize = 4
    /// The default limit: a quarter of the machine's physical memory (256 MB where it cannot be read).
    public static let defaultLimitBytes: Int = {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), pageSize = sysconf(Int32(_SC_PAGESIZE))
        return pages > 0 && pageSize > 0 ? pages * pageSize / 4 : 256 << 20
    }()
    /// The limit while a `bounded` call runs.
    public static let boundedLimitBytes = 256 << 20
    nonisolated(unsafe) private static var limit = defaultLimitBytes
    nonisolated(unsafe) private static var boundedCalls = 0
    /// The limit in force; the caller holds the mutex.
    private static var effectiveLimit: Int { boundedCalls > 0 ? Swift.min(limit, boundedLimitBytes) : limit }
    /// Cached buffers by size, each list least recently freed first; `freed` numbers them in the order they came.
    nonisolated(unsafe) private static var buffers: [Int: [(freed: Int, pointer: UnsafeMutablePointer<Float>)]] = [:]
    nonisolated(unsafe) private static var freedCount = 0
    nonisolated(unsafe) private static var cachedBytes = 0
    nonisolated(unsafe) private static var mutex: pthread_mutex_t = {
        var m = pthread_mutex_t()
        pthread_mutex_init(&m, nil)
        return m
    }()

    /// A cached buffer for `count` floats and its capacity: the most recently freed of that size, else of the smallest
    /// size up to `maxOversize` times larger; nil where none is cached.
    static func take(_ count: Int) -> (UnsafeMutablePointer<Float>, capacity: Int)? {
        guard count >= minimumCount else { return nil }
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        let size =
            buffers[count] != nil ? count : buffers.keys.filter { $0 > count && $0 <= maxOversize * count }.min()
        guard let size, let entry = buffers[size]?.popLast() else { return nil }
        if buffers[size]!.isEmpty { buffers[size] = nil }
        cachedBytes -= size * MemoryLayout<Float>.stride
        return (entry.pointer, size)
    }

    /// Keeps the buffer if it is large enough and fits the limit, freeing the least recently freed buffers to make
    /// room; false means the caller frees it.
    static func give(_ p: UnsafeMutablePointer<Float>, _ count: Int) -> Bool {
        let bytes = count * MemoryLayout<Float>.stride
        guard count >= minimumCount else { return false }
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        guard bytes <= effectiveLimit else { return false }
        evict(keeping: effectiveLimit - bytes)
        buffers[count, default: []].append((freedCount, p))
        freedCount += 1
        cachedBytes += bytes
        return true
    }

    /// Frees every cached buffer, and the idle scratch buffers kernels keep (`Scratch`), returning the memory to the
    /// system.
    public static func clear() {
        Scratch.clear()  // first: its buffers come back through `give`, which takes the mutex
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        for list in buffers.values { for entry in list { free(entry.pointer) } }
        buffers = [:]
        cachedBytes = 0
    }

    /// Bytes currently held for reuse.
    public static var bytes: Int {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return cachedBytes
    }

    /// The most bytes the cache holds; setting it frees cached buffers beyond the new limit (0 turns caching off).
    public static var limitBytes: Int {
        get {
            pthread_mutex_lock(&mutex)
            defer { pthread_mutex_unlock(&mutex) }
            return limit
        }
        set {
            pthread_mutex_lock(&mutex)
            defer { pthread_mutex_unlock(&mutex) }
            limit = Swift.max(0, newValue)
            evict(keeping: effectiveLimit)
        }
    }

    /// Runs `body` with the cache held to `boundedLimitBytes`: for work whose point is a memory bound and whose
    /// buffer sizes vary, so that a full cache would mostly hold sizes it never asks for again (tiled translation:
    /// 2048 px in 512 px tiles peaked at 4.9 GB with a 6 GB cache, 1.95 GB held to 256 MB).
    public static func bounded<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(&mutex)
        boundedCalls += 1
        evict(keeping: effectiveLimit)
        pthread_mutex_unlock(&mutex)
        defer {
            pthread_mutex_lock(&mutex)
            boundedCalls -= 1
            pthread_mutex_unlock(&mutex)
        }
        return try body()
    }

    /// Frees the least recently freed buffers until at most `keptBytes` remain cached; the caller holds the mutex.
    private static func evict(keeping keptBytes: Int) {
        while cachedBytes > keptBytes {
            let count = buffers.min { $0.value[0].freed < $1.value[0].freed }!.key  // no list is empty
            free(buffers[count]!.removeFirst().pointer)
            if buffers[count]!.isEmpty { buffers[count] = nil }
            cachedBytes -= count * MemoryLayout<Float>.stride
        }
    }
}

/// A cap on the floats that new storage on the calling thread may take while `with` runs: loading a checkpoint
/// builds its model under the cap the file's own tensors imply, so a forged config naming a far bigger model fails
/// fast instead of allocating gigabytes.
public enum AllocationBudget {
    /// Runs `body` with at most `floats` floats of new storage on this thread; beyond that `Storage` throws
    /// `outOfMemory` naming `what`.
    public static func with<T>(_ floats: Int, _ what: String, _ body: () throws -> T) throws -> T {
        let context = ExecutionContext.current
        let previous = context.allocationBudget
        context.allocationBudget = (floats, what)
        defer { context.allocationBudget = previous }
        return try body()
    }

    /// Takes `count` floats from the thread's budget, if it has one.
    @inline(__always)
    static func charge(_ count: Int, _ context: ExecutionContext) throws {
        guard let budget = context.allocationBudget else { return }
        context.allocationBudget!.remaining -= count
        if budget.remaining < count {
            throw SwiftGANError.outOfMemory("\(budget.what): allocation budget exceeded")
        }
    }
}
