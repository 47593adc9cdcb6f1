/// What every GAN in swiftgan offers to its callers (the C ABI, tests, benchmarks): one-call training steps,
/// forward passes of its networks, sampling, and its complete state for checkpoints.
public protocol GANModel: AnyObject {
    /// Networks by name, in a fixed order ("G", "D", ...).
    var nets: [(String, any Layer)] { get }
    /// The Adam optimizer of each trained network, by the network's name.
    var optimizers: [(String, Adam)] { get }
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
}

extension GANModel {
    /// The network called `name`.
    public func net(_ name: String) throws -> any Layer {
        guard let n = nets.first(where: { $0.0 == name }) else {
            throw SwiftGANError.invalidArgument("net: unknown network '\(name)'; expected one of \(nets.map(\.0).joined(separator: ", "))")
        }
        return n.1
    }

    /// Every state tensor: "<net>.<name>" for parameters and buffers, "opt_<net>.exp_avg.<name>" and
    /// "opt_<net>.exp_avg_sq.<name>" for the optimizers' moments.
    public var stateTensors: [(String, Tensor)] {
        var out: [(String, Tensor)] = []
        for (netName, layer) in nets { out += layer.state.map { ("\(netName).\($0.0)", $0.1) } }
        for (netName, opt) in optimizers {
            let names = (try? net(netName))?.parameters.map(\.0) ?? []
            for (slot, label) in ["exp_avg", "exp_avg_sq"].enumerated() {
                out += zip(names, opt.state).map { ("opt_\(netName).\(label).\($0.0)", $0.1[slot]) }
            }
        }
        return out
    }

    /// Integer state by name: "step", "rng_seed", "rng_offset", "opt_<net>.step".
    public var counterNames: [String] { ["step", "rng_seed", "rng_offset"] + optimizers.map { "opt_\($0.0).step" } }

    public func counter(_ name: String) throws -> Int64 {
        switch name {
        case "step": return Int64(step)
        case "rng_seed": return Int64(bitPattern: rng.seed)
        case "rng_offset": return Int64(bitPattern: rng.offset)
        default:
            guard let opt = optimizers.first(where: { "opt_\($0.0).step" == name }) else {
                throw SwiftGANError.invalidArgument("counter: unknown name '\(name)'; expected one of \(counterNames.joined(separator: ", "))")
            }
            return Int64(opt.1.step)
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
            guard let opt = optimizers.first(where: { "opt_\($0.0).step" == name }) else {
                throw SwiftGANError.invalidArgument("counter: unknown name '\(name)'; expected one of \(counterNames.joined(separator: ", "))")
            }
            opt.1.step = Int(value)
        }
    }
}
