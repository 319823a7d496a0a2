import Foundation
@testable import Runtime
import XCTest

/// Shared test data: ../shared/data beside the package. Tests that need it skip with a
/// clear message when it is absent, and fail instead when CI=true.
enum SharedData {
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static var directory: String {
        ProcessInfo.processInfo.environment["NPSH_SHARED_DATA"] ?? packageRoot + "/../shared/data"
    }

    /// The path of a data file, or a skip (a failure under CI=true) when it is missing.
    static func path(_ relative: String) throws -> String {
        let p = directory + "/" + relative
        if FileManager.default.fileExists(atPath: p) { return p }
        let message = "shared data \(p) is absent; this test needs ../shared/data (see its README)"
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            XCTFail(message + " — CI=true, so this is a failure, not a skip")
            throw XCTSkip(message)
        }
        throw XCTSkip(message)
    }
}

/// A fresh temporary folder, removed when the test ends.
func temporaryFolder(_ test: XCTestCase) -> String {
    let dir = makeTemporaryDirectory(prefix: "npsh-test")
    test.addTeardownBlock { try? removeTree(dir) }
    return dir
}

/// Asserts that `body` throws a RuntimeError whose text contains every fragment.
/// The body throws exactly this error: errors are data, so tests can name the case.
func assertThrows(_ expected: RuntimeError, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) {
    do {
        try body()
        XCTFail("expected \(expected)", file: file, line: line)
    } catch let e as RuntimeError {
        XCTAssertEqual(e, expected, file: file, line: line)
    } catch {
        XCTFail("unexpected error type: \(error)", file: file, line: line)
    }
}

func assertThrows(_ fragments: [String], file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) {
    do {
        try body()
        XCTFail("expected an error containing \(fragments)", file: file, line: line)
    } catch let e as RuntimeError {
        for f in fragments where !e.description.contains(f) {
            XCTFail("error «\(e.description)» does not contain «\(f)»", file: file, line: line)
        }
    } catch {
        XCTFail("unexpected error type: \(error)", file: file, line: line)
    }
}

/// The whole space, enumerated once per test process.
enum Space {
    static let catalog = NB101Enumeration.enumerate()
    static let synthetic = SyntheticLandscape.table(catalog)

    /// A predictor fitted on `n` cells drawn from `rng`, labelled with one synthetic run's
    /// validation accuracy each, and the cells.
    static func fitted(_ rng: inout RandomStream, n: Int, _ config: FitConfig) throws -> (Predictor, [Int]) {
        let idx = rng.distinct(n, from: catalog.cells.count)
        let labels = idx.map { Double(synthetic.budgets[0].run($0, 0).validationAccuracy) }
        return (try Predictor.fit(config, cells: catalog.cells, indices: idx, labels: labels), idx)
    }
}
