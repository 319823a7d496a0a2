import Runtime

/// The predictor commands: fit, predict, topk, eval.
extension Builtins {
    static let modelWords = ["gcn", "mlp", "cnn", "twostage"]

    static let fit = CommandSpec(
        name: "fit", summary: "Fits a predictor on a set's (architecture, validation accuracy) pairs.",
        positional: [Param("model", .word(modelWords), "the predictor"), Param("set", .archSet, "the training set")],
        options: [
            Param("epochs", .integer(min: 1), "training epochs", default: "300"),
            Param("lr", .number, "initial learning rate (cosine-decayed to 0)", default: "1e-4; classifier 2e-4"),
            Param("wd", .number, "weight decay", default: "1e-3"),
            Param("dropout", .number, "dropout rate after each body layer", default: "0.1"),
            Param("batch", .integer(min: 1), "mini-batch size", default: "10"),
            Param("dim", .integer(min: 1), "node representation size D", default: "the paper's for N"),
            Param("layers", .integer(min: 1), "body layers", default: "3"),
            Param("fc", .integer(min: 1), "width of the fully connected layer", default: "128"),
            Param("output", .word(OutputMode.allCases.map(\.rawValue)), "output: shifted, sigmoid or linear", default: "shifted"),
            Param("optimizer", .word(OptimizerKind.allCases.map(\.rawValue)), "adam (L2 decay) or adamw (decoupled)", default: "adam"),
            Param("threshold", .number, "two-stage: the accuracy (percent) the classifier separates", default: "91"),
        ],
        details: """
            The paper's settings by default: 3 bidirectional GCN layers of size D (48 for N=43,
            72/86, 96/129, 144/172, 210/334, 320/860; interpolated in between), mean over the
            cell's vertices, FC 128, shifted-sigmoid output, Adam, batch 10, 300 epochs.
            twostage fits a classifier (val ≥ threshold, lr 2e-4) and a regressor on the accepted.
            """
    ) { session, args in
        guard case .word(let model) = args.values["model"], let set = args.set("set") else { return .none }
        let labeled = set.entries.filter { !$0.validation.isNaN }
        guard labeled.count == set.count else {
            throw RuntimeError.invalidArgument("\(set.count - labeled.count) architectures of the set have no validation accuracy to learn from")
        }
        var notes: [String] = []
        let n = model == "twostage"
            ? set.entries.filter { $0.validation >= (args.number("threshold") ?? 91) / 100 }.count : set.count
        let dim: Int
        if let d = args.integer("dim") { dim = d } else {
            let (d, interpolated) = FitConfig.paperDim(forTrainingSize: max(1, n))
            dim = d
            if interpolated { notes.append("D = \(d) interpolated from the paper's table for N = \(n)") }
        }
        let output = args.values["output"].flatMap { if case .word(let w) = $0 { return OutputMode(rawValue: w) }; return nil } ?? .shifted
        let optimizer = args.values["optimizer"].flatMap { if case .word(let w) = $0 { return OptimizerKind(rawValue: w) }; return nil } ?? .adam
        let dropout = args.number("dropout") ?? 0.1
        guard dropout >= 0 && dropout < 1 else { throw RuntimeError.invalidArgument("dropout must be in [0, 1), got \(dropout)") }
        var rng = session.stream(for: "fit")
        let kind = model == "twostage" ? ModelKind.gcn : ModelKind(rawValue: model)!
        let shape = NetworkShape(kind: kind, layers: args.integer("layers") ?? 3, dim: dim, fc: [args.integer("fc") ?? 128],
                                 dropout: Float(dropout), output: output)
        let config = FitConfig(shape: shape, optimizer: optimizer, learningRate: args.number("lr") ?? 1e-4,
                               weightDecay: args.number("wd") ?? 1e-3, epochs: args.integer("epochs") ?? 300,
                               batch: args.integer("batch") ?? 10, seed: rng.next())
        let cells = set.entries.map(\.cell)
        let labels = set.entries.map(\.validation)
        let progress: (Int) -> Bool = { epoch in
            // At most ten progress lines a fit, on standard error.
            if epoch % max(50, config.epochs / 10) == 0 { session.diagnostics("fit: epoch \(epoch)/\(config.epochs)") }
            return !session.interruptRequested()
        }
        let fitted: FittedPredictor
        if model == "twostage" {
            var classifier = config
            classifier.loss = .bce
            classifier.learningRate = args.number("lr").map { $0 * 2 } ?? 2e-4
            classifier.shape.output = .sigmoid
            classifier.seed = rng.next()
            fitted = try FittedPredictor.fitTwoStage(regressor: config, classifier: classifier, threshold: (args.number("threshold") ?? 91) / 100,
                                                     cells: cells, indices: Array(cells.indices), labels: labels, progress: progress)
        } else {
            fitted = .single(try Predictor.fit(config, cells: cells, indices: Array(cells.indices), labels: labels, progress: progress))
        }
        return .predictor(PredictorValue(predictor: fitted, trainedOn: set.count, label: set.label, notes: notes))
    }

