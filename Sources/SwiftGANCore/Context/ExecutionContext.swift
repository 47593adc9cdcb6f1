/// The state that travels with the work on one thread, beside the tensors: whether ops record on the tape, the
/// allocation budget, the training step in progress (cancellation and rollback copies), the derived forms of
/// weights declared constant, and the process group of a data-parallel step.
///
/// Each thread has its own context (`current`), so two models trained on two threads do not interfere. Code sets a
/// field for the length of a scope (`GradMode.with`, `AllocationBudget.with`, `StepTransaction.run`,
/// `WeightCache.with`, `ExecutionContext.withCommunicator`) and the field returns to its previous value after.
public final class ExecutionContext {
    private static let perThread = ThreadLocal { ExecutionContext() }

    /// The calling thread's context.
    @inline(__always)
    public static var current: ExecutionContext { perThread.value }

    /// Whether ops record what `backward` needs (true unless inside `noGrad`).
    public internal(set) var gradEnabled = true
    /// The floats new storage may still take, and what they are for (`AllocationBudget.with`); nil: no cap.
    var allocationBudget: (remaining: Int, what: String)?
    /// The training step running as a transaction on this thread (`StepTransaction.run`), if any.
    var transaction: StepTransaction?
    /// Derived forms of weights declared constant (`WeightCache.with`), if any.
    var weightCache: WeightCache?
    /// The processes that train one model together during a data-parallel step: optimizers average their gradients
    /// over it before each update.
    public private(set) var communicator: (any Communicator)?
    /// Whether training-mode batch norm takes its statistics over the whole batch of every rank of `communicator`.
    public private(set) var syncBatchNorm = false

    private init() {}

    /// Runs `body` as part of a data-parallel step over `communicator` (batch statistics over all ranks when
    /// `syncBatchNorm`), restoring the previous group afterwards.
    public static func withCommunicator<T>(
        _ communicator: any Communicator, syncBatchNorm: Bool,
        _ body: () throws -> T
    ) rethrows -> T {
        let context = current
        let previous = (context.communicator, context.syncBatchNorm)
        (context.communicator, context.syncBatchNorm) = (communicator, syncBatchNorm)
        defer { (context.communicator, context.syncBatchNorm) = previous }
        return try body()
    }
}
