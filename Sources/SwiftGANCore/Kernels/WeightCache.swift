/// Derived forms of weights that do not change (Winograd transforms, stacked up-convolution weights), computed on
/// first use and kept instead of being recomputed by every call.
///
/// A cache holds the weights it was declared for and is installed on the calling thread by `with`; kernels ask it
/// through `withDerived`. Two lifetimes use it:
/// - one scope: a CycleGAN training step uses each generator weight three times forward and three times in the image
///   gradient before any update, DCGAN's D step each of D's weights twice each way (`WeightCache.with(constant:)`);
/// - a model keeps one for its generators from one generation or translation call to the next: its entries are
///   dropped whenever `WeightEpoch` has advanced since they were computed, that is after any in-place write a weight
///   could have received.
/// Outside a scope, and for any weight not declared (a temporary one could reuse a freed address), nothing is kept.
public final class WeightCache {
    /// What a derived form is: the key of an entry besides its weight.
    enum Form: Hashable {
        /// The Winograd transform U [alpha^2, O, C] of an F(m, r) algorithm with alpha = m + r - 1; with `reversed`,
        /// that of the weight's kernels reversed and channels swapped ([alpha^2, C, O]): the image gradient's own, for
        /// algorithms where reversing a kernel does more than swap ends of its transform
        /// (`WinogradConvolution.backwardData`).
        case winograd(alpha: Int, reversed: Bool)
        /// The same as `PackedGEMM` row panels of each product's A: U_xi, or with `flipped` the image gradient's
        /// from U (`WinogradConvolution.backwardData`).
        case winogradPanels(alpha: Int, flipped: Bool, reversed: Bool)
        /// A 3x3 weight's [O, C] matrices of each tap, stacked by the offset they read (`phaseUpConvolution`).
        case upConvolutionStacks
        /// The same of a stride-2 convolution's weight for its image gradient (`phaseImageGradient`).
        case imageGradientStacks
        /// NVlabs' weight as `PackedGEMM` row panels of each output phase's taps (`packedPhaseProducts`).
        case upConvolutionPanels
        /// The same of a stride-2 convolution's weight for its image gradient.
        case imageGradientPanels
        /// A weight [O, C * kh * kw] as `PackedGEMM` row panels (`panelForward`).
        case convolutionPanels
        /// A weight [O, C, taps] transposed to [C, taps, O] (`withTapsMajor`): read by the Winograd forward pass's
        /// panels and by the border of a reflection-padded convolution's image gradient. An intermediate form: kept
        /// only by scopes (`keepsIntermediates`).
        case tapsMajor

        /// Whether the form only saves a rearrangement that another form is derived from (kept only by scopes).
        var isIntermediate: Bool { self == .tapsMajor }
    }

    /// A buffer that holds a constant weight rearranged for another convolution (the phase routes' kernels): forms
    /// derived from the buffer are kept under the weight and the rearrangement (`withRearrangement`).
    enum Rearrangement: Hashable {
        /// The weight itself.
        case none
        /// A 4x4 stride-2 weight as the 2x2 kernels of its phase convolution (`ConvGeometry.phaseForward`).
        case phaseKernels
        /// One phase's 2x2 kernels of a 4x4 stride-2 weight's image gradient (`ConvGeometry.phaseSplitImageGradient`).
        case imageGradientPhase(Int)
    }

    private struct Key: Hashable {
        let weight: Int, rearrangement: Rearrangement, form: Form
    }

    private let constant: [Int: Tensor]  // by data address; holding the tensors keeps the addresses theirs
    private var derived: [Key: Storage] = [:]
    /// Buffers standing for rearranged constant weights while `withRearrangement` runs, by address.
    private var rearranged: [Int: (weight: Int, rearrangement: Rearrangement)] = [:]
    /// The `WeightEpoch` the entries were computed in.
    private var epoch = WeightEpoch.current
    /// Whether intermediate forms are kept too: in one scope's cache (a training step), not in one a model keeps
    /// between calls, where they would only add to the memory the final forms hold.
    private let keepsIntermediates: Bool

