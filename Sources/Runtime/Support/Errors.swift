// Errors are data: each case carries where the problem is, and `description` is the one
// place that words them. Data errors always name the file and the record or line.

/// Where in a data file a problem was found.
public struct DataPlace: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    /// "line 12", "record 7 (byte 4096)", …; empty for the whole file.
    public var position: String

    public init(file: String, position: String = "") {
        self.file = file
        self.position = position
    }

    public static func line(_ file: String, _ n: Int) -> DataPlace { DataPlace(file: file, position: "line \(n)") }

    public static func record(_ file: String, _ index: Int, offset: Int) -> DataPlace {
        DataPlace(file: file, position: "record \(index) (byte \(offset))")
    }

    public var description: String { position.isEmpty ? file : "\(file): \(position)" }
}

/// Why a NAS-Bench-101 cell is not valid.
public enum CellProblem: Sendable, Equatable {
    case notSquare(rows: Int, row: Int, columns: Int)
    case tooFewVertices(Int)
    case tooManyVertices(Int)
    case badEntry(row: Int, column: Int, value: Int)
    case cycle(Int, Int)
    case notUpperTriangular(row: Int, column: Int)
    case tooManyEdges(Int)
    case disconnected
    case opCount(ops: Int, vertices: Int)
    case firstNotInput(String)
    case lastNotOutput(String)
    case unknownOp(index: Int, name: String, suggestion: String?)
}

/// Every error the runtime raises.
public enum RuntimeError: Error, Sendable, Equatable {
    case fileNotFound(String)
    case isDirectory(String)
    case emptyFile(String)
    case unreadable(String, reason: String)
    case unwritable(String, reason: String)
    /// A record header cut short (`left` of the `needs` bytes are there).
    case truncated(DataPlace, left: Int, needs: Int)
    /// A record whose header claims more data than the file holds.
    case truncatedData(DataPlace, claims: Int, remain: Int)
    case crcMismatch(DataPlace, what: String)
    case malformed(DataPlace, RecordProblem)
    case invalidCell(CellProblem, at: DataPlace?)
    case staleCache(cache: String, source: String, reason: String)
    case foreignCache(String, reason: String)
    case incompleteCache(String)
    /// Values that do not fit together (a fit, a search, a split, a space, a benchmark).
    case unusable(UsageProblem)
    /// A ProxylessNAS architecture's codes break a rule (`place` when read from a file).
    case invalidProxyless(ProxylessProblem, at: DataPlace?)
    case unknownFormat(String)
    /// Ctrl-C stopped the work named (e.g. "the fit").
    case interrupted(String)
    /// A write would replace a file the session reads (`role`: "the benchmark", …).
    case wouldOverwriteInput(String, role: String)
    /// A file that is not a set, table or predictor npsh can load.
    case unknownSetFormat(String)
    /// A trainer, a trial or a ledger (Training/, Storage/Ledger.swift).
    case trainer(TrainerProblem)
}

extension CellProblem: CustomStringConvertible {
    public var description: String {
        switch self {
        case .notSquare(let rows, let row, let columns):
            return "matrix is not square: \(rows) rows but row \(row) has \(columns) entries"
        case .tooFewVertices(let n): return "a cell needs at least 2 vertices (input and output), got \(n)"
        case .tooManyVertices(let n): return "a cell has at most 7 vertices, got \(n)"
        case .badEntry(let r, let c, let v): return "matrix entry [\(r)][\(c)] is \(v); entries must be 0 or 1"
        case .cycle(let a, let b): return "the graph has a cycle through vertices \(a) and \(b)"
        case .notUpperTriangular(let r, let c):
            return "edge \(r)→\(c) is on or below the diagonal; the matrix must be strictly upper-triangular"
        case .tooManyEdges(let n): return "a cell has at most 9 edges, got \(n) after pruning"
        case .disconnected: return "the output is not reachable from the input"
        case .opCount(let ops, let v): return "\(ops) ops for \(v) vertices; give one op per vertex"
        case .firstNotInput(let s): return "the first op must be 'input', got '\(s)'"
        case .lastNotOutput(let s): return "the last op must be 'output', got '\(s)'"
        case .unknownOp(let i, let name, let suggestion):
            let hint = suggestion.map { " (did you mean '\($0)'?)" } ?? ""
            return "unknown op '\(name)' at vertex \(i)\(hint); interior ops are conv3x3-bn-relu, conv1x1-bn-relu, maxpool3x3"
        }
    }
}

