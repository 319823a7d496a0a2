import Runtime

/// The commands of npsh. Each entry is the single description of its syntax, defaults
/// and documentation; `help`, binding and completion all read this table.
enum Builtins {
    static let all: [CommandSpec] = others + [help]

    /// Every command but `help`, in the order `help` lists them: `help`'s own parameter
    /// takes their names, so it cannot be read from `all` (an initialisation cycle).
    static let others: [CommandSpec] = [
        seed, space, bench, load, allCommand, sample, draw, fit, predict, topk, eval, evolve, search, splits, best, trials, show, plot, export, save,
    ]

    static let save = CommandSpec(
        name: "save", summary: "In the REPL: writes the session's statements to a script that replays it.",
        positional: [Param("file", .string, "the .npx script to write")],
        details: """
            The script starts with the session's seed and holds every statement that ran to the
            end, in order (a statement that failed or was stopped with Ctrl-C changed nothing
            and is left out; so is help). npsh run FILE prints what the session printed.
            REPL keys: Tab completes (commands, then a command's words and options, names,
            paths inside strings); Up/Down walk the history (~/.npsh_history, or
            $NPSH_HISTORY); Ctrl-C stops the running statement and keeps the session;
            Ctrl-D quits. A block ({ … }) or list ([ … ]) may span lines.
            """
    ) { _, _ in
        throw CommandProblem.saveInScript
    }

    static let seed = CommandSpec(
        name: "seed", summary: "Sets the session seed; every random draw derives from it.",
        positional: [Param("n", .integer(min: 0), "the seed")],
        details: "Resets every command's draw counter, so a script replays from here."
    ) { session, args in
        session.setSeed(UInt64(args.integer("n")!))
        return .none
    }

    static let space = CommandSpec(
        name: "space", summary: "Selects the search space: nb101, proxyless, nlp, or a user space's JSONL file.",
        positional: [Param("space", .wordOrPath(["nb101", "proxyless", "nlp"]), "the space")],
        details: """
            nb101 uses the synthetic landscape until bench picks a file; proxyless and nlp need
            a bench file. A user space is a JSONL file whose first line declares it
            ({"npsh_space": NAME, "ops": […], "metric": …, "lower_is_better": …}); selecting it
            also makes its rows the benchmark. See docs/formats.md, "User spaces".
            """
    ) { session, args in
        switch args.values["space"] {
        case .word(let name)?:
            let info: SpaceInfo
            switch SpaceKind(rawValue: name) {
            case .proxyless?: info = .proxyless
            case .nlp?: info = NLPSpace.info(maxVertices: 19)
            default: info = .nb101
            }
            if session.space.kind != info.kind || session.benchTable.map({ $0.space.kind != info.kind }) ?? false { session.benchTable = nil }
            session.space = info
            return .space(info)
        case .string(let path)?:
            let b = try GraphBenchmark.loadUser(path)
            session.noteRead(path, as: "the space's file")
            session.benchTable = b
            session.space = b.space
            return .space(b.space)
        default: return .none
        }
    }