    /// A cache for `constant`'s weights (`keepsIntermediates` for one scope's).
    public init(constant: [Tensor], keepsIntermediates: Bool = false) {
        self.constant = Dictionary(constant.map { (Int(bitPattern: $0.data), $0) }, uniquingKeysWith: { a, _ in a })
        self.keepsIntermediates = keepsIntermediates
    }

    /// Floats held by derived forms.
    public var heldFloats: Int { derived.values.reduce(0) { $0 + $1.count } }

    /// Frees every derived form (a training step calls it: its updates would make them stale anyway).
    public func clear() { derived = [:] }

    /// Runs `body` with this cache installed on the calling thread; `body` must not change the declared weights.
    /// Entries computed before a weight could have changed (`WeightEpoch`) are dropped first.
    public func with<T>(_ body: () throws -> T) rethrows -> T {
        let now = WeightEpoch.current
        if now != epoch { (derived, epoch) = ([:], now) }
        let context = ExecutionContext.current
        let previous = context.weightCache
        context.weightCache = self
        defer { context.weightCache = previous }
        return try body()
    }

    /// Runs `body` with the derived forms of `constant`'s weights kept from their first use to its end.
    public static func with<T>(constant: [Tensor], _ body: () throws -> T) rethrows -> T {
        try WeightCache(constant: constant, keepsIntermediates: true).with(body)
    }

    /// Runs `body` with `buffer` standing for `weight` rearranged by `rearrangement` (it must hold that for as long as
    /// `body` runs): where the thread's cache holds `weight` constant, the forms derived from `buffer` are kept like
    /// the weight's own.
    static func withRearrangement<T>(
        _ buffer: UnsafePointer<Float>, of weight: UnsafePointer<Float>, _ rearrangement: Rearrangement,
        _ body: () throws -> T
    ) rethrows -> T {
        guard let cache = ExecutionContext.current.weightCache, cache.constant[Int(bitPattern: weight)] != nil else {
            return try body()
        }
        let address = Int(bitPattern: buffer)
        cache.rearranged[address] = (Int(bitPattern: weight), rearrangement)
        defer { cache.rearranged[address] = nil }
        return try body()
    }

    /// The constant weight that `weight` is (or, where it is a buffer standing for a rearranged one, that weight) and
    /// the rearrangement; nil where this cache does not keep forms of it.
    private func source(_ weight: UnsafePointer<Float>) -> (weight: Int, rearrangement: Rearrangement)? {
        let address = Int(bitPattern: weight)
        return rearranged[address] ?? (constant[address] != nil ? (address, .none) : nil)
    }

    /// Whether the calling thread's cache keeps forms derived from `weight`, so that they outlive this call.
    static func keeps(_ weight: UnsafePointer<Float>) -> Bool {
        ExecutionContext.current.weightCache?.source(weight) != nil
    }

    /// Runs body(derived) with the `form` (`count` floats) of `weight`, computed by `compute`: kept by the thread's
    /// cache when it holds `weight` constant (or `weight` stands for a rearranged constant weight), else computed into
    /// scratch for this call alone.
    static func withDerived(
        _ weight: UnsafePointer<Float>, _ form: Form, count: Int, _ body: (UnsafeMutablePointer<Float>) throws -> Void,
        compute: (UnsafeMutablePointer<Float>) throws -> Void
    ) throws {
        if let cache = ExecutionContext.current.weightCache, cache.keepsIntermediates || !form.isIntermediate,
            let (original, rearrangement) = cache.source(weight)
        {
            let key = Key(weight: original, rearrangement: rearrangement, form: form)
            if let kept = cache.derived[key], kept.count == count { return try body(kept.pointer) }
            let storage = try Storage(uninitialized: count)
            try compute(storage.pointer)
            cache.derived[key] = storage
            return try body(storage.pointer)
        }
        try Scratch.with(count) { derived in
            try compute(derived)
            try body(derived)
        }
    }
}
