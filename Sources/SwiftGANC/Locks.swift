import Glibc
import SwiftGANCore
import Synchronization

/// The C ABI's locking policy, in one place. The engine does not share a model between threads, and callers (the
/// Python extension among them) may call from several:
/// - every call on a model holds that model (`ModelBox.lock`): calls from two threads take turns, the second waiting
///   (the Python extension releases the GIL around every call, so it waits with the GIL released); a call from the
///   thread that already holds it (a signal handler or `should_stop` run during an interruptible training step)
///   fails at once instead of waiting for itself forever;
/// - reading, writing or clearing the gradient of a model's state tensor holds its model, as a training step does;
/// - calls that write gradients and parameters of graphs built outside a model (`sg_grad`, `sg_backward`,
///   `sg_tensor_zero_grad`, optimizer steps and EMA updates) hold one process-wide `tapeLock`, so two threads that
///   differentiate graphs sharing a tensor, or step the same parameters, take turns instead of racing on `.grad`.
///   Ops (forward passes) run concurrently.
final class CallLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    /// The thread holding the lock, or 0.
    private let holder = Atomic<UInt>(0)
    /// The message of a call from the holding thread.
    private let busy: String

    init(busy: String) {
        self.busy = busy
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` holding the lock, after any other thread's call has finished.
    func hold<T>(_ body: () throws -> T) throws -> T {
        let me = UInt(pthread_self())
        // Only this thread stores its own id, so reading it here cannot be fooled by another thread.
        if holder.load(ordering: .relaxed) == me { throw SwiftGANError.internalError(busy) }
        pthread_mutex_lock(mutex)
        holder.store(me, ordering: .relaxed)
        defer {
            holder.store(0, ordering: .relaxed)
            pthread_mutex_unlock(mutex)
        }
        return try body()
    }
}

/// Held by calls that write gradients and parameters of graphs built outside a model (see `CallLock`).
let tapeLock = CallLock(busy: "autodiff: re-entered from the thread that is differentiating")
