import Glibc

/// Scratch buffers that kernels borrow for the length of one call (im2col columns, transposed blocks).
/// Returned buffers are kept for the next call, so a steady training loop neither allocates nor page-faults
/// for them. Thread-safe; at most `keep` buffers are cached.
enum Scratch {
    nonisolated(unsafe) private static var cache: [Storage] = []
    nonisolated(unsafe) private static var mutex: pthread_mutex_t = {
        var m = pthread_mutex_t()
        pthread_mutex_init(&m, nil)
        return m
    }()
    private static let keep = 8

    /// Runs `body` with a buffer of at least `count` floats (uninitialized).
    static func with<T>(_ count: Int, _ body: (UnsafeMutablePointer<Float>) throws -> T) throws -> T {
        let buffer = try take(count)
        defer { give(buffer) }
        return try body(buffer.pointer)
    }

    private static func take(_ count: Int) throws -> Storage {
        pthread_mutex_lock(&mutex)
        var best: Int? = nil
        for (i, s) in cache.enumerated() where s.count >= count && (best == nil || s.count < cache[best!].count) {
            best = i
        }
        let found = best.map { cache.remove(at: $0) }
        pthread_mutex_unlock(&mutex)
        return try found ?? Storage(uninitialized: count)
    }

    /// Drops the idle buffers (those in use stay with their callers).
    static func clear() {
        pthread_mutex_lock(&mutex)
        let idle = cache
        cache = []
        pthread_mutex_unlock(&mutex)
        _ = idle  // released here, outside the mutex
    }

    private static func give(_ s: Storage) {
        pthread_mutex_lock(&mutex)
        cache.append(s)
        if cache.count > keep {
            cache.sort { $0.count > $1.count }
            cache.removeLast()
        }
        pthread_mutex_unlock(&mutex)
    }
}
