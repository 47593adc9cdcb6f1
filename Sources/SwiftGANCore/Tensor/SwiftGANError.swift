/// Every failure the engine reports. Each case maps to one status code of the C ABI.
public enum SwiftGANError: Error, CustomStringConvertible {
    /// A bad argument value or shape (Python `ValueError`).
    case invalidArgument(String)
    /// A wrong kind or dtype (Python `TypeError`).
    case invalidType(String)
    /// A file could not be read or written (Python `OSError`).
    case io(String)
    /// An allocation failed or would be absurdly large (Python `MemoryError`).
    case outOfMemory(String)
    /// A training step stopped at its caller's request (`StepTransaction`; Python `KeyboardInterrupt`).
    case cancelled(String)
    /// Anything else.
    case internalError(String)

    public var description: String {
        switch self {
        case .invalidArgument(let m), .invalidType(let m), .io(let m), .outOfMemory(let m), .cancelled(let m),
            .internalError(let m):
            return m
        }
    }
}

/// Throws `invalidArgument(message())` unless `condition` holds.
@inline(__always)
public func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw SwiftGANError.invalidArgument(message()) }
}
