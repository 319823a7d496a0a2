// The fixture shared with scripts/reference/predictor_reference.py: a small GCN fit fully
// specified (cells, labels, initial weights in npsh's layout, batch order of every epoch,
// no dropout), so that PyTorch and npsh run the same arithmetic and their losses and final
// predictions can be compared number for number.

public enum ParityFixture {
    public static let config = FitConfig(
        shape: NetworkShape(kind: .gcn, layers: 3, dim: 32, fc: [16], dropout: 0, output: .shifted),
        learningRate: 1e-3, weightDecay: 1e-3, epochs: 40, batch: 10, seed: 17)

    /// 30 training cells from the synthetic landscape, 20 held-out cells to predict.
    public static func make(catalog: NB101Catalog, table: BenchmarkTable) -> JSONValue {
        var rng = RandomStream(seed: 2024, path: ["parity"])
        let picks = rng.distinct(50, from: catalog.cells.count)
        let train = Array(picks[0..<30]), test = Array(picks[30..<50])
        let labels = train.map { Double(table.budgets[0].run($0, 0).validationAccuracy) }
        let initial = Predictor.initialParameters(config, labels: labels)
        var orders: [JSONValue] = []
        for _ in 0..<config.epochs {
            var perm = Array(0..<train.count)
            rng.shuffle(&perm)
            orders.append(.array(perm.map { .number(Double($0)) }))
        }
        func encode(_ ids: [Int]) -> JSONValue {
            .array(ids.map { i in
                let c = catalog.cells[i]
                return .object([("hash", .string(catalog.hashes[i].hex)),
                                ("matrix", .array(c.matrix.map { .array($0.map { .number(Double($0)) }) })),
                                ("ops", .array(c.ops.map { .string($0) }))])
            })
        }
        let layout = Network(shape: config.shape, capacity: 1).layout
        return .object([
            ("config", .object([("layers", .number(3)), ("dim", .number(32)), ("fc", .number(16)), ("lr", .number(1e-3)),
                                ("wd", .number(1e-3)), ("epochs", .number(40)), ("batch", .number(10)), ("output", .string("shifted"))])),
            ("tensors", .array(layout.tensors.map { .object([("name", .string($0.name)), ("offset", .number(Double($0.offset))),
                                                            ("rows", .number(Double($0.rows))), ("cols", .number(Double($0.cols))),
                                                            ("weight", .bool($0.isWeight))]) })),
            ("train", encode(train)), ("labels", .array(labels.map { .number($0) })), ("test", encode(test)),
            ("initial", .array(initial.map { .number(Double($0)) })), ("orders", .array(orders)),
        ])
    }
}
