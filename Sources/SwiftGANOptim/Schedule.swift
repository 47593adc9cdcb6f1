import SwiftGANCore

/// Learning-rate schedules: the learning rate for a given step.
public protocol LearningRateSchedule: Sendable {
    func learningRate(at step: Int) -> Float
}

/// The same rate at every step.
public struct ConstantSchedule: LearningRateSchedule {
    public let rate: Float
    public init(_ rate: Float) { self.rate = rate }
    public func learningRate(at step: Int) -> Float { rate }
}

/// Constant for `constantSteps`, then linear decay to zero over `decaySteps` (CycleGAN's schedule, counted in
/// steps or epochs as the caller chooses).
public struct LinearDecaySchedule: LearningRateSchedule {
    public let rate: Float, constantSteps: Int, decaySteps: Int
    public init(_ rate: Float, constantSteps: Int, decaySteps: Int) {
        (self.rate, self.constantSteps, self.decaySteps) = (rate, constantSteps, decaySteps)
    }
    public func learningRate(at step: Int) -> Float {
        guard step >= constantSteps else { return rate }
        guard decaySteps > 0 else { return 0 }
        return rate * Swift.max(0, 1 - Float(step - constantSteps + 1) / Float(decaySteps + 1))
    }
}
