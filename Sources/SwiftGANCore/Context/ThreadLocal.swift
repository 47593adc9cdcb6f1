import Glibc

/// One object of type `T` per thread, made by `make` on the thread's first use and released when the thread exits:
/// the engine's single way of keeping per-thread state (one pthread key per `ThreadLocal`).
public final class ThreadLocal<T: AnyObject>: @unchecked Sendable {
    private var key = pthread_key_t()
    private let make: @Sendable () -> T

    /// A thread-local slot whose value on each thread starts as `make()`.
    public init(_ make: @escaping @Sendable () -> T) {
        self.make = make
        pthread_key_create(&key) { raw in if let raw { Unmanaged<AnyObject>.fromOpaque(raw).release() } }
    }

    /// The calling thread's object.
    @inline(__always)
    public var value: T {
        if let raw = pthread_getspecific(key) { return Unmanaged<T>.fromOpaque(raw).takeUnretainedValue() }
        let made = make()
        pthread_setspecific(key, Unmanaged.passRetained(made).toOpaque())
        return made
    }
}
