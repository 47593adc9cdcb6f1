/// Whether ops record on the tape: a field of the thread's `ExecutionContext`, so two models trained on two threads
/// do not interfere.
public enum GradMode {
    /// True (the default) when ops record what `backward` needs.
    public static var isEnabled: Bool {
        get { ExecutionContext.current.gradEnabled }
        set { ExecutionContext.current.gradEnabled = newValue }
    }

    /// Runs `body` with recording switched on or off, restoring the previous mode afterwards.
    public static func with<T>(enabled: Bool, _ body: () throws -> T) rethrows -> T {
        let context = ExecutionContext.current
        let previous = context.gradEnabled
        context.gradEnabled = enabled
        defer { context.gradEnabled = previous }
        return try body()
    }
}

/// Runs `body` without recording (inference, optimizer updates).
public func noGrad<T>(_ body: () throws -> T) rethrows -> T { try GradMode.with(enabled: false, body) }

/// Runs `body` with `parameters` excluded from differentiation (a network that another network's loss flows
/// through but that this step does not train: its weight-gradient GEMMs are skipped), then includes them again.
public func frozen<T>(_ parameters: [Tensor], _ body: () throws -> T) throws -> T {
    for p in parameters { try p.setRequiresGrad(false) }
    defer { for p in parameters { try? p.setRequiresGrad(true) } }
    return try body()
}