    static let bench = CommandSpec(
        name: "bench", summary: "Selects the benchmark: the synthetic landscape, a file, or a trainer that trains for real.",
        positional: [Param("source", .wordOrPath(["synthetic", "trainer"]), "synthetic, trainer, or an official .tfrecord, a .jsonl table or an npsh .sqlite cache"),
                     Param("command", .value, "after trainer: the command's argv as a list of strings, or synthetic", default: "")],
        keywords: [Param("on", .word(["local", "slurm"]), "trainer: where trials run (slurm: a job array per batch)", value: .word("local"))],
        options: [Param("metric", .string, "for a JSONL table, the validation metric field", default: "\"val_acc_108\"")] + trainerOptions,
        details: """
            A .tfrecord or .jsonl file is imported once into a SQLite cache (in $NPSH_CACHE,
            else ~/.cache/npsh) and read from it while the file is unchanged.
            bench trainer ["python3", "train.py", "--arch", "{arch}", "--out", "{result}"]
            trains for real: sample, topk and search run the command for each architecture
            they pick ({arch} a JSON file of the architecture, {result} where to write
            {"metric": …}; also {trial}, {seed}, {dir}), parallel= at a time, and keep every
            result in a SQLite ledger, so a rerun trains nothing twice. bench trainer synthetic
            runs the synthetic landscape through the same machinery. bench trainer […] on slurm
            dir="/shared/runs" partition="gpu" … submits each batch as a Slurm job array
            instead; a rerun adopts the arrays still queued. See docs/training.md.
            """
    ) { session, args in
        if args.has("on"), args.values["source"].map({ if case .word("trainer") = $0 { return false }; return true }) ?? true { throw args.problem("on", .slurmNotTrainer) }
        switch args.values["source"] {
        case .word("trainer")?:
            session.benchTable = try openTrainer(session, args)
            session.benchOrigin = nil
        case .word?:
            session.benchTable = try Session.synthetic(session.store)
            session.space = .nb101
            session.benchOrigin = .synthetic
        case .string(let path)?:
            session.noteRead(path, as: "the benchmark")
            if let loader = try GraphBenchmark.sniff(path) {
                let b = try loader(path)
                if !b.skipped.isEmpty { session.diagnostics("note: \(path): skipped \(b.skipped.count) runs whose status is not OK") }
                session.benchTable = b
                session.space = b.space
                session.benchOrigin = .file(path: absolutePath(path), metric: nil)
                break
            }
            guard args.values["command"] == nil else {
                throw CommandProblem.benchOneFile
            }
            session.space = .nb101
            let (table, report) = try session.store.open(path, metric: args.string("metric"))
            for note in report.notes { session.diagnostics("note: \(note)") }
            if let c = report.wroteCache { session.diagnostics("note: imported \(path) into \(c)") }
            session.benchTable = table
            session.benchOrigin = .file(path: absolutePath(path), metric: args.string("metric"))
        default: break
        }
        return .bench(BenchValue(table: try session.bench()))
    }

    static let load = CommandSpec(
        name: "load", summary: "Reads an architecture set with its recorded metrics from a file.",
        positional: [Param("file", .string, "an exported .json set, a .jsonl table, or a predictor saved by export")]
    ) { session, args in
        let path = args.string("file")!
        session.noteRead(path, as: "a loaded file")
        if PredictorFile.isPredictorFile(path) {
            let loaded = try PredictorFile.load(path, space: session.space.name)
            var p = PredictorValue(predictor: loaded.predictor, trainedOn: loaded.trainedOn, label: "loaded from \(path)", notes: [])
            p.space = session.space
            return .predictor(p)
        }
        do {
            return .archSet(try ArchSet.load(path: path, store: session.store, space: session.space))
        } catch RuntimeError.unknownFormat(let p) {
            throw RuntimeError.unknownSetFormat(p)
        }
    }

    static let allCommand = CommandSpec(
        name: "all", summary: "Every architecture of the current benchmark, with mean metrics over its runs."
    ) { session, _ in
        .archSet(try session.allArchitectures())
    }

    static let sample = CommandSpec(
        name: "sample", summary: "Draws N distinct architectures uniformly and trains each once.",
        positional: [Param("n", .integer(min: 1), "how many")],
        keywords: [Param("from", .archSet, "the set to draw from", default: "all")],
        details: """
            "Training" picks one recorded run at random, as the official API's query does:
            its validation accuracy is reported, and the test accuracy is the mean over runs.
            """
    ) { session, args in
        let table = try session.bench()
        let n = args.integer("n")!
        if let trainer = table as? TrainerBench, args.set("from") == nil, trainer.space.kind != .nb101 {
            // Too many to list: draw as `draw` does, then train.
            guard SpaceGenerator.canGenerate(trainer.space) else {
                throw CommandProblem.cannotMake(space: trainer.space.name)
            }
            var rng = session.stream(for: "sample")
            let picked = try drawDistinct(n, from: trainer.space, store: session.store, rng: &rng)
            return .archSet(try train(picked, table, &rng, session))
        }
        let pool = try args.set("from") ?? session.candidates()
        guard n <= pool.count else {
            throw CommandProblem.sampleTooMany(n, pool: pool.count)
        }
        var rng = session.stream(for: "sample")
        let picked = rng.distinct(n, from: pool.count).map { pool.entries[$0] }
        return .archSet(try train(picked, table, &rng, session))
    }

