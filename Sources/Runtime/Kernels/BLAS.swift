import CBLAS

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The only place in npsh that touches BLAS.
//
// Debian's OpenBLAS 0.3.21 does not recognise the newest x86 cores and silently falls back
// to the SSE3 "Prescott" kernel, about 5× slower. OPENBLAS_CORETYPE is read only when the
// library loads, so `ensureFastKernel` re-executes the process with it set — only when the
// user has not set it, only when the kernel is Prescott, and only when the CPU has the
// instructions of the kernel chosen.

public enum BLAS {
    /// The kernel OpenBLAS is using ("Haswell", "SkylakeX", "Prescott", …).
    static var coreName: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
    }

    /// Uses one BLAS thread: for the predictor's small products, more threads are slower;
    /// npsh parallelises over independent work instead.
    public static func useSingleThread() { openblas_set_num_threads(1) }

    /// The core type to force, or nil when nothing needs doing.
    static func fastCoreType(current: String, environment: [String: String], cpuFlags: Set<String>) -> String? {
        guard environment["OPENBLAS_CORETYPE"] == nil, current.lowercased() == "prescott" else { return nil }
        if cpuFlags.contains("avx512f") && cpuFlags.contains("avx512bw") && cpuFlags.contains("avx512vl") { return "SkylakeX" }
        if cpuFlags.contains("avx2") && cpuFlags.contains("fma") { return "Haswell" }
        return nil
    }

    /// The CPU's feature flags from /proc/cpuinfo (empty elsewhere).
    static func cpuFlags() -> Set<String> {
        // /proc files report size 0, so read them with read(2) rather than map them.
        let fd = open("/proc/cpuinfo", O_RDONLY)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var data: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buf, buf.count)
            if n <= 0 { break }
            data += buf[0..<n]
            if data.count > 1 << 20 { break }
        }
        let text = String(decoding: data, as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix("flags") {
            if let colon = line.firstIndex(of: ":") {
                return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
            }
        }
        return []
    }

    /// Re-executes this process with OPENBLAS_CORETYPE set when OpenBLAS picked the slow
    /// fallback kernel on a CPU that can run a fast one. Returns only if nothing was done
    /// (or the re-exec failed, in which case the slow kernel is used).
    public static func ensureFastKernel(environment: [String: String], arguments: [String]) {
        guard environment["NPSH_NO_REEXEC"] == nil,
              let core = fastCoreType(current: coreName, environment: environment, cpuFlags: cpuFlags())
        else { return }
        setenv("OPENBLAS_CORETYPE", core, 0)
        setenv("NPSH_NO_REEXEC", "1", 1)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        argv.append(nil)
        execv("/proc/self/exe", argv)
    }

    /// C = alpha·op(A)·op(B) + beta·C, row-major, single precision.
    static func sgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}
