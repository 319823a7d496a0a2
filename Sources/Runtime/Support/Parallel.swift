import CKernels
import Dispatch

/// The threads npsh's parallel loops use unless told otherwise: the one place that says
/// two. The fit splits each batch into two fixed halves and every result is the same for
/// any thread count (tested), so this changes speed only.
public let defaultThreads = 2

/// Runs `body` for chunk indices 0..<chunks on the available threads and returns the
/// results in chunk order, so the outcome never depends on scheduling. One chunk runs on the
/// calling thread (a search with a trainer relies on it: trainers start from the session's
/// thread). Every chunk's thread flushes subnormals to zero (see `concurrently`).
func parallelChunks<T>(_ chunks: Int, _ body: @Sendable (Int) -> T) -> [T] {
    npsh_flush_subnormals()
    if chunks == 1 { return [body(0)] }
    var results = [T?](repeating: nil, count: chunks)
    results.withUnsafeMutableBufferPointer { buf in
        let out = UncheckedSendable(buf)
        concurrently(chunks) { c in out.value[c] = body(c) }
    }
    return results.map { $0! }
}

/// DispatchQueue.concurrentPerform, with each iteration's thread set to flush subnormal floats
/// to zero first (CKernels' npsh_flush_subnormals): the setting is per thread, and a thread
/// that kept subnormals would both run far slower and round differently from the others.
/// Every parallel loop over a predictor's arithmetic goes through here.
func concurrently(_ iterations: Int, _ body: @Sendable (Int) -> Void) {
    DispatchQueue.concurrentPerform(iterations: iterations) { i in
        npsh_flush_subnormals()
        body(i)
    }
}

/// Two threads — the caller and a helper that lives as long as this object — that run one
/// body together, with a barrier (`sync`) inside it: a fit's steps, too short to wake a
/// parked thread for each (CKernels' npsh_team: the helper spins between runs). Both
/// threads flush subnormals. nil when no thread can be started.
final class ThreadPair: @unchecked Sendable {
    private let team: OpaquePointer
    private var body: ((Int) -> Void)?

    init?() {
        guard let t = npsh_team_create() else { return nil }
        team = t
    }

    deinit { npsh_team_destroy(team) }

    /// Runs body(0) here and body(1) on the helper; returns when both have.
    func run(_ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { b in
            self.body = b
            npsh_team_run(team, { ctx, thread in
                Unmanaged<ThreadPair>.fromOpaque(ctx!).takeUnretainedValue().body!(thread)
            }, Unmanaged.passUnretained(self).toOpaque())
            self.body = nil
        }
    }

    /// A barrier for the two threads of a `run`: each calls it the same number of times.
    func sync() { npsh_team_sync(team) }
}

/// The bounds of chunk `c` of `chunks` over `count` items.
@inlinable func chunkRange(_ c: Int, of chunks: Int, count: Int) -> Range<Int> {
    (count * c / chunks)..<(count * (c + 1) / chunks)
}

/// Decodes items in parallel chunks; when items fail, rethrows the failure of the lowest
/// item index, exactly as a serial loop would have. Ctrl-C stops it (an import of a large
/// file) with `RuntimeError.interrupted`.
func parallelDecode<T>(count: Int, threads: Int, _ decode: @Sendable (Int) throws -> T) throws -> [T] {
    let chunks = max(1, min(count, threads * 8))
    let parts: [([T], (Int, Error)?)] = parallelChunks(chunks) { c in
        var out: [T] = []
        for i in chunkRange(c, of: chunks, count: count) {
            do {
                if i & 4095 == 0 { try Interrupt.check("the import") }
                out.append(try decode(i))
            } catch { return (out, (i, error)) }
        }
        return (out, nil)
    }
    if let (_, err) = parts.compactMap({ $0.1 }).min(by: { $0.0 < $1.0 }) { throw err }
    return parts.flatMap { $0.0 }
}

/// A value asserted safe to share across the threads of one parallel loop, each of which
/// touches disjoint elements.
struct UncheckedSendable<T>: @unchecked Sendable {
    public let value: T
    public init(_ value: T) { self.value = value }
}

/// A pthread mutex for the few shared counters of parallel loops.
public final class Mutex: @unchecked Sendable {
    private var m = pthread_mutex_t()
    public init() { pthread_mutex_init(&m, nil) }
    deinit { pthread_mutex_destroy(&m) }
    public func sync<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(&m)
        defer { pthread_mutex_unlock(&m) }
        return try body()
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
