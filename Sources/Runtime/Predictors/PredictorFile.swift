import Foundation

// Saved predictors: a documented, self-checking file.
//
//   line 1   "NPSH-PREDICTOR 1"
//   line 2   a JSON header: {"space": "nb101", "kind": "single" | "twostage", "threshold": …,
//            "trainedOn": N, "models": [{"config": FitConfig, "count": parameters,
//            "labelMean": …, "labelScale": …, "finalLoss": …}, …]}   (two-stage: classifier
//            first; trainedOn and finalLoss are absent in files of npsh before 0.2)
//   then     each model's parameters as little-endian float32, in header order
//   last     4 bytes: CRC-32C (little-endian) of everything before it
//
// The config holds the seed the fit drew from, so a saved predictor says how it was made.

public enum PredictorFile {
    static let magic = "NPSH-PREDICTOR 1"

    struct Header: Codable {
        var space: String
        var kind: String
        var threshold: Double?
        var trainedOn: Int?
        var models: [Model]
    }

    struct Model: Codable {
        var config: FitConfig
        var count: Int
        var labelMean: Double
        var labelScale: Double
        var finalLoss: Double?
    }

    /// A predictor read back, with how many architectures it was fitted on (nil: not recorded).
    public struct Loaded: Sendable {
        public var predictor: FittedPredictor
        public var trainedOn: Int?
    }

    public static func write(_ p: FittedPredictor, to path: String, space: String = "nb101", trainedOn: Int? = nil) throws {
        let predictors: [Predictor]
        var header = Header(space: space, kind: "single", threshold: nil, trainedOn: trainedOn, models: [])
        switch p {
        case .single(let s): predictors = [s]
        case .twoStage(let c, let r, let t):
            predictors = [c, r]
            header.kind = "twostage"
            header.threshold = t
        case .ensemble(let ms):
            predictors = ms
            header.kind = "ensemble"
        }
        header.models = predictors.map { Model(config: $0.config, count: $0.parameters.count, labelMean: $0.labelMean, labelScale: $0.labelScale,
                                                  finalLoss: $0.epochLosses.last) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var bytes = Array((magic + "\n").utf8)
        bytes += Array(try encoder.encode(header)) + [10]
        for q in predictors { q.parameters.withUnsafeBytes { bytes += $0 } }
        var crc = CRC32C.checksum(bytes).littleEndian
        withUnsafeBytes(of: &crc) { bytes += $0 }
        let w = try FileWriter(path: path)
        try w.write(bytes)
        try w.close()
    }

    /// Whether a file starts like a saved predictor.
    public static func isPredictorFile(_ path: String) -> Bool {
        guard let f = try? MappedFile(path: path), f.count >= magic.utf8.count else { return false }
        return Array(f.bytes[0..<magic.utf8.count]) == Array(magic.utf8)
    }

    public static func read(_ path: String, space: String = "nb101") throws -> FittedPredictor { try load(path, space: space).predictor }

    public static func load(_ path: String, space: String = "nb101") throws -> Loaded {
        let f = try MappedFile(path: path)
        let b = Array(f.bytes)
        func bad(_ problem: RecordProblem) -> RuntimeError { .malformed(DataPlace(file: path), problem) }
        guard b.count > magic.utf8.count + 5, Array(b[0..<magic.utf8.count]) == Array(magic.utf8) else {
            throw bad(.notPredictorFile(magic: magic))
        }
        let stored = b[(b.count - 4)...].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }.littleEndian
        guard CRC32C.checksum(Array(b[0..<(b.count - 4)])) == stored else {
            throw RuntimeError.crcMismatch(DataPlace(file: path), what: "predictor file")
        }
        guard let nl1 = b.firstIndex(of: 10), let nl2 = b[(nl1 + 1)...].firstIndex(of: 10) else { throw bad(.missingHeaderLine) }
        let header: Header
        do { header = try JSONDecoder().decode(Header.self, from: Data(b[(nl1 + 1)..<nl2])) } catch {
            throw bad(.header("\(error)"))
        }
        guard header.space == space else {
            throw bad(.otherSpace(fitted: header.space, session: space))
        }
        var offset = nl2 + 1
        var models: [Predictor] = []
        for m in header.models {
            let expected = Network(shape: m.config.shape, capacity: 1).layout.count
            guard m.count == expected else { throw bad(.parameterCount(m.count, needs: expected)) }
            guard offset + 4 * m.count <= b.count - 4 else { throw bad(.parametersTruncated) }
            let params = b[offset..<(offset + 4 * m.count)].withUnsafeBytes { raw in
                (0..<m.count).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self).littleEndian) }
            }
            offset += 4 * m.count
            models.append(Predictor(config: m.config, parameters: params, labelMean: m.labelMean, labelScale: m.labelScale,
                                    epochLosses: m.finalLoss.map { [$0] } ?? [], stepLosses: []))
        }
        guard offset == b.count - 4 else { throw bad(.trailingBytes(b.count - 4 - offset)) }
        switch (header.kind, models.count) {
        case ("single", 1): return Loaded(predictor: .single(models[0]), trainedOn: header.trainedOn)
        case ("ensemble", let n) where n >= 2: return Loaded(predictor: .ensemble(models), trainedOn: header.trainedOn)
        case ("twostage", 2):
            return Loaded(predictor: .twoStage(classifier: models[0], regressor: models[1], threshold: header.threshold ?? 0.91), trainedOn: header.trainedOn)
        default: throw bad(.modelCount(kind: header.kind, models.count))
        }
    }
}
