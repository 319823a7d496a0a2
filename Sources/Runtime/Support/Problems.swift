// The runtime's problems as data. A throw site names the case and its values; the wording
// lives here, in one switch per kind, so every message of a kind reads alike and a caller
// (a test, the interpreter, a notebook kernel) can tell problems apart without parsing text.

/// What is wrong inside one record, line or header of a data file:
/// `RuntimeError.malformed(place, problem)`.
public enum RecordProblem: Sendable, Equatable {
    // The JSON itself.
    case json(String)
    case jsonRow(String)
    case notAnObject
    case notAnArray
    // A field that is absent or of the wrong kind.
    case missingMetric(String)
    case missingLossCurve(String)
    case missingValAcc(epochs: Int?)
    case missingField(Field)
    case notNumber(String)
    case notFinite(String)
    case notHash(String)
    case opNotString(Int)
    case notFraction(String, Double)
    case notFractionInUserSpace(String, Double)
    case notPercent(String, Double)
    case lastLossNotFinite(String, Double)
    case recipeText(String)
    // NAS-Bench-101 tables and records.
    case trainableParameters
    case valAccName(String)
    case trainingTime(epochs: Int)
    case matrixRowNotList(Int)
    case matrixEntryNotInteger(Int, Int)
    case hashMismatch(given: String, official: String)
    case identityMismatch(given: String, space: String, identity: String)
    case moduleHash(String)
    case epochsNotWhole(Double)
    case notBase64
    case adjacencyNotSquare(Int)
    case adjacencyDigit(Int, Character)
    case protobuf(String)
    case archNotInteger
    // Graphs and recipes of user spaces and NAS-Bench-NLP.
    case noVertices
    case tooManyVertices(Int, max: Int)
    case feedsItself(String)
    case cycle([String])
    case edgePairs(lastIndex: Int)
    case unknownLabel(what: String, name: String, suggestion: String?, known: [String])
    case emptyRecipe
    case nodeReusesInput(String)
    case nodeWithoutOp(String)
    case inputAsOp(node: String, op: String)
    case nodeWithoutInputs(String)
    case inputNotName(node: String)
    case dangling(node: String, reads: String, suggestion: String?)
    case noOutputNode
    case feedsNoOutput(String)
    case noArchitectures
    // A user space's header.
    case builtinSpaceName(String)
    case opsNotStrings
    case duplicateLabel
    case tooManyLabels
    case lowerIsBetterNotBool
    case unitValue
    case unitWithLoss
    case generationFields(missing: [String])
    case notAnOp(String)
    case notWhole(String, ClosedRange<Int>)
    case sameInputOutput
    case noInteriorOp
    case timeUnit
    // Predictor files.
    case notPredictorFile(magic: String)
    case missingHeaderLine
    case header(String)
    case otherSpace(fitted: String, session: String)
    case parameterCount(Int, needs: Int)
    case parametersTruncated
    case trailingBytes(Int)
    case modelCount(kind: String, Int)

    /// A field that a record must have, with what it holds.
    public enum Field: Sendable, Equatable {
        case status, recipe, arch, vertexLabels, edges, matrix, opNames, hash, headerOps, spaceDeclaration
    }
}

extension RecordProblem.Field: CustomStringConvertible {
    public var description: String {
        switch self {
        case .status: return "missing 'status'"
        case .recipe: return "missing 'recepie'"
        case .arch: return "missing 'arch' (22 layer codes)"
        case .vertexLabels: return "missing 'ops' (the vertex labels)"
        case .edges: return "missing 'edges' (a list of [from, to] pairs)"
        case .matrix: return "missing 'matrix' (a list of 0/1 rows)"
        case .opNames: return "missing 'ops' (a list of op names)"
        case .hash: return "missing 'hash' (32 hex digits), the architecture's identity"
        case .headerOps: return "the header needs 'ops', the list of vertex labels"
        case .spaceDeclaration: return "the first line must declare the space: {\"npsh_space\": NAME, \"ops\": […], …}"
        }
    }
}

private func didYouMean(_ s: String?) -> String { s.map { " (did you mean '\($0)'?)" } ?? "" }

