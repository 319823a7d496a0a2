import CFuzzerDriver
import Interpreter
import Runtime

#if canImport(Glibc)
import Glibc
#endif

// A libFuzzer target for scripts of any bytes, through the path `npsh run` takes: the text
// check (NUL bytes, invalid UTF-8), lexing, parsing and the whole-script check, every
// diagnostic rendered with its caret; then statements that need no benchmark — values,
// lists, ranges, arithmetic, bindings, loops over them — are evaluated. No input may crash
// or hang, and what it prints is bounded whatever its size (a trap here is a finding, and
// scripts/fuzz caps memory with -rss_limit_mb).
//
// Built with:  swift build -c release --product npsh-fuzz -Xswiftc -sanitize=fuzzer --scratch-path .build-fuzz
// Without the sanitizer it replays the files named on the command line once each.

/// Whether an expression can be evaluated without touching a benchmark.
func pure(_ e: Expr) -> Bool {
    switch e {
    case .integer, .decimal, .string, .name: return true
    case .list(let items, _): return items.allSatisfy(pure)
    case .range(let a, let b, let s, _):
        // Keep ranges small: a fuzzer finds 1..9999999 at once, and that is a slow input, not a bug.
        if case .integer(let lo, _) = a, case .integer(let hi, _) = b, hi - lo > 10_000 { return false }
        return pure(a) && pure(b) && (s.map(pure) ?? true)
    case .binary(_, let l, let r, _): return pure(l) && pure(r)
    case .command(let c): return c.name == "help" || c.name == "seed"
    }
}

func pure(_ s: Statement) -> Bool {
    switch s {
    case .binding(_, _, let v, _): return pure(v)
    case .expression(let e): return pure(e)
    case .loop(_, _, let over, let body, _): return pure(over) && body.allSatisfy(pure)
    }
}

/// The most one diagnostic may print: its place (a file name and two numbers), a message of
/// at most 300 characters and a 100-character window of its line with a caret line under
/// it, at most 4 bytes a character. A script prints at most 20 and "too many errors".
let diagnosticBound = 100 + 4 * 301 + 2 * (4 * 102 + 8)
let outputBound = 21 * diagnosticBound

func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    if ScriptText.problem(bytes) != nil { return 0 }  // refused with one error, as npsh run does
    let source = SourceFile(name: "fuzz.npx", text: String(decoding: bytes, as: UTF8.self))
    let session = Session(store: BenchmarkStore(cacheDirectory: "/nonexistent-npsh-fuzz"), output: { _ in }, diagnostics: { _ in })
    let evaluator = Evaluator(session: session)
    let (statements, diagnostics) = ScriptRunner.prepare(source, evaluator: evaluator)
    let renderer = DiagnosticRenderer()
    var printed = 0
    for d in diagnostics { printed += renderer.render(d, in: source).utf8.count }
    if printed > outputBound { fatalError("\(diagnostics.count) diagnostics printed \(printed) bytes, over the bound \(outputBound)") }
    if diagnostics.isEmpty {
        var loopBudget = 0
        for s in statements where pure(s) {
            if case .loop = s { loopBudget += 1; if loopBudget > 3 { break } }
            do { try evaluator.execute(s) } catch let d as Diagnostic {
                if renderer.render(d, in: source).utf8.count > diagnosticBound { fatalError("one diagnostic over its bound") }
            } catch {}
        }
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func LLVMFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzzOne(data, size)
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
let rc = npsh_run_fuzzer(&argc, &argv) { data, size in fuzzOne(data, size) }
if rc == -1 {
    // Not built with the fuzzer: replay the given files.
    for path in CommandLine.arguments.dropFirst() {
        guard let f = try? MappedFile(path: path, allowEmpty: true) else { continue }
        let bytes = Array(f.bytes)
        _ = bytes.withUnsafeBufferPointer { fuzzOne($0.baseAddress, $0.count) }
    }
}
