#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch

/// The data-path benchmark behind `scripts/bench`: writes an official-format only108 file
/// of 1,270,872 records (3 runs × 423,624 cells from the synthetic landscape), then times,
/// each in a fresh child process so that its peak memory is its own: enumeration of the
/// space, read + import into the SQLite cache, and reopening from the cache. A plain
/// sequential read of the file with CRC-32C over every byte is measured in the same run
/// as the reference the import is compared with — the import alone: it reads and checks
/// every byte of that file, where enumeration reads no file and reopening reads the cache.
public enum IOBenchmark {
    static let goals: [String: Double] = ["enumerate": 10, "import": 5, "reopen": 1]

    public static func run(directory: String?, executable: String = "/proc/self/exe", report: (String) -> Void) throws {
        let dir = directory ?? makeTemporaryDirectory()
        try makeDirectory(dir)
        let file = dir + "/nasbench_only108.tfrecord"
        report("npsh I/O benchmark (folder \(dir))\n")
        let t0 = monotonicSeconds()
        let catalog = NB101Enumeration.enumerate()
        let table = SyntheticLandscape.table(catalog)
        try NB101TFRecordWriter.write(table, to: file)
        let size = fileStatus(file)?.size ?? 0
        report("wrote \(table.runCount) records, \(size / 1_000_000) MB, in \(fmt(monotonicSeconds() - t0)) s\n")

        // Reference: read every byte and CRC it, as fast as the disk cache allows.
        let r0 = monotonicSeconds()
        let mapped = try MappedFile(path: file)
        var crc: UInt32 = 0
        let step = 1 << 24
        var off = 0
        while off < mapped.count {
            crc = CRC32C.checksum(mapped.bytes.baseAddress! + off, count: min(step, mapped.count - off), seed: crc)
            off += step
        }
        let reference = monotonicSeconds() - r0
        report("reference: sequential read + CRC-32C of the file: \(fmt(reference)) s (\(fmt(Double(size) / reference / 1e9)) GB/s, crc \(String(crc, radix: 16)))\n\n")

        report("phase       seconds   goal   vs goal   vs reference   peak RSS\n")
        for phase in ["enumerate", "import", "reopen"] {
            let (seconds, rss) = try runChild(executable, ["benchmark", "phase", phase, "--dir", dir])
            let goal = goals[phase]!
            report(pad(phase, 10) + pad(fmt(seconds), 9, right: true) + pad("≤ \(fmt(goal, 0))", 7, right: true)
                   + pad(fmt(seconds / goal) + "×", 10, right: true)
                   + pad(phase == "import" ? fmt(seconds / reference) + "×" : "—", 15, right: true)
                   + pad("\(rss / 1024) MB", 11, right: true) + (seconds <= goal ? "   ok" : "   MISSED") + "\n")
        }
        if directory == nil { try? removeTree(dir) }
    }

    /// One phase, run in a child: its seconds and peak resident memory in KiB (VmHWM of
    /// this process image, which, unlike ru_maxrss, does not inherit the parent's peak).
    public static func phase(_ name: String, directory dir: String) throws -> (Double, Int) {
        let seconds = try timePhase(name, directory: dir)
        return (seconds, peakResidentKiB())
    }

    /// VmHWM from /proc/self/status, in KiB (0 where unavailable).
    static func peakResidentKiB() -> Int {
        let fd = open("/proc/self/status", O_RDONLY)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 8192)
        let n = read(fd, &buf, buf.count)
        guard n > 0 else { return 0 }
        for line in String(decoding: buf[0..<n], as: UTF8.self).split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return Int(line.dropFirst(6).filter { $0.isNumber }) ?? 0
        }
        return 0
    }

    static func timePhase(_ name: String, directory dir: String) throws -> Double {
        let file = dir + "/nasbench_only108.tfrecord"
        switch name {
        case "enumerate":
            let t = monotonicSeconds()
            let c = NB101Enumeration.enumerate()
            precondition(c.cells.count == 423_624)
            return monotonicSeconds() - t
        case "import":
            let cacheDir = dir + "/cache"
            try? removeTree(cacheDir)
            let t = monotonicSeconds()
            let (table, report) = try BenchmarkStore(cacheDirectory: cacheDir).open(file)
            precondition(report.wroteCache != nil && table.runCount == 1_270_872)
            return monotonicSeconds() - t
        case "reopen":
            let t = monotonicSeconds()
            let (table, report) = try BenchmarkStore(cacheDirectory: dir + "/cache").open(file)
            precondition(report.usedCache != nil && table.runCount == 1_270_872)
            return monotonicSeconds() - t
        default:
            throw RuntimeError.unusable(.unknownPhase(name))
        }
    }

    static func runChild(_ exe: String, _ args: [String]) throws -> (Double, Int) {
        let (out, _) = try runProgram(exe, args)
        let parts = out.trimmedWhitespace.split(separator: " ")
        guard parts.count == 2, let seconds = Double(parts[0]), let kib = Int(parts[1]) else {
            throw RuntimeError.unusable(.phaseFailed("\(args)", output: out))
        }
        return (seconds, kib)
    }

    static func fmt(_ x: Double, _ digits: Int = 2) -> String { formatFixed(x, digits) }
    static func pad(_ s: String, _ w: Int, right: Bool = false) -> String {
        let p = String(repeating: " ", count: max(0, w - s.count))
        return right ? p + s : s + p
    }
}