    /// Trains entries on the current benchmark: a trainer runs them (or reuses its ledger);
    /// a table looks them up (architectures it lacks are an error).
    static func train(_ entries: [ArchEntry], _ table: any Bench, _ rng: inout RandomStream, _ session: Session) throws -> ArchSet {
        if let trainer = table as? TrainerBench { return try trainWithTrainer(entries, trainer, session) }
        let indices = try entries.map { e -> Int in
            guard let i = table.index(of: e.hash) else {
                throw CommandProblem.notInBenchmark(hash: e.hash.hex, label: table.label)
            }
            return i
        }
        let obs = try table.train(indices, epochs: nil, rng: &rng)
        return ArchSet(entries: zip(entries, obs).map { ArchEntry(arch: $0.arch, hash: $0.hash, validation: $1.validation, test: $1.test) },
                       label: table.label, space: table.space)
    }

    static let best = CommandSpec(
        name: "best", summary: "The architecture with the highest validation accuracy, with its test accuracy.",
        positional: [Param("set", .archSet, "the set")]
    ) { _, args in
        let set = args.set("set")!
        guard let b = set.best() else {
            throw set.count == 0 ? CommandProblem.emptySet : CommandProblem.noValidation
        }
        return .best(b, label: set.label, space: set.space)
    }

    static let show = CommandSpec(
        name: "show", summary: "Prints a value as a table.",
        positional: [Param("value", .value, "what to show")],
        options: [Param("rows", .integer(min: 1), "how many rows of a set", value: .integer(10))]
    ) { _, args in
        let rows = args.integer("rows")!
        switch args.values["value"]! {
        case .archSet(let s): return .text(Printer.table(s, rows: rows))
        case .scores(let s): return .text(Printer.table(s, rows: rows))
        case .best(let e, let label, let space): return .text(Printer.table(ArchSet(entries: [e], label: label, space: space), rows: 1))
        case .trials(let t): return .text(trialsTable(t, rows: rows))
        case let v: return .text(Printer.render(v))
        }
    }

    static let export = CommandSpec(
        name: "export", summary: "Writes a value as plain JSON, or as CSV when the file ends in .csv.",
        positional: [Param("value", .value, "a set, scores, a search curve, metrics or a predictor")],
        keywords: [Param("to", .string, "the file to write (.json, or .csv for a table)")],
        details: """
            A set: [{hash, matrix, ops, val, test}] (accuracies in percent; ProxylessNAS "arch",
            graph spaces "ops" and "edges"). Scores: [{hash, the graph, score}]. A search
            curve: {budget, val_mean, val_std, test_mean, test_std, time_mean}. Metrics:
            {kendall, spearman, mse, r2, n}. A predictor: npsh's predictor file (load reads it
            back). The file is written whole or not at all, and never over a file the session
            reads (its benchmark, space, loaded files or the script itself).
            """
    ) { session, args in
        let path = args.string("to")!
        let value = args.values["value"]!
        if case .predictor(let p) = value {
            guard !path.hasSuffix(".csv") else { throw CommandProblem.predictorAsCSV }
            try session.checkWritable(path)
            try PredictorFile.write(p.predictor, to: path, space: p.space.name, trainedOn: p.trainedOn)
        } else {
            try session.write(try Exporter.text(value, csv: path.hasSuffix(".csv")), to: path)
        }
        session.diagnostics("note: wrote \(path)")
        return .none
    }

    static let help = CommandSpec(
        name: "help", summary: "Lists the commands, or explains one.",
        positional: [Param("command", .word(Builtins.names), "a command", default: "")]
    ) { _, args in
        if case .word(let name) = args.values["command"], let spec = all.first(where: { $0.name == name }) {
            return .text(spec.help)
        }
        let width = all.map(\.name.count).max()!
        var out = "Commands (help NAME for details):\n"
        for c in all { out += "  \(c.name)\(String(repeating: " ", count: width - c.name.count))  \(c.summary)\n" }
        out += "Statements: let NAME = COMMAND …, for X in LIST { … }, a bare value prints it; # starts a comment;\n"
        out += "(COMMAND …) uses a command's result as an argument.\n"
        out += "REPL: Tab completes, Up/Down recall history, Ctrl-C stops a statement, Ctrl-D quits; help save."
        return .text(out)
    }

    static var names: [String] { others.map(\.name) + ["help"] }
}
