import Runtime

/// Why a command cannot do what its call asks, as data: the throw site names the case and
/// its values, `description` words it, and `argument` names the parameter the problem is
/// about, so the evaluator puts the caret on that argument when the call wrote it.
public enum CommandProblem: Error, Sendable, Equatable {
    // Sessions, spaces and sets.
    case saveInScript
    case tooLargeToList(space: String)
    case noBuiltinBenchmark(space: String, hint: String)
    case cannotDraw(space: String)
    case cannotMake(space: String)
    case drawTooMany(Int, holds: Int)
    case couldNotDraw(Int, space: String)
    case sampleTooMany(Int, pool: Int)
    case notInBenchmark(hash: String, label: String)
    case emptySet
    case noValidation
    case cannotExport(type: String)
    case predictorAsCSV
    // Benches and trainers.
    case benchOneFile
    case trainerCommandMissing
    case syntheticNeedsNB101
    case argvNotStrings(got: String)
    case syntheticOptions
    case trainerArgument(got: String)
    case ledgerName
    case noTrainer
    case oracleWithTrainer
    case slurmOptionHere(String, command: String)
    case sbatchArgs(got: String)
    case slurmNotTrainer
    case searchOnSlurmWithTrainer
    case oracleOnSlurm
    // Predictors.
    case unknownOptimizer
    case notAPredictor
    case notScores
    case unlabeledToLearn(Int)
    case twoStageNeedsAccuracy(space: String, metric: String)
    case predictorShape(fitted: String, vertices: Int, opKinds: Int, set: String)
    case predictorSpace(fitted: String, session: String)
    case kTooLarge(Int, candidates: Int)
    case noLabelsToEvaluate
    case evolveSinglePredictor
    case marginWithoutHinge
    case decayWithoutEMA
    case ensembleTwoStage
    case pairwiseTwoStage(String)
    case splitSum(Double)
    // Plots.
    case plotTakes(kind: String, expected: PlotInput, got: String)
    case cannotPlot(type: String)
    case plotListItem(got: String)
    case emptyPlot
    case plotNeedsSet
    case noLabelsToPlot
    case histogramNeedsTwoStage(kind: String)
    case noValidationAndTest(set: String)

    /// What a kind of plot takes, for a value of the wrong type.
    public enum PlotInput: Sendable, Equatable {
        case predictorOrSet, predictorOrSetNotLists, searchResults, set, predictorOnSet
    }

    /// The parameter the problem is about; nil for the call as a whole.
    public var argument: String? {
        switch self {
        case .kTooLarge: return "k"
        case .ledgerName: return "ledger"
        case .predictorAsCSV: return "file"
        case .unknownOptimizer: return "optimizer"
        case .notAPredictor, .evolveSinglePredictor: return "predictor"
        case .notScores: return "scores"
        case .plotTakes, .cannotPlot, .plotListItem, .emptyPlot: return "value"
        case .argvNotStrings, .trainerArgument, .syntheticNeedsNB101: return "command"
        case .benchOneFile: return "command"
        case .splitSum: return "val"
        case .sampleTooMany, .drawTooMany, .couldNotDraw: return "n"
        default: return nil
        }
    }
}

extension CommandProblem.PlotInput: CustomStringConvertible {
    public var description: String {
        switch self {
        case .predictorOrSet: return "a predictor or a set; search results plot as curves"
        case .predictorOrSetNotLists: return "a predictor or a set; lists of search results plot as curves"
        case .searchResults: return "search results"
        case .set: return "a set"
        case .predictorOnSet: return "a predictor (and on SET)"
        }
    }
}

