import Runtime

/// A benchmark selected by `bench`.
public struct BenchValue: Sendable {
    public let table: any Bench
}

/// A fitted predictor with what it was trained on.
public struct PredictorValue: Sendable {
    public let predictor: FittedPredictor
    /// How many architectures it was fitted on (nil: a loaded file that does not say).
    public let trainedOn: Int?
    public let label: String
    /// The space it was fitted in; predicting another space's architectures is an error.
    public var space: SpaceInfo = .nb101
    public let notes: [String]
}

/// Predicted scores for a set of architectures.
public struct ScoresValue: Sendable {
    public let entries: [ArchEntry]
    public let scores: [Double]
    public let accepted: [Bool]?
    public let model: String
    public let label: String
    public var space: SpaceInfo = .nb101

    /// Indices of the entries, best predicted first (highest, or lowest for a loss; a
    /// two-stage predictor's scores already rank rejected architectures last); ties by
    /// hash, so the order never depends on how the candidates were listed.
    func ranking() -> [Int] {
        entries.indices.sorted { a, b in
            scores[a] != scores[b] ? space.better(scores[a], than: scores[b]) : entries[a].hash < entries[b].hash
        }
    }
}

/// A typed npsh value.
public enum Value: Sendable {
    case none
    case integer(Int)
    case decimal(Double)
    case string(String)
    case list([Value])
    case archSet(ArchSet)
    case bench(BenchValue)
    case space(SpaceInfo)
    /// A bare word given where a command expects one (`bench synthetic`).
    case word(String)
    case best(ArchEntry, label: String, space: SpaceInfo)
    case predictor(PredictorValue)
    case scores(ScoresValue)
    /// `percent`: the metric is an accuracy, so MSE prints in %².
    case metrics(MetricSummary, label: String, percent: Bool)
    case text(String)
    case search(SearchValue)
    /// A trainer's trials (`trials`).
    case trials(TrialsValue)

    /// The type's name in messages.
    public var typeName: String {
        switch self {
        case .none: return "nothing"
        case .integer: return "an integer"
        case .decimal: return "a decimal"
        case .string: return "a string"
        case .list: return "a list"
        case .archSet: return "an architecture set"
        case .bench: return "a benchmark"
        case .space: return "a search space"
        case .word: return "a word"
        case .best: return "an architecture"
        case .predictor: return "a predictor"
        case .scores: return "scores"
        case .metrics: return "metrics"
        case .text: return "text"
        case .search: return "a search result"
        case .trials: return "trials"
        }
    }

    var number: Double? {
        switch self {
        case .integer(let i): return Double(i)
        case .decimal(let d): return d
        default: return nil
        }
    }
}

/// Stable number formatting for every printed value.
enum Format {
    /// 1234567 → "1,234,567".
    static func count(_ n: Int) -> String { formatCount(n) }

    /// "1 cell", "20,001 cells".
    static func plural(_ n: Int, _ noun: String, _ plural: String? = nil) -> String {
        "\(count(n)) " + (n == 1 ? noun : plural ?? noun + "s")
    }

    /// A fraction as a percentage with two decimals, or "—" when unknown.
    static func percent(_ x: Double) -> String {
        x.isNaN ? "—" : fixed(x * 100, 2)
    }

    /// "93.13 %", or "—" when unknown.
    static func percentWithUnit(_ x: Double) -> String {
        x.isNaN ? "—" : fixed(x * 100, 2) + " %"
    }

    /// A metric value: an accuracy in percent, anything else with four decimals.
    static func metric(_ x: Double, _ space: SpaceInfo) -> String {
        x.isNaN ? "—" : space.isAccuracy ? fixed(x * 100, 2) : fixed(x, 4)
    }

    static func metricWithUnit(_ x: Double, _ space: SpaceInfo) -> String {
        x.isNaN ? "—" : space.isAccuracy ? fixed(x * 100, 2) + " %" : fixed(x, 4)
    }

    /// Fixed-point with `digits` decimals, identical on every platform.
    static func fixed(_ x: Double, _ digits: Int) -> String { formatFixed(x, digits) }

    /// A plain decimal for printing a number value.
    static func decimal(_ d: Double) -> String { formatSignificant(d, digits: 12) }
}