extension RecordProblem: CustomStringConvertible {
    public var description: String {
        switch self {
        case .json(let m): return m
        case .jsonRow(let m): return "bad JSON row: \(m)"
        case .notAnObject: return "each line must be a JSON object"
        case .notAnArray: return "expected a JSON array"
        case .missingMetric(let k): return "missing the metric '\(k)'"
        case .missingLossCurve(let k): return "missing the metric '\(k)' (a list of per-epoch losses)"
        case .missingValAcc(let e): return e.map { "missing metric 'val_acc_\($0)'" } ?? "missing metric: no val_acc_<epochs> field"
        case .missingField(let f): return f.description
        case .notNumber(let k): return "'\(k)' must be a number"
        case .notFinite(let k): return "'\(k)' must be a finite number"
        case .notHash(let k): return "'\(k)' must be 32 hex digits"
        case .opNotString(let i): return "op \(i) is not a string"
        case .notFraction(let k, let x): return "'\(k)' is \(x); accuracies are fractions in [0, 1]"
        case .notFractionInUserSpace(let k, let x):
            let hint = x > 1 && x <= 100 ? "; it looks like a percentage: add \"unit\": \"percent\" to the header" : ""
            return "'\(k)' is \(x), but this space's accuracies are fractions in [0, 1]\(hint)"
        case .notPercent(let k, let x): return "'\(k)' is \(x); percentages lie in [0, 100]"
        case .lastLossNotFinite(let k, let x): return "the last of '\(k)' is \(x) though the status is OK"
        case .recipeText(let m): return "'recepie' text: \(m)"
        case .trainableParameters: return "trainable_parameters must be a whole number"
        case .valAccName(let k): return "'\(k)': expected val_acc_<epochs>"
        case .trainingTime(let e): return "training_time_\(e) must be a non-negative number of seconds"
        case .matrixRowNotList(let r): return "matrix row \(r) is not a list"
        case .matrixEntryNotInteger(let r, let c): return "matrix entry [\(r)][\(c)] is not an integer"
        case .hashMismatch(let given, let official):
            return "hash \(given) does not match the cell, whose official hash is \(official)"
        case .identityMismatch(let given, let space, let identity):
            return "'hash' \(given) is not this graph's identity in space \(space) (\(identity)): the graph was changed, or the item is from another space"
        case .moduleHash(let t): return "module hash '\(t)' is not 32 hex digits"
        case .epochsNotWhole(let e): return "epochs \(e) is not a whole number of epochs"
        case .notBase64: return "the metrics field is not valid base64"
        case .adjacencyNotSquare(let n): return "adjacency has \(n) digits, not a square number"
        case .adjacencyDigit(let k, let c): return "adjacency digit \(k) is '\(c)', not 0 or 1"
        case .protobuf(let m): return "bad ModelMetrics protobuf: \(m)"
        case .archNotInteger: return "'arch' holds a non-integer"
        case .noVertices: return "a graph needs at least one vertex"
        case .tooManyVertices(let n, let max): return "\(n) vertices; npsh encodes graphs of at most \(max)"
        case .feedsItself(let v): return "'\(v)' feeds itself (a cycle)"
        case .cycle(let vs): return "the graph has a cycle through \(vs.joined(separator: ", "))"
        case .edgePairs(let last): return "edges must be [from, to] pairs of vertex indices 0…\(last)"
        case .unknownLabel(let what, let name, let s, let known):
            return "unknown \(what) '\(name)'\(didYouMean(s)); known: \(known.joined(separator: ", "))"
        case .emptyRecipe: return "'recepie' must be a non-empty object of nodes"
        case .nodeReusesInput(let n): return "node '\(n)' reuses an input's name"
        case .nodeWithoutOp(let n): return "node '\(n)' has no 'op'"
        case .inputAsOp(let n, let op): return "node '\(n)': '\(op)' is an input, not an op"
        case .nodeWithoutInputs(let n): return "node '\(n)' has no 'input' list"
        case .inputNotName(let n): return "node '\(n)': inputs must be names"
        case .dangling(let n, let src, let s):
            return "node '\(n)' reads '\(src)', which is neither an input nor a node (dangling)\(didYouMean(s))"
        case .noOutputNode: return "the recipe has no output node (h_new_0 …)"
        case .feedsNoOutput(let n): return "node '\(n)' feeds no output (dangling)"
        case .noArchitectures:
            return "the space declares no architectures after its header (and no \"input\", \"output\", \"max_vertices\", \"max_edges\" to make new ones)"
        case .builtinSpaceName(let n): return "'\(n)' is a built-in space's name; choose another"
        case .opsNotStrings: return "'ops' must be strings"
        case .duplicateLabel: return "'ops' lists a label twice"
        case .tooManyLabels: return "at most 255 op labels"
        case .lowerIsBetterNotBool: return "'lower_is_better' must be true or false"
        case .unitValue: return "'unit' is an accuracy's unit in the file: \"fraction\" (0–1) or \"percent\" (0–100)"
        case .unitWithLoss: return "'unit' is for accuracies, which are not lower-is-better; drop 'unit' or 'lower_is_better'"
        case .generationFields(let missing):
            return "to generate architectures the header needs all of \"input\", \"output\", \"max_vertices\" and \"max_edges\"; missing \(missing.joined(separator: ", "))"
        case .notAnOp(let k): return "'\(k)' must be one of 'ops'"
        case .notWhole(let k, let r): return "'\(k)' must be a whole number in \(r.lowerBound)…\(r.upperBound)"
        case .sameInputOutput: return "'input' and 'output' must be different ops"
        case .noInteriorOp: return "'ops' needs an interior op besides 'input' and 'output'"
        case .timeUnit: return "'time_unit' must be \"seconds\", \"minutes\" or \"hours\""
        case .notPredictorFile(let magic): return "not an npsh predictor file (it does not start with '\(magic)')"
        case .missingHeaderLine: return "missing header line"
        case .header(let m): return "unreadable header: \(m)"
        case .otherSpace(let fitted, let session):
            return "the predictor was fitted on the '\(fitted)' space; the session's space is '\(session)'"
        case .parameterCount(let n, let needs): return "a model records \(n) parameters but its shape needs \(needs)"
        case .parametersTruncated: return "the parameters are truncated"
        case .trailingBytes(let n): return "\(n) unexpected bytes after the parameters"
        case .modelCount(let kind, let n): return "kind '\(kind)' with \(n) models"
        }
    }
}