    static func predictorArgument(_ args: Arguments) throws -> PredictorValue {
        guard case .predictor(let p) = args.values["predictor"] else {
            throw RuntimeError.invalidArgument("expected a predictor (made by fit or load)")
        }
        return p
    }

    static let predict = CommandSpec(
        name: "predict", summary: "Predicted scores of a predictor on a set (default: every architecture of the benchmark).",
        positional: [Param("predictor", .value, "a fitted predictor")],
        keywords: [Param("on", .archSet, "the candidates", default: "all")]
    ) { session, args in
        let p = try predictorArgument(args)
        let set = try args.set("on") ?? session.allArchitectures()
        let cells = set.entries.map(\.cell)
        let (scores, accepted) = p.predictor.scores(cells: cells, indices: Array(cells.indices), threads: session.threads)
        return .scores(ScoresValue(entries: set.entries, scores: scores, accepted: accepted, model: p.predictor.kindName, label: set.label))
    }

    static let topk = CommandSpec(
        name: "topk", summary: "The K best-predicted architectures, each then trained once (like sample).",
        positional: [Param("scores", .value, "scores from predict"), Param("k", .integer(min: 1), "how many")]
    ) { session, args in
        guard case .scores(let s) = args.values["scores"] else {
            throw RuntimeError.invalidArgument("topk needs scores from predict")
        }
        let k = args.integer("k")!
        guard k <= s.entries.count else {
            throw RuntimeError.invalidArgument("K = \(k) is larger than the \(Format.count(s.entries.count)) candidates")
        }
        // Highest score first; ties by hash, so the choice never depends on order.
        let order = s.entries.indices.sorted {
            s.scores[$0] != s.scores[$1] ? s.scores[$0] > s.scores[$1] : s.entries[$0].hash < s.entries[$1].hash
        }
        var rng = session.stream(for: "topk")
        return .archSet(try train(order.prefix(k).map { s.entries[$0] }, try session.bench(), &rng))
    }

    static let eval = CommandSpec(
        name: "eval", summary: "Metrics of a predictor on a set: kendall, spearman, mse (%²), r2, n.",
        positional: [Param("predictor", .value, "a fitted predictor")],
        keywords: [Param("on", .archSet, "the set to evaluate on")]
    ) { session, args in
        let p = try predictorArgument(args)
        let set = args.set("on")!
        let labeled = set.entries.filter { !$0.validation.isNaN }
        guard !labeled.isEmpty else { throw RuntimeError.invalidArgument("the set has no validation accuracies to evaluate against") }
        let cells = labeled.map(\.cell)
        let truth = labeled.map(\.validation)
        let predicted = p.predictor.values(cells: cells, indices: Array(cells.indices), threads: session.threads)
        var label = set.label
        if case .twoStage(let classifier, _, let threshold) = p.predictor {
            // The cascade's first stage: how well it separates accurate cells.
            let prob = classifier.predict(cells: cells, indices: Array(cells.indices), threads: session.threads)
            let c = ClassifierReport(probabilities: prob, truth: truth, threshold: threshold)
            label += "; classifier accuracy \(Format.fixed(c.accuracy * 100, 2)) %, false-negative rate \(Format.fixed(c.falseNegativeRate * 100, 2)) %"
        }
        return .metrics(Metrics.summary(predicted: predicted, truth: truth), label: label)
    }
}
