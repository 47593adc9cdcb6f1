import Glibc

/// A training step that can be stopped part-way (Ctrl-C in a notebook) and then leaves the model exactly as it was
/// before the step, as if it had never started.
///
/// While `StepTransaction.run` runs a step on the calling thread (as the thread's `ExecutionContext.transaction`),
/// every tensor allocation (so every op, forward and backward) asks `checkCancellation`, which calls the caller's
/// `shouldCancel` at most once per `interval` seconds; a true answer throws `SwiftGANError.cancelled` out of the step.
/// Code that writes model state in place (optimizer updates, running statistics, image pools, ...) first calls
/// `preserve`, which copies the values it is about to overwrite the first time in the step; `remember` does the same
/// for Swift properties. A step that throws, cancelled or failed, gets those values back, and its owner's other state
/// through `restore`.
///
/// A step calls `commit()` where only its final updates remain: from there on it runs to completion, nothing is checked
/// or copied any more, so updates that end a step cost nothing extra.
public final class StepTransaction {
    private struct Saved {
        let tensor: Tensor, offset: Int, values: Storage  // engine storage: its buffers are reused step after step
    }

    private struct Region: Hashable {
        let tensor: ObjectIdentifier, offset: Int, count: Int
    }

    private let shouldCancel: () -> Bool
    private let interval: Double
    private var nextCheck: Double
    private var saved: [Saved] = []
    private var savedRegions: Set<Region> = []
    private var restorers: [() -> Void] = []
    private var committed = false

    private init(interval: Double, shouldCancel: @escaping () -> Bool) {
        (self.interval, self.shouldCancel) = (interval, shouldCancel)
        nextCheck = StepTransaction.now() + interval
    }

    /// Runs one step as a transaction on this thread: `shouldCancel` is asked at most every `interval` seconds until
    /// the step commits. When `body` throws before it commits, every preserved value is put back, `restore` runs
    /// (for state the step's owner keeps outside tensors, such as counters) and the error is rethrown.
    public static func run<T>(
        interval: Double = 0.05, shouldCancel: @escaping () -> Bool, restore: () -> Void,
        _ body: () throws -> T
    ) throws -> T {
        let transaction = StepTransaction(interval: interval, shouldCancel: shouldCancel)
        let context = ExecutionContext.current
        let previous = context.transaction
        context.transaction = transaction
        defer { context.transaction = previous }
        do {
            return try body()
        } catch {
            if !transaction.committed {
                transaction.rollBack()
                restore()
            }
            throw error
        }
    }

    /// The transaction running on this thread and not yet committed, if any.
    private static var current: StepTransaction? {
        guard let transaction = ExecutionContext.current.transaction, !transaction.committed else { return nil }
        return transaction
    }

    private static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }

    /// Throws `cancelled` when the step's caller asks to stop (asked at most once per interval, until the commit).
    @inline(__always)
    func checkCancellation() throws {
        guard !committed else { return }
        let time = StepTransaction.now()
        guard time >= nextCheck else { return }
        nextCheck = time + interval
        if shouldCancel() {
            throw SwiftGANError.cancelled("the training step was cancelled; the model is as it was before it")
        }
    }

    /// Keeps the values of `tensor` (or of `count` elements from `offset`) for a rollback, before they are
    /// overwritten in place. Throws when the copy cannot be allocated, or the step is cancelled, before anything
    /// was written.
    public static func preserve(_ tensor: Tensor, offset: Int = 0, count: Int? = nil) throws {
        guard let transaction = current else { return }
        let count = count ?? tensor.count - offset
        let region = Region(tensor: ObjectIdentifier(tensor), offset: offset, count: count)
        guard !transaction.savedRegions.contains(region) else { return }
        let values = try Storage(uninitialized: count)
        values.pointer.update(from: tensor.data + offset, count: count)
        transaction.savedRegions.insert(region)
        transaction.saved.append(Saved(tensor: tensor, offset: offset, values: values))
    }

    /// Keeps `restore`, which puts back state that is not a tensor, for a rollback.
    public static func remember(_ restore: @escaping () -> Void) {
        current?.restorers.append(restore)
    }

    /// Marks the point after which the running step finishes whatever happens: its remaining writes are neither
    /// checked for cancellation nor kept for a rollback.
    public static func commit() {
        current?.committed = true
    }

    private func rollBack() {
        WeightEpoch.advance()
        for s in saved.reversed() { (s.tensor.data + s.offset).update(from: s.values.pointer, count: s.values.count) }
        for restore in restorers.reversed() { restore() }
        saved = []
        restorers = []
    }
}
