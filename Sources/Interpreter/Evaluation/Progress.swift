import Runtime

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Progress of long work on standard error. On a terminal: one line redrawn in place (done /
/// total, rate, ETA) at most ten times a second and erased when the work ends. Elsewhere (a
/// log, a pipe, CI): a plain line at every tenth of the work. Never part of the output.
public final class ProgressReporter: @unchecked Sendable {
    let terminal: Bool
    /// Writes bytes as they are (lines carry their own newline).
    let write: (String) -> Void
    private let lock = Mutex()
    private var label = ""
    private var unit = ""
    private var total = 0
    private var started = 0.0
    private var lastDraw = 0.0
    private var lastStep = -1
    private var drawn = false

    public init(terminal: Bool, write: @escaping (String) -> Void) {
        self.terminal = terminal
        self.write = write
    }

    /// Begins a task of `total` steps ("fit", 300, "epochs").
    public func start(_ label: String, total: Int, unit: String) {
        lock.sync {
            self.label = label
            self.total = max(1, total)
            self.unit = unit
            started = monotonicSeconds()
            lastDraw = 0
            lastStep = -1
            drawn = false
        }
    }

    /// Reports `done` steps finished; safe from any thread.
    public func update(_ done: Int) {
        lock.sync {
            if terminal {
                let t = monotonicSeconds()
                guard t - lastDraw >= 0.1 || done == total else { return }
                lastDraw = t
                write("\r\u{1B}[2K" + bar(done, elapsed: t - started))
                drawn = true
            } else {
                // A plain line at each tenth (for fits: every max(50, total/10) steps, as before).
                let every = max(1, total / 10)
                let step = done / every
                guard step > lastStep, done % every == 0 || done == total else { return }
                lastStep = step
                write("\(label): \(unit) \(done)/\(total)\n")
            }
        }
    }

    /// Trials of a trainer: "train 5/20 · 2 running · 1 failed · 12 queued · 42 s · ETA 1 min".
    /// On a terminal the line is redrawn; elsewhere a plain line each tenth of the trials.
    public func trials(_ s: LaunchStatus, total: Int) {
        lock.sync {
            let ended = s.done + s.failed
            var line = "train \(formatCount(ended))/\(formatCount(total)) · \(s.running) running"
            if s.failed > 0 { line += " · \(formatCount(s.failed)) failed" }
            if s.queued > 0 { line += " · \(formatCount(s.queued)) queued" }
            line += " · " + Self.duration(s.elapsed)
            if let eta = s.eta(parallel: max(1, s.running)), ended < total { line += " · ETA " + Self.duration(eta) }
            if terminal {
                write("\r\u{1B}[2K" + line)
                drawn = true
            } else {
                let every = max(1, total / 10)
                let step = ended / every
                guard step > lastStep || (ended == total && lastStep != Int.max) else { return }
                lastStep = ended == total ? Int.max : step
                write(line + "\n")
            }
        }
    }

    /// Ends the task: the terminal line is erased.
    public func finish() {
        lock.sync {
            if terminal && drawn { write("\r\u{1B}[2K") }
            drawn = false
            lastStep = -1
        }
    }

    func bar(_ done: Int, elapsed: Double) -> String {
        let width = 24
        let filled = min(width, done * width / total)
        var s = "\(label) " + String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        s += " \(formatCount(done))/\(formatCount(total)) \(unit)s"
        if done > 0 && elapsed > 0 {
            let rate = Double(done) / elapsed
            s += " · " + (rate >= 10 ? formatFixed(rate, 0) : formatFixed(rate, 1)) + "/s"
            if done < total { s += " · ETA " + Self.duration(Double(total - done) / rate) }
        }
        return s
    }

    static func duration(_ s: Double) -> String {
        if s < 60 { return formatFixed(s, 0) + " s" }
        if s < 3600 { return "\(Int(s) / 60) min \(Int(s) % 60) s" }
        return "\(Int(s) / 3600) h \(Int(s) % 3600 / 60) min"
    }
}