extension CommandProblem: CustomStringConvertible {
    public var description: String {
        switch self {
        case .saveInScript: return "save writes an interactive session's statements; a script is already saved"
        case .tooLargeToList(let s):
            return "space \(s) is too large to list; give the candidates: sample N from (draw M), predict P on (draw M)"
        case .noBuiltinBenchmark(let s, let hint):
            return "space \(s) has no built-in benchmark; choose one with \(hint) (see docs/formats.md)"
        case .cannotDraw(let s):
            return "space \(s) cannot draw new architectures (only its benchmark's); use sample N, which draws from all"
        case .cannotMake(let s):
            return "space \(s) cannot make new architectures; give its header \"input\", \"output\", \"max_vertices\" and \"max_edges\", or draw from a set: sample N from (load \"pool.jsonl\")"
        case .drawTooMany(let n, let holds):
            return "space nb101 holds \(Format.count(holds)) architectures; cannot draw \(Format.count(n)) distinct ones"
        case .couldNotDraw(let n, let s): return "could not draw \(n) distinct architectures from space \(s)"
        case .sampleTooMany(let n, let pool): return "cannot sample \(n) distinct architectures from a set of \(Format.count(pool))"
        case .notInBenchmark(let h, let label):
            return "architecture \(h) is not in the benchmark \(label), which cannot train new ones (topk … trained=false lists them untrained)"
        case .emptySet: return "the set is empty"
        case .noValidation: return "no architecture in the set has a validation accuracy"
        case .cannotExport(let t): return "cannot export \(t); export a set, scores, a search curve, metrics or a predictor"
        case .predictorAsCSV: return "a predictor is saved as npsh's predictor file, not CSV; choose another name"
        case .benchOneFile: return "bench takes one file; a second argument follows only 'trainer'"
        case .trainerCommandMissing:
            return "bench trainer needs the training command: bench trainer [\"python3\", \"train.py\", \"--arch\", \"{arch}\", \"--out\", \"{result}\"], or bench trainer synthetic"
        case .syntheticNeedsNB101:
            return "the synthetic trainer trains NAS-Bench-101 cells; select space nb101, or give your own trainer command"
        case .argvNotStrings(let t): return "the trainer command is a list of strings (an argv, never a shell line); got \(t) in it"
        case .syntheticOptions: return "delay= and fail= are the synthetic trainer's; your trainer decides its own"
        case .trainerArgument(let t):
            return "bench trainer takes a list of strings (the command's argv) or the word synthetic, got \(t)"
        case .ledgerName: return "ledger= needs a file name"
        case .noTrainer: return "trials lists a trainer's trials; choose one with bench trainer […]"
        case .slurmOptionHere(let o, let command):
            return command == "search" ? "\(o)= is an option of a search on Slurm: search … on slurm \(o)=…"
                : "\(o)= is an option of a trainer on Slurm: bench trainer […] on slurm \(o)=…"
        case .sbatchArgs(let t): return "args= is a list of strings, one sbatch argument each (\"--constraint=a100\"); got \(t)"
        case .searchOnSlurmWithTrainer:
            return "search on slurm splits the runs of a benchmark table; a trainer's trials go on Slurm with bench trainer […] on slurm"
        case .oracleOnSlurm: return "search oracle is one lookup; it needs no cluster"
        case .slurmNotTrainer: return "on slurm runs a trainer's trials: bench trainer […] on slurm"
        case .oracleWithTrainer:
            return "search oracle needs every architecture's result, which a trainer does not have; use a benchmark table"
        case .unknownOptimizer: return "unknown optimizer"
        case .notAPredictor: return "expected a predictor (made by fit or load)"
        case .notScores: return "topk needs scores from predict"
        case .unlabeledToLearn(let n): return "\(n) architectures of the set have no validation accuracy to learn from"
        case .twoStageNeedsAccuracy(let s, let m): return "twostage separates accuracies; \(s)'s metric is \(m)"
        case .predictorShape(let fitted, let v, let ops, let set):
            return "the predictor was fitted in space \(fitted) (\(v) vertices, \(ops) op labels); the set is from space \(set)"
        case .predictorSpace(let fitted, let session):
            return "the predictor was fitted in space \(fitted); the session's space is \(session)"
        case .kTooLarge(let k, let n): return "K = \(k) is larger than the \(Format.count(n)) candidates"
        case .noLabelsToEvaluate: return "the set has no validation accuracies to evaluate against"
        case .ensembleTwoStage: return "ensemble= averages networks of one kind; a two-stage predictor is a cascade of two: use model=gcn with ensemble="
        case .marginWithoutHinge: return "margin= is the hinge loss's; add loss=hinge"
        case .decayWithoutEMA: return "decay= is the moving average's; add average=ema"
        case .pairwiseTwoStage(let l):
            return "loss=\(l) ranks pairs; a two-stage predictor's classifier needs its cross-entropy and its regressor the paper's mse: use model=gcn with loss=\(l)"
        case .evolveSinglePredictor: return "evolve uses a single predictor; choose gcn, mlp or cnn"
        case .splitSum(let s):
            return "train + val = \(formatSignificant(s, digits: 4)) leaves nothing to test; keep their sum below 1"
        case .plotTakes(let kind, let expected, let got): return "plot \(kind) takes \(expected), got \(got)"
        case .cannotPlot(let t): return "cannot plot \(t); plot search results, a predictor on a set, or a set"
        case .plotListItem(let t): return "plot takes a list of search results, got \(t) in it"
        case .emptyPlot: return "nothing to plot: the list is empty"
        case .plotNeedsSet: return "plot of a predictor needs 'on SET', the architectures to plot"
        case .noLabelsToPlot: return "the set has no validation metric to plot against"
        case .histogramNeedsTwoStage(let k):
            return "kind=histogram shows a two-stage predictor's classifier; this predictor is \(k)"
        case .noValidationAndTest(let set):
            return "no architecture of the set has both a validation and a test metric (\(set))"
        }
    }
}