/// Why a ProxylessNAS architecture's layer codes are not valid.
public enum ProxylessProblem: Sendable, Equatable {
    case layerCount(Int)
    case codeRange(layer: Int, code: Int)
    case firstLayer(code: Int)
    case blockStartZero(layer: Int)
}

extension ProxylessProblem: CustomStringConvertible {
    public var description: String {
        switch self {
        case .layerCount(let n): return "a ProxylessNAS architecture has 22 layer codes, got \(n)"
        case .codeRange(let i, let c): return "layer \(i): code \(c) is not one of 0–6 (k3e3 … k7e6, 6 = zero)"
        case .firstLayer(let c): return "layer 0: code \(c) is illegal; its expansion is fixed to 1, so only codes 0–2 apply"
        case .blockStartZero(let i): return "layer \(i): the first layer of a block (1, 5, 9, 13, 17, 21) cannot be zero"
        }
    }
}

/// A request the runtime cannot carry out as asked: a fit, a search, a split, a space or
/// a benchmark given values that do not fit together. `RuntimeError.unusable(problem)`.
public enum UsageProblem: Sendable, Equatable {
    // Fitting a predictor.
    case emptyTrainingSet
    case labelCount(architectures: Int, labels: Int)
    case nonFiniteLabel(index: Int, value: Double)
    case epochsAndBatch
    case fewerThanBatch(Int, batch: Int)
    case classifierLabels
    case constantLabels(Int, value: Double)
    case labelOutsideUnit(Double)
    case weightCount(Int, model: Int)
    case twoStageOneSide(threshold: Double, count: Int)
    // Searching.
    case emptyBenchmark
    case runsBelowOne
    case noValidationMetric
    case budget(Int, count: Int)
    case nPlusK(Int, count: Int)
    case nBelowBatch(n: Int, batch: Int)
    case evolutionProposedUnknown(String)
    case evolutionParameters
    case noCatalog
    // Splitting.
    case splitFractions([Double])
    case noSeeds
    case unlabeled(Int)
    case tooFewToSplit(Int, fractions: [Double])
    // Spaces.
    case cannotGenerate(space: String)
    case noGraphWithin(space: String, maxEdges: Int)
    // Benchmarks and trainers.
    case cacheNotSource(String)
    case oneBudget(label: String, epochs: Int)
    case trainerBudget(epochs: Int)
    case noRunsAt(label: String, epochs: Int, recorded: [Int])
    case noRecordedRun(label: String, hash: String)
    case metricName(path: String, metric: String)
    // Processes and npsh's own benchmarks.
    case cannotStart(program: String, reason: String)
    case unknownPhase(String)
    case phaseFailed(String, output: String)
    case benchmarkCheck(String)
}

