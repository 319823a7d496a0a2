import CFuzzerDriver
import Interpreter
import Runtime

#if canImport(Glibc)
import Glibc
#endif

// A libFuzzer target for the language front end: any bytes are lexed and parsed (every
// diagnostic rendered with its caret), and statements that need no benchmark — values,
// lists, ranges, arithmetic, bindings, loops over them — are evaluated. No input may crash
// or hang; every bad one must come back as a diagnostic.
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

func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let source = SourceFile(name: "fuzz.npx", text: text)
    let session = Session(store: BenchmarkStore(cacheDirectory: "/nonexistent-npsh-fuzz"), output: { _ in }, diagnostics: { _ in })
    let evaluator = Evaluator(session: session)
    let (statements, diagnostics) = Parser.parse(source, commands: evaluator.commandNames)
    let renderer = DiagnosticRenderer()
    for d in diagnostics { _ = renderer.render(d, in: source) }
    if diagnostics.isEmpty {
        var loopBudget = 0
        for s in statements where pure(s) {
            if case .loop = s { loopBudget += 1; if loopBudget > 3 { break } }
            do { try evaluator.execute(s) } catch let d as Diagnostic { _ = renderer.render(d, in: source) } catch {}
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
