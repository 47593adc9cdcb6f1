import Synchronization

/// A process-wide count of writes into existing tensors from outside the engine's own ops: a value read before and
/// after a stretch of work is unchanged only if no weight can have changed in between. `WeightCache` keeps the derived
/// forms of a model's generator weights (Winograd transforms, stacked up-convolution weights) from one generation or
/// translation call to the next while it stays unchanged.
///
/// Every in-place write that can reach a model's weights advances it: `Tensor` writes from the C ABI, optimizer
/// updates, EMA updates, step rollbacks and data-parallel broadcasts. A new such path must too.
public enum WeightEpoch {
    private static let counter = Atomic<UInt64>(0)

    /// The current epoch.
    public static var current: UInt64 { counter.load(ordering: .acquiring) }

    /// Marks that some tensor's values have been (or are about to be) overwritten in place.
    public static func advance() { counter.add(1, ordering: .releasing) }
}
