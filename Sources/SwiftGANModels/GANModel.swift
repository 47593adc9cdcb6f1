import SwiftGANCore
import SwiftGANNN
import SwiftGANOptim

/// What every GAN in swiftgan offers to its callers (the C ABI, tests, benchmarks): one-call training steps,
/// forward passes of its networks, sampling, and its complete state for checkpoints.
public protocol GANModel: AnyObject {
    /// Networks by name, in a fixed order ("G", "D", ...).
    var nets: [(String, any Module)] { get }
    /// The optimizers by name ("G", "D"), each with the state names of the parameters it updates, in its order.
    var optimizers: [NamedOptimizer] { get }
    /// Training steps taken.
    var step: Int { get set }
    /// The training RNG (noise, augmentation); its offset advances with every draw.
    var rng: RandomGenerator { get set }
    /// Names of the values `trainStep` returns.
    var lossNames: [String] { get }
    /// One training step on the given batches; returns one value per loss name.
    func trainStep(_ batches: [Tensor]) throws -> [Float]
    /// Runs network `net` forward without recording.
    func forward(net: String, _ x: Tensor, training: Bool) throws -> Tensor
    /// `count` samples determined by `seed` alone.
    func generate(count: Int, seed: UInt64) throws -> Tensor
    /// Model-specific state tensors beyond networks and optimizers (image pools, running averages).
    var extraState: [(String, Tensor)] { get }
    /// Model-specific integer state (pool fill levels, regularization counters).
    var extraCounters: [(String, Int64)] { get }
    /// Restores one of `extraCounters`.
    func setExtraCounter(_ name: String, _ value: Int64) throws
    /// Data parallelism across processes, when attached (`DataParallel.attach`).
    var dataParallel: DataParallel? { get set }
}

/// An optimizer with a name and the state names of its parameters.
public struct NamedOptimizer {
    public let name: String
    public let optimizer: Adam
    public let parameterNames: [String]

    public init(_ name: String, _ optimizer: Adam, parameterNames: [String]) {
        (self.name, self.optimizer, self.parameterNames) = (name, optimizer, parameterNames)
    }
}

extension GANModel {
    public var extraState: [(String, Tensor)] { [] }
    public var extraCounters: [(String, Int64)] { [] }
    public func setExtraCounter(_ name: String, _ value: Int64) throws {
        throw SwiftGANError.invalidArgument("counter: unknown name '\(name)'")
    }

    /// The network called `name`.
    public func net(_ name: String) throws -> any Module {
        guard let n = nets.first(where: { $0.0 == name }) else {
            throw SwiftGANError.invalidArgument(
                "net: unknown network '\(name)'; expected one of \(nets.map(\.0).joined(separator: ", "))")
        }
        return n.1
    }

    /// Every state tensor: "<net>.<name>" for parameters and buffers, "opt_<optimizer>.exp_avg.<net>.<name>" and
    /// "opt_<optimizer>.exp_avg_sq.<net>.<name>" for the optimizers' moments, then `extraState`.
    public var stateTensors: [(String, Tensor)] {
        var out: [(String, Tensor)] = []
        for (netName, layer) in nets { out += layer.state.map { ("\(netName).\($0.0)", $0.1) } }
        for o in optimizers {
            for (slot, label) in ["exp_avg", "exp_avg_sq"].enumerated() {
                out += zip(o.parameterNames, o.optimizer.state).map { ("opt_\(o.name).\(label).\($0.0)", $0.1[slot]) }
            }
        }
        return out + extraState
    }

    /// Named parameters of the given networks, as optimizers list them ("G.main.0.weight").
    public func parameters(of netNames: [String]) throws -> [(String, Tensor)] {
        try netNames.flatMap { n in try net(n).parameters.map { ("\(n).\($0.0)", $0.1) } }
    }

    /// Integer state by name: "step", "rng_seed", "rng_offset", "opt_<optimizer>.step", then `extraCounters`.
    public var counterNames: [String] {
        ["step", "rng_seed", "rng_offset"] + optimizers.map { "opt_\($0.name).step" } + extraCounters.map(\.0)
    }

    public func counter(_ name: String) throws -> Int64 {
        switch name {
        case "step": return Int64(step)
        case "rng_seed": return Int64(bitPattern: rng.seed)
        case "rng_offset": return Int64(bitPattern: rng.offset)
        default:
            if let o = optimizers.first(where: { "opt_\($0.name).step" == name }) { return Int64(o.optimizer.step) }
            if let c = extraCounters.first(where: { $0.0 == name }) { return c.1 }
            throw SwiftGANError.invalidArgument(
                "counter: unknown name '\(name)'; expected one of \(counterNames.joined(separator: ", "))")
        }
    }

    public func setCounter(_ name: String, _ value: Int64) throws {
        switch name {
        case "step", "rng_offset", "rng_seed": break
        default: try require(value >= 0, "counter '\(name)': expected a non-negative value, got \(value)")
        }
        switch name {
        case "step":
            try require(value >= 0, "counter 'step': expected a non-negative value, got \(value)")
            step = Int(value)
        case "rng_seed": rng.seed = UInt64(bitPattern: value)
        case "rng_offset": rng.offset = UInt64(bitPattern: value)
        default:
            if let o = optimizers.first(where: { "opt_\($0.name).step" == name }) {
                o.optimizer.step = Int(value)
            } else if extraCounters.contains(where: { $0.0 == name }) {
                try setExtraCounter(name, value)
            } else {
                throw SwiftGANError.invalidArgument(
                    "counter: unknown name '\(name)'; expected one of \(counterNames.joined(separator: ", "))")
            }
        }
    }
}

extension StepTransaction {
    /// Runs one training step of `model` as a transaction (see `run(interval:shouldCancel:restore:_:)`): a step
    /// rolled back also gets the model's counters back.
    public static func run<T>(
        _ model: any GANModel, interval: Double = 0.05, shouldCancel: @escaping () -> Bool,
        _ body: () throws -> T
    ) throws -> T {
        let counters = try model.counterNames.map { ($0, try model.counter($0)) }
        return try run(
            interval: interval, shouldCancel: shouldCancel,
            restore: { for (name, value) in counters { try? model.setCounter(name, value) } }, body)
    }
}
