#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Small system helpers: processes, folders, formatting.

/// Runs a program (found on PATH), waits, and returns its standard output and exit status
/// (0 for success); what it wrote to standard error is passed on to ours. `runCommand` does
/// the work.
public func runProgram(_ exe: String, _ args: [String]) throws -> (output: String, status: Int32) {
    let r = try runCommand([exe] + args)
    let bytes = Array(r.errors.utf8)
    bytes.withUnsafeBytes { if let p = $0.baseAddress { writeFully(2, p, $0.count) } }
    return (r.output, r.code)
}

/// Runs a program (found on PATH) with standard input from /dev/null, waits, and returns its
/// exit code (128 + the signal when a signal ended it), standard output and standard error
/// (each cut at 1 MiB). Errors go through a temporary file, so neither stream can block the
/// other. For short commands: sbatch, squeue, scancel.
public func runCommand(_ argv: [String]) throws -> (code: Int32, output: String, errors: String) {
    let errPath = makeTemporaryDirectory(prefix: "npsh-cmd") + "/stderr"
    defer { unlink(errPath); rmdir(String(errPath.dropLast(7))) }
    var fds: [Int32] = [0, 0]
    guard pipe(&fds) == 0 else { throw RuntimeError.unusable(.cannotStart(program: argv[0], reason: "no pipe: \(String(cString: strerror(errno)))")) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
    posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addclose(&actions, fds[0])
    posix_spawn_file_actions_addclose(&actions, fds[1])
    var pid: pid_t = 0
    let cargv: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
    defer { for p in cargv { free(p) } }
    let rc = posix_spawnp(&pid, argv[0], &actions, nil, cargv, environ)
    posix_spawn_file_actions_destroy(&actions)
    close(fds[1])
    guard rc == 0 else {
        close(fds[0])
        throw RuntimeError.unusable(.cannotStart(program: argv[0], reason: String(cString: strerror(rc))))
    }
    let cap = 1 << 20
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(fds[0], &buf, buf.count)
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        if out.count < cap { out += buf[0..<min(n, cap - out.count)] }
    }
    close(fds[0])
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    var errors: [UInt8] = []
    if let f = fopen(errPath, "r") {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while errors.count < cap {
            let n = fread(&chunk, 1, chunk.count, f)
            if n <= 0 { break }
            errors += chunk[0..<min(n, cap - errors.count)]
        }
        fclose(f)
    }
    let code: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return (code, String(decoding: out, as: UTF8.self), String(decoding: errors, as: UTF8.self))
}

/// Seconds on the monotonic clock: for elapsed times (progress, timeouts, benchmarks), never
/// for dates.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Fixed-point with `digits` decimals, identical on every platform.
/// 1234567 → "1,234,567".
public func formatCount(_ n: Int) -> String {
    let digits = String(n.magnitude)
    var out = ""
    for (i, c) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
        out.append(c)
    }
    return (n < 0 ? "-" : "") + out
}

public func formatFixed(_ x: Double, _ digits: Int) -> String {
    guard x.isFinite else { return x.isNaN ? "nan" : (x > 0 ? "inf" : "-inf") }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let r = (abs(x) * scale).rounded()
    let whole = Int(r / scale)
    var frac = String(Int(r - Double(whole) * scale))
    while frac.count < digits { frac = "0" + frac }
    let sign = x < 0 && r != 0 ? "-" : ""
    return digits == 0 ? "\(sign)\(whole)" : "\(sign)\(whole).\(frac)"
}

/// The index of `key` in an ascending array, by binary search.
func sortedIndex<T: Comparable>(of key: T, in sorted: [T]) -> Int? {
    var lo = 0, hi = sorted.count
    while lo < hi {
        let mid = (lo + hi) / 2
        if sorted[mid] < key { lo = mid + 1 } else { hi = mid }
    }
    return lo < sorted.count && sorted[lo] == key ? lo : nil
}

extension String {
    var trimmedWhitespace: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}

/// A new empty folder under $TMPDIR (or /tmp).
public func makeTemporaryDirectory(prefix: String = "npsh") -> String {
    let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
    var template = Array("\(base)/\(prefix)-XXXXXX".utf8CString)
    return template.withUnsafeMutableBufferPointer { buf in
        guard let p = mkdtemp(buf.baseAddress!) else { return "\(base)/\(prefix)-\(getpid())" }
        return String(cString: p)
    }
}

/// The names in a folder (not "." or ".."), or none when it cannot be read.
func directoryEntries(_ path: String) -> [String] {
    guard let d = opendir(path) else { return [] }
    defer { closedir(d) }
    var names: [String] = []
    while let e = readdir(d) {
        let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

/// Removes a file or a folder and everything in it.
func removeTree(_ path: String) throws {
    guard let st = fileStatus(path) else { return }
    if st.isDirectory {
        for n in directoryEntries(path) { try removeTree(path + "/" + n) }
        rmdir(path)
    } else {
        unlink(path)
    }
}

/// Creates a directory and its parents (like mkdir -p).
public func makeDirectory(_ path: String) throws {
    var partial = path.hasPrefix("/") ? "" : "."
    for part in path.split(separator: "/") {
        partial += "/" + part
        if let st = fileStatus(partial) {
            if !st.isDirectory { throw RuntimeError.unwritable(path, reason: "\(partial) is not a directory") }
            continue
        }
        if mkdir(partial, 0o755) != 0 && errno != EEXIST {
            throw RuntimeError.unwritable(path, reason: String(cString: strerror(errno)))
        }
    }
}