extension RuntimeError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .fileNotFound(let p): return "\(p): no such file"
        case .isDirectory(let p): return "\(p): is a directory, not a file"
        case .emptyFile(let p): return "\(p): the file is empty"
        case .unreadable(let p, let r): return "\(p): cannot read: \(r)"
        case .unwritable(let p, let r): return "\(p): cannot write: \(r)"
        case .truncated(let place, let left, let needs): return "\(place): truncated: \(left) bytes left, a record header needs \(needs)"
        case .truncatedData(let place, let claims, let remain):
            return "\(place): truncated: the record claims \(claims) bytes of data, \(remain) remain"
        case .crcMismatch(let place, let what): return "\(place): CRC-32C mismatch in the \(what) (corrupt file)"
        case .malformed(let place, let problem): return "\(place): \(problem)"
        case .invalidCell(let problem, let place):
            return place.map { "\($0): invalid cell: \(problem)" } ?? "invalid cell: \(problem)"
        case .staleCache(let cache, let source, let reason):
            return "\(cache): stale cache for \(source): \(reason); delete it or open the source again to re-import"
        case .foreignCache(let p, let r): return "\(p): not an npsh benchmark cache: \(r)"
        case .incompleteCache(let p): return "\(p): the cache was never completed (import interrupted); it will be rebuilt"
        case .unusable(let problem): return problem.description
        case .invalidProxyless(let problem, let place):
            return place.map { "\($0): \(problem)" } ?? problem.description
        case .unknownFormat(let p):
            return "\(p): unknown benchmark format; expected a .tfrecord, a .jsonl table or an npsh .sqlite cache"
        case .interrupted(let what): return "interrupted (Ctrl-C); \(what) was abandoned"
        case .wouldOverwriteInput(let p, let role):
            return "\(p): refusing to overwrite \(role), which this session reads; write to another file"
        case .trainer(let problem): return problem.description
        case .unknownSetFormat(let p):
            return "\(p): not a file load can read; expected an exported .json set, a .jsonl table (NB101, ProxylessNAS, NAS-Bench-NLP or a user space), an npsh .sqlite cache or a predictor file"
        }
    }
}

/// Edit distance with adjacent transpositions (optimal string alignment), for "did you
/// mean" suggestions: "gnc" is one edit from "gcn".
func editDistance(_ a: String, _ b: String) -> Int {
    let x = Array(a.unicodeScalars), y = Array(b.unicodeScalars)
    if x.isEmpty { return y.count }
    if y.isEmpty { return x.count }
    var d = [[Int]](repeating: [Int](repeating: 0, count: y.count + 1), count: x.count + 1)
    for i in 0...x.count { d[i][0] = i }
    for j in 0...y.count { d[0][j] = j }
    for i in 1...x.count {
        for j in 1...y.count {
            let cost = x[i - 1] == y[j - 1] ? 0 : 1
            d[i][j] = Swift.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 && j > 1 && x[i - 1] == y[j - 2] && x[i - 2] == y[j - 1] {
                d[i][j] = Swift.min(d[i][j], d[i - 2][j - 2] + 1)
            }
        }
    }
    return d[x.count][y.count]
}

/// The closest candidate to `word`, if it is close enough to be a likely typo.
public func suggestion(for word: String, among all: [String]) -> String? {
    // The word itself is never a suggestion ("unknown name 'predict' (did you mean 'predict'?)").
    let candidates = all.filter { $0 != word }
    // A candidate the word abbreviates wins ("conv3x3" → "conv3x3-bn-relu").
    if !word.isEmpty, let p = candidates.filter({ $0.hasPrefix(word) && $0 != word }).min(by: { $0.count < $1.count }) {
        return p
    }
    var best: (String, Int)?
    for c in candidates {
        let d = editDistance(word.lowercased(), c.lowercased())
        if best == nil || d < best!.1 { best = (c, d) }
    }
    guard let (c, d) = best else { return nil }
    let limit = Swift.max(1, Swift.min(3, word.count / 2))
    return d <= limit ? c : nil
}
