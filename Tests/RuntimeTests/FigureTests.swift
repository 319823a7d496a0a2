import Foundation
@testable import Runtime
import XCTest

final class FigureTests: XCTestCase {
    /// One figure of every kind, from real npsh results on a toy benchmark.
    func figures() throws -> [(String, Figure)] {
        let b = toyBenchmark()
        let set = try b.architectures()
        let problem = SearchProblem(candidates: set, trainer: b)
        let shape = NetworkShape(kind: .gcn, layers: 2, dim: 8, fc: [8], output: .linear, vertices: 8, opKinds: 4)
        let fit = FitConfig(shape: shape, learningRate: 2e-3, weightDecay: 0, epochs: 10, batch: 10)
        let curves = [
            try Search.run(.oracle, on: problem, runs: 1, seed: 1, name: "oracle"),
            try Search.run(.random(budget: 60), on: problem, runs: 3, seed: 1, name: "random"),
            try Search.run(.predictor(PredictorSearchConfig(n: 30, k: 30, regressor: fit)), on: problem, runs: 3, seed: 1, name: "gcn N=30"),
        ]
        let archs = set.architectures, labels = set.entries.map(\.validation)
        let p = try Predictor.fit(fit, cells: archs, indices: Array(0..<100), labels: Array(labels[0..<100]))
        let predicted = p.predict(cells: archs, indices: Array(100..<300))
        var rng = RandomStream(seed: 2, path: ["hist"])
        let prob = (0..<300).map { _ in rng.uniform() }
        return [
            ("curves", Figure.curves(curves, space: b.space, metric: .test, x: .models, label: "toy")),
            ("curves-time", Figure.curves(curves, space: b.space, metric: .val, x: .time, label: "toy")),
            ("scatter", Figure.scatter(predicted: predicted, truth: Array(labels[100..<300]), space: b.space, label: "toy")),
            ("valtest", Figure.validationVersusTest(set)),
            ("histogram", Figure.classifierHistogram(probabilities: prob, truth: labels, threshold: 0.3, label: "toy <&> \"quoted\"")),
        ]
    }

    func testSVGsAreSelfContainedAndRender() throws {
        let figs = try figures()
        let dir = temporaryFolder(self)
        let converter = ["/usr/bin/rsvg-convert", "/usr/local/bin/rsvg-convert"].first { FileManager.default.isExecutableFile(atPath: $0) }
        for (name, f) in figs {
            let svg = SVGRenderer.render(f)
            XCTAssertTrue(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""), name)
            XCTAssertFalse(svg.contains("href"), "\(name): no external references")
            XCTAssertTrue(svg.contains(SVGRenderer.escape(f.title)) && svg.contains(SVGRenderer.escape(f.xLabel)) && svg.contains(SVGRenderer.escape(f.yLabel)), "\(name): title and axis labels")
            for s in f.series { XCTAssertTrue(svg.contains(SVGRenderer.escape(s.name)), "\(name): legend entry \(s.name)") }
            XCTAssertEqual(svg, SVGRenderer.render(f), "\(name): rendering is a pure function")
            let path = dir + "/\(name).svg"
            try FileWriter.write(svg, to: path)
            guard let converter else { continue }
            let result = try runProgram(converter, [path, "-o", dir + "/\(name).png"])
            XCTAssertEqual(result.status, 0, "\(name).svg does not render: \(result.output)")
            let png = try Data(contentsOf: URL(fileURLWithPath: dir + "/\(name).png"))
            XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "\(name): a PNG")
            XCTAssertGreaterThan(png.count, 5_000, "\(name): the PNG has content")
        }
        if converter == nil {
            let message = "rsvg-convert (librsvg2-bin) is absent: SVGs were checked as text but not rendered"
            if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail(message) } else { throw XCTSkip(message) }
        }
    }

    func testTerminalPreviewIsCompact() throws {
        for (name, f) in try figures() {
            let text = TerminalPlot.render(f, columns: 50, rows: 10)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            XCTAssertEqual(lines.count, 1 + 10 + 4, name)
            XCTAssertTrue(lines[1...10].contains { $0.unicodeScalars.contains { $0.value >= 0x2801 && $0.value <= 0x28FF } }, "\(name): dots drawn")
        }
    }

    func testNiceTicks() {
        XCTAssertEqual(niceTicks(0...10, target: 5), [0, 2, 4, 6, 8, 10])
        XCTAssertEqual(niceTicks(88.4...96.9, target: 6), [90, 92, 94, 96])
        let t = niceTicks(0...0.93, target: 6)
        XCTAssertEqual(t.count, 5)
        for (a, b) in zip(t, [0, 0.2, 0.4, 0.6, 0.8]) { XCTAssertEqual(a, b, accuracy: 1e-12) }
        XCTAssertEqual(niceTicks(0...0.93, target: 3), [0, 0.5])
    }
}
