import GRDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The training ledger: every trial npsh ran with a trainer, in SQLite (this folder is the
// only place in npsh that talks to SQLite). A trial is one architecture under one trainer
// spec (argv template + metric + seed); its row is written — status "running" — and
// committed before the trainer starts, and its result is committed before npsh uses it.
// So after a crash or kill -9 the rows still "running" are exactly the trials to run again,
// and every finished result is reused: a replay trains nothing.
//
//   meta(key, value)        format, version, space
//   trials(trial, arch, spec, seed, status, attempts, failures, metric, test, time, extra,
//          message, seconds, archjson)     status: running | done | failed | interrupted
//   attempts(trial, attempt, outcome, detail, seconds)
//   specs(spec, argv, metric, seed)
//
// The journal is WAL with synchronous=NORMAL: a commit survives the process being killed
// (what resuming needs); a power cut may lose the last commits, whose trials then run again.
// One npsh at a time: a second is refused while the first holds an flock on "F.lock",
// which the kernel releases when the holder dies, however it dies.

/// One trial as the ledger holds it.
public struct TrialRecord: Sendable, Equatable {
    public enum Status: String, Sendable { case running, done, failed, interrupted }
    public var trial: String
    public var arch: Digest128
    public var spec: String
    public var seed: UInt64
    public var status: Status
    public var attempts: Int
    public var failures: Int
    public var result: TrialResult?
    /// Why it failed (the last attempt's problem).
    public var message: String
    /// Wall seconds over all attempts.
    public var seconds: Double
}

public final class Ledger {
    static let format = "npsh-ledger"
    public static let version = 1
    public let path: String
    /// The space its trials belong to.
    public let space: String
    let db: DatabaseQueue
    private let lockFD: Int32
    /// Every trial, by id.
    public private(set) var records: [String: TrialRecord] = [:]
    /// Trials in the order they were first proposed (rowid order).
    public private(set) var order: [String] = []

    /// Opens (creating) the ledger at `path` for `space`, taking its lock.
    public init(path: String, space: String) throws {
        self.path = path
        self.space = space
        if let st = fileStatus(path), st.isDirectory { throw RuntimeError.isDirectory(path) }
        let lockPath = path + ".lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RuntimeError.unwritable(lockPath, reason: String(cString: strerror(errno))) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            var buf = [UInt8](repeating: 0, count: 64)
            let n = pread(fd, &buf, 64, 0)
            closeDescriptor(fd)
            let pid = n > 0 ? String(decoding: buf[0..<n], as: UTF8.self).trimmedWhitespace : ""
            throw RuntimeError.trainer(.ledgerLocked(path, holder: pid.isEmpty ? "another npsh" : "npsh process \(pid)"))
        }
        let me = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = me.withUnsafeBytes { pwrite(fd, $0.baseAddress!, $0.count, 0) }
        lockFD = fd
        do {
            try Self.checkLength(path)
            var config = Configuration()
            config.prepareDatabase { db in
                try db.execute(sql: "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL")
            }
            db = try DatabaseQueue(path: path, configuration: config)
            try db.write { db in
                let check = try String.fetchOne(db, sql: "PRAGMA quick_check") ?? "no answer"
                guard check == "ok" else { throw RuntimeError.trainer(.ledgerForeign(path, reason: "SQLite's check failed: \(check)")) }
                let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
                if tables.isEmpty {
                    try db.execute(sql: """
                        CREATE TABLE meta(key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
                        CREATE TABLE trials(trial TEXT PRIMARY KEY NOT NULL, arch TEXT NOT NULL, spec TEXT NOT NULL,
                            seed INTEGER NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL, failures INTEGER NOT NULL,
                            metric REAL, test REAL, time REAL, extra TEXT NOT NULL DEFAULT '', message TEXT NOT NULL DEFAULT '',
                            seconds REAL NOT NULL DEFAULT 0, archjson TEXT NOT NULL);
                        CREATE TABLE attempts(trial TEXT NOT NULL, attempt INTEGER NOT NULL, outcome TEXT NOT NULL,
                            detail TEXT NOT NULL, seconds REAL NOT NULL, PRIMARY KEY(trial, attempt));
                        CREATE TABLE specs(spec TEXT PRIMARY KEY NOT NULL, argv TEXT NOT NULL, metric TEXT NOT NULL, seed TEXT NOT NULL);
                        """)
                    for (k, v) in [("format", Self.format), ("version", String(Self.version)), ("space", space)] {
                        try db.execute(sql: "INSERT INTO meta VALUES (?, ?)", arguments: [k, v])
                    }
                }
                guard tables.isEmpty || Set(["meta", "trials", "attempts", "specs"]).isSubset(of: tables) else {
                    throw RuntimeError.trainer(.ledgerForeign(path, reason: "it is an SQLite file with other tables (\(tables.sorted().joined(separator: ", ")))"))
                }
                var meta: [String: String] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT key, value FROM meta") { meta[row[0]] = row[1] }
                guard meta["format"] == Self.format else { throw RuntimeError.trainer(.ledgerForeign(path, reason: "format is '\(meta["format"] ?? "missing")'")) }
                guard meta["version"] == String(Self.version) else {
                    throw RuntimeError.trainer(.ledgerForeign(path, reason: "ledger version \(meta["version"] ?? "?"); this npsh reads version \(Self.version)"))
                }
                guard meta["space"] == space else { throw RuntimeError.trainer(.ledgerSpace(path, ledger: meta["space"] ?? "?", session: space)) }
            }
            try db.read { db in
                for row in try Row.fetchAll(db, sql: "SELECT trial, arch, spec, seed, status, attempts, failures, metric, test, time, extra, message, seconds FROM trials ORDER BY rowid") {
                    let r = try Self.record(row, path)
                    records[r.trial] = r
                    order.append(r.trial)
                }
            }
        } catch let e as RuntimeError {
            closeDescriptor(fd)
            throw e
        } catch let e as DatabaseError {
            closeDescriptor(fd)
            throw RuntimeError.trainer(.ledgerForeign(path, reason: e.message ?? "\(e)"))
        }
    }

    private var closed = false

    /// Folds the WAL back in (a closed ledger is one file, whole, to copy or commit) and
    /// releases the lock. Writes after it fail.
    public func close() {
        guard !closed else { return }
        closed = true
        try? db.writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        try? db.close()
        closeDescriptor(lockFD)
    }

    deinit { close() }

    /// A file shorter than its SQLite header says (a cut copy, a full disk) is refused
    /// before SQLite sees it: SQLite would read the missing pages as absent, not as damage.
    static func checkLength(_ path: String) throws {
        guard let st = fileStatus(path), st.size > 0 else { return }
        if let wal = fileStatus(path + "-wal"), wal.size > 0 { return }  // the WAL holds the newer pages
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { closeDescriptor(fd) }
        var header = [UInt8](repeating: 0, count: 100)
        guard pread(fd, &header, 100, 0) == 100 else {
            throw RuntimeError.trainer(.ledgerForeign(path, reason: "\(st.size) bytes is too short for an SQLite file"))
        }
        guard header.starts(with: Array("SQLite format 3\u{0}".utf8)) else {
            throw RuntimeError.trainer(.ledgerForeign(path, reason: "it is not an SQLite file"))
        }
        var pageSize = Int(header[16]) << 8 | Int(header[17])
        if pageSize == 1 { pageSize = 65536 }
        let pages = header[28..<32].reduce(0) { $0 << 8 | Int($1) }
        let counter = header[24..<28].reduce(0) { $0 << 8 | Int($1) }, valid = header[92..<96].reduce(0) { $0 << 8 | Int($1) }
        if pages > 0 && counter == valid && st.size < pages * pageSize {
            throw RuntimeError.trainer(.ledgerForeign(path, reason: "truncated: its header says \(formatCount(pages * pageSize)) bytes, the file holds \(formatCount(st.size))"))
        }
    }

    static func record(_ row: Row, _ path: String) throws -> TrialRecord {
        let trial: String = row["trial"]
        let archText: String = row["arch"]
        guard let arch = Digest128(hex: archText) else { throw RuntimeError.trainer(.ledgerForeign(path, reason: "trial \(trial) has a bad identity '\(archText)'")) }
        guard let status = TrialRecord.Status(rawValue: row["status"]) else {
            throw RuntimeError.trainer(.ledgerForeign(path, reason: "trial \(trial) has an unknown status"))
        }
        let seedText: Int64 = row["seed"]
        var result: TrialResult?
        if status == .done, let m: Double = row["metric"] {
            result = TrialResult(metric: m, test: row["test"] ?? .nan, time: row["time"] ?? .nan, extra: row["extra"])
        }
        return TrialRecord(trial: trial, arch: arch, spec: row["spec"], seed: UInt64(bitPattern: seedText), status: status,
                           attempts: row["attempts"], failures: row["failures"], result: result, message: row["message"], seconds: row["seconds"])
    }

    /// Records a spec's argv so that `show trials` can name it.
    func noteSpec(_ spec: TrainerSpec) throws {
        try write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO specs VALUES (?, ?, ?, ?)",
                           arguments: [spec.identity, JSONWriter.write(.array(spec.argv.map { .string($0) })), spec.metric, String(spec.seed)])
        }
    }

    /// How many trials the ledger holds under other specs (a changed trainer reuses none).
    func trialsUnderOtherSpecs(than spec: String) -> Int { records.values.filter { $0.spec != spec }.count }

    /// The intent row: committed before the attempt starts.
    func begin(trial: String, arch: Digest128, spec: String, seed: UInt64, archJSON: String, attempt: Int) throws {
        var r = records[trial] ?? TrialRecord(trial: trial, arch: arch, spec: spec, seed: seed, status: .running, attempts: 0, failures: 0,
                                             result: nil, message: "", seconds: 0)
        let isNew = records[trial] == nil
        r.status = .running
        r.attempts = attempt
        try write { db in
            if isNew {
                try db.execute(sql: "INSERT INTO trials(trial, arch, spec, seed, status, attempts, failures, archjson) VALUES (?, ?, ?, ?, 'running', ?, 0, ?)",
                               arguments: [trial, arch.hex, spec, Int64(bitPattern: seed), attempt, archJSON])
            } else {
                try db.execute(sql: "UPDATE trials SET status = 'running', attempts = ? WHERE trial = ?", arguments: [attempt, trial])
            }
        }
        if isNew { order.append(trial) }
        records[trial] = r
    }

    /// Records how an attempt ended; committed before the caller uses the result.
    public func finish(trial: String, attempt: Int, outcome: AttemptOutcome, seconds: Double) throws {
        guard var r = records[trial] else { return }
        r.seconds += seconds
        let word: String, detail: String
        switch outcome {
        case .success(let res):
            r.status = .done
            r.result = res
            r.message = ""
            word = "done"; detail = ""
        case .failure(let problem, let final):
            r.failures += 1
            r.status = final ? .failed : .running
            r.message = problem.description
            word = final ? "failed" : "retry"; detail = problem.description
        case .interrupted:
            r.status = .interrupted
            word = "interrupted"; detail = ""
        }
        let res = r.result
        try write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO attempts VALUES (?, ?, ?, ?, ?)", arguments: [trial, attempt, word, detail, seconds])
            try db.execute(sql: "UPDATE trials SET status = ?, failures = ?, metric = ?, test = ?, time = ?, extra = ?, message = ?, seconds = ? WHERE trial = ?",
                           arguments: [r.status.rawValue, r.failures, res?.metric, res.flatMap { $0.test.isNaN ? nil : $0.test },
                                       res.flatMap { $0.time.isNaN ? nil : $0.time }, res?.extra ?? "", r.message, r.seconds, trial])
        }
        records[trial] = r
    }

    /// Whether attempt `attempt` of `trial` began and has no recorded end (the driver stopped
    /// while it ran).
    func isOpen(trial: String, attempt: Int) -> Bool {
        guard let r = records[trial], r.status == .running, r.attempts == attempt else { return false }
        let ended = (try? db.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM attempts WHERE trial = ? AND attempt = ?", arguments: [trial, attempt])
        }) ?? 0
        return ended == 0
    }

    func write(_ body: (Database) throws -> Void) throws {
        do { try db.write(body) } catch let e as DatabaseError {
            throw RuntimeError.unwritable(path, reason: e.message ?? "\(e)")
        }
    }
}

/// close(2), out of reach of `Ledger.close()`'s name.
private func closeDescriptor(_ fd: Int32) { _ = close(fd) }