extension UsageProblem: CustomStringConvertible {
    public var description: String {
        switch self {
        case .emptyTrainingSet: return "cannot fit a predictor on an empty set"
        case .labelCount(let n, let l): return "\(n) architectures but \(l) labels"
        case .nonFiniteLabel(let i, let v): return "label \(i + 1) is \(v); labels must be finite numbers"
        case .epochsAndBatch: return "epochs and batch must be at least 1"
        case .fewerThanBatch(let n, let b):
            return "the training set has \(n) architectures, fewer than one batch of \(b); lower batch= or train more"
        case .classifierLabels: return "classifier labels must be 0 or 1"
        case .constantLabels(let n, let v): return "all \(n) labels equal \(v); a regressor needs labels that differ"
        case .labelOutsideUnit(let v):
            return "label \(v) is outside [0, 1]; sigmoid outputs predict fractions (use output=linear for other metrics)"
        case .weightCount(let n, let m): return "initial weights have \(n) values, the model \(m)"
        case .twoStageOneSide(let t, let n):
            return "two-stage needs architectures on both sides of \(t * 100) %; all \(n) are on one side"
        case .emptyBenchmark: return "the benchmark has no architectures to search"
        case .runsBelowOne: return "runs must be at least 1"
        case .noValidationMetric: return "no architecture has a validation metric"
        case .budget(let b, let n):
            return "budget=\(b) must be between 1 and the \(formatCount(n)) architectures of the benchmark"
        case .nPlusK(let nk, let n): return "n + k = \(nk) must not exceed the \(formatCount(n)) architectures of the benchmark"
        case .nBelowBatch(let n, let b): return "n=\(n) is smaller than one batch (\(b)); raise n or lower batch="
        case .evolutionProposedUnknown(let h): return "evolution proposed \(h), which the benchmark does not hold and cannot train"
        case .evolutionParameters: return "evolution needs population ≥ 2, 1 ≤ sample ≤ population, cycles ≥ 1"
        case .noCatalog: return "no NB101 catalog available"
        case .splitFractions(let f): return "split fractions must be three positive numbers summing to 1, got \(f)"
        case .noSeeds: return "seeds must not be empty"
        case .unlabeled(let n): return "\(n) architectures have no validation metric"
        case .tooFewToSplit(let n, let f): return "\(n) architectures are too few to split \(f)"
        case .cannotGenerate(let s):
            return "space \(s) cannot generate new architectures (only its benchmark's); a user space's header can give \"input\", \"output\", \"max_vertices\" and \"max_edges\" (docs/formats.md), or draw from a set: sample N from SET"
        case .noGraphWithin(let s, let m): return "space \(s): no graph within max_edges=\(m) after 10,000 draws; raise max_edges"
        case .cacheNotSource(let p): return "\(p) is a cache, not a source"
        case .oneBudget(let label, let e): return "\(label) records one budget; epochs=\(e) does not apply"
        case .trainerBudget(let e): return "a trainer trains at its own budget; epochs=\(e) does not apply"
        case .noRunsAt(let label, let e, let recorded):
            return "\(label) has no runs at \(e) epochs (recorded: \(recorded.map(String.init).joined(separator: ", ")))"
        case .noRecordedRun(let label, let h): return "\(label): cell \(h) has no recorded run"
        case .metricName(let p, let m): return "\(p): metric '\(m)' must be val_acc_<epochs>, e.g. val_acc_108"
        case .cannotStart(let exe, let reason): return "could not start \(exe): \(reason)"
        case .unknownPhase(let name): return "unknown phase '\(name)'"
        case .phaseFailed(let args, let out): return "phase \(args) failed: \(out)"
        case .benchmarkCheck(let what): return "benchmark check failed: \(what)"
        }
    }
}
