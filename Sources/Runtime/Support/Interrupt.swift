import CKernels

/// Ctrl-C, as every long loop sees it. The REPL's SIGINT handler calls `request()`; fits,
/// searches, draws, imports and whole-space predictions poll `check(_:)` between units of
/// work and stop with `RuntimeError.interrupted`, leaving no partial result behind.
public enum Interrupt {
    /// Safe to call from a signal handler.
    public static func request() { npsh_interrupt_request() }
    public static func clear() { npsh_interrupt_clear() }
    public static var isRequested: Bool { npsh_interrupt_pending() != 0 }

    /// Throws `.interrupted(what)` when Ctrl-C was pressed; `what` names the work abandoned.
    public static func check(_ what: String) throws {
        if isRequested { throw RuntimeError.interrupted(what) }
    }
}
