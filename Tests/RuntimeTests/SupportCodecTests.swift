@testable import Runtime
import CKernels
import XCTest

final class SupportCodecTests: XCTestCase {
    func testMD5KnownVectors() {
        XCTAssertEqual(MD5.digest("").hex, "d41d8cd98f00b204e9800998ecf8427e")
        XCTAssertEqual(MD5.digest("abc").hex, "900150983cd24fb0d6963f7d28e17f72")
        XCTAssertEqual(MD5.digest("The quick brown fox jumps over the lazy dog").hex, "9e107d9d372bb6826bd81d3542a419d6")
        // Lengths around the padding boundary (55, 56, 64 bytes) and a multi-block message.
        XCTAssertEqual(MD5.digest(String(repeating: "a", count: 55)).hex, "ef1772b6dff9a122358552954ad0df65")
        XCTAssertEqual(MD5.digest(String(repeating: "a", count: 56)).hex, "3b0c8ac703f828b04c6c197006d17218")
        XCTAssertEqual(MD5.digest(String(repeating: "a", count: 64)).hex, "014842d480b571495a4a0363793f7367")
        XCTAssertEqual(MD5.digest(String(repeating: "1234567890", count: 8)).hex, "57edf4a22be3c955ac49da2e2107b67a")
    }

    func testDigestHexRoundTripAndOrder() {
        let d = MD5.digest("abc")
        XCTAssertEqual(Digest128(hex: d.hex), d)
        XCTAssertEqual(Digest128(hex: d.hex.uppercased()), d)
        XCTAssertNil(Digest128(hex: "xyz"))
        XCTAssertNil(Digest128(hex: String(repeating: "g", count: 32)))
        let a = Digest128(hex: "0f" + String(repeating: "0", count: 30))!
        let b = Digest128(hex: "a0" + String(repeating: "0", count: 30))!
        XCTAssertTrue(a < b, "digests order like their hex strings")
    }

    func testCRC32C() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        // Incremental equals one-shot.
        let bytes = (0..<1000).map { UInt8($0 % 251) }
        let whole = CRC32C.checksum(bytes)
        let first = bytes[0..<333].withUnsafeBytes { CRC32C.checksum($0.baseAddress!, count: $0.count) }
        let both = bytes[333...].withUnsafeBytes { CRC32C.checksum($0.baseAddress!, count: $0.count, seed: first) }
        XCTAssertEqual(whole, both)
    }

    /// The instruction's CRC (three interleaved streams joined by shifting, for buffers of
    /// 24 KiB or more) against the table's, over lengths and starts that cross every joint.
    func testCRC32CInstructionMatchesTheTable() throws {
        try XCTSkipUnless(npsh_crc32c_available() != 0, "this CPU has no SSE4.2 CRC-32C instruction; the table serves alone")
        var rng = RandomStream(seed: 3, path: ["crc"])
        let bytes = (0..<300_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        bytes.withUnsafeBytes { b in
            let base = b.baseAddress!
            var lengths = Array(0..<80) + [8191, 8192, 8193, 24_575, 24_576, 24_577, 49_152, 73_731, 299_990]
            lengths += (0..<40).map { _ in Int(rng.next() % 290_000) }
            for (k, n) in lengths.enumerated() {
                let start = k % 13
                let seed = k % 3 == 0 ? 0 : UInt32(truncatingIfNeeded: rng.next())
                XCTAssertEqual(npsh_crc32c(seed, base + start, n), CRC32C.software(base + start, count: n, seed: seed),
                               "\(n) bytes from \(start), seed \(seed)")
            }
        }
        XCTAssertEqual(npsh_crc32c(0, Array("123456789".utf8), 9), 0xE306_9283)
    }

    func testBase64() {
        for n in 0..<20 {
            let bytes = (0..<n).map { UInt8(($0 * 37) % 256) }
            XCTAssertEqual(Base64.decode(Base64.encode(bytes)), bytes)
        }
        XCTAssertEqual(Base64.decode("aGVs\nbG8=\n"), Array("hello".utf8), "line breaks are ignored")
        XCTAssertNil(Base64.decode("aGV*"))
        XCTAssertNil(Base64.decode("a"))
        XCTAssertNil(Base64.decode("aG=V"))
    }

    func testJSON() throws {
        let v = try JSONValue.parse(#"{"a": [1, -2.5e2, "x\"\u00e9\n"], "b": null, "c": true}"#)
        XCTAssertEqual(v["a"], .array([.number(1), .number(-250), .string("x\"é\n")]))
        XCTAssertEqual(v["b"], .null)
        XCTAssertEqual(v["c"], .bool(true))
        for bad in ["", "{", "[1,]", "{\"a\" 1}", "01", "1.", "\"abc", "[1] x", "nul", "\"\\q\""] {
            XCTAssertThrowsError(try JSONValue.parse(bad), "«\(bad)» must not parse")
        }
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        XCTAssertThrowsError(try JSONValue.parse(deep), "nesting is bounded")
        XCTAssertEqual(JSONWriter.write(v), #"{"a":[1,-250,"x\"é\n"],"b":null,"c":true}"#)
    }

    func testRandomStreamsAreNamedAndStable() {
        var a = RandomStream(seed: 7, path: ["sample", 0])
        var b = RandomStream(seed: 7, path: ["sample", 0])
        var c = RandomStream(seed: 7, path: ["sample", 1])
        let xs = (0..<5).map { _ in a.next() }
        XCTAssertEqual(xs, (0..<5).map { _ in b.next() })
        XCTAssertNotEqual(xs, (0..<5).map { _ in c.next() })
        // Pinned: these values must never change, or every committed notebook would.
        var p = RandomStream(seed: 42)
        XCTAssertEqual(p.next(), 0x19e4_79e2_aaa7_7bfb)
        var q = RandomStream(seed: 42, path: ["sample", 0])
        XCTAssertEqual((0..<4).map { _ in q.int(below: 20001) }, [19603, 17013, 8527, 16823])
    }

    func testDistinctDrawsAreUniformAndDistinct() {
        var r = RandomStream(seed: 1)
        var counts = [Int](repeating: 0, count: 10)
        for _ in 0..<20000 {
            let d = r.distinct(3, from: 10)
            XCTAssertEqual(Set(d).count, 3)
            for x in d { counts[x] += 1 }
        }
        for c in counts { XCTAssertEqual(Double(c), 6000, accuracy: 300) }
        // The sparse path (249 of 1000) draws what the dense path (250 of 1000) draws.
        var s1 = RandomStream(seed: 9), s2 = RandomStream(seed: 9)
        XCTAssertEqual(s1.distinct(249, from: 1000), Array(s2.distinct(250, from: 1000).prefix(249)))
    }
}

final class SuggestionTests: XCTestCase {
    func testDidYouMean() {
        XCTAssertEqual(editDistance("gnc", "gcn"), 1, "a transposition is one edit")
        XCTAssertEqual(suggestion(for: "gnc", among: ["gcn", "mlp", "cnn", "twostage"]), "gcn")
        XCTAssertEqual(suggestion(for: "smaple", among: ["sample", "seed", "show"]), "sample")
        XCTAssertEqual(suggestion(for: "conv3x3", among: ["conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"]), "conv3x3-bn-relu")
        XCTAssertNil(suggestion(for: "zzzzzz", among: ["sample", "seed"]))
    }
}

/// A Slurm task's outcome file: written once, first result wins (a requeued task that
/// reports twice is recorded once), and a task whose outcome exists does not run again.
final class OutcomeFileTests: XCTestCase {
    func testFirstOutcomeWinsAndARequeuedTaskDoesNotRunAgain() throws {
        let dir = makeTemporaryDirectory(prefix: "npsh-outcome")
        defer { try? removeTree(dir) }
        try #"{"metric": 0.9}"#.write(toFile: dir + "/result.json", atomically: true, encoding: .utf8)
        XCTAssertTrue(try OutcomeFile.write(.success(TrialResult(metric: 0.9)), seconds: 2, directory: dir, attempt: 1))
        XCTAssertFalse(try OutcomeFile.write(.failure(.exited(1), final: false), seconds: 3, directory: dir, attempt: 1),
                       "a second report of the same attempt is not written")
        let (outcome, seconds) = try XCTUnwrap(OutcomeFile.read(directory: dir, attempt: 1, resultPath: dir + "/result.json", range: 0...1))
        XCTAssertEqual(outcome, .success(TrialResult(metric: 0.9)))
        XCTAssertEqual(seconds, 2)
        XCTAssertNil(OutcomeFile.read(directory: dir, attempt: 2, resultPath: dir + "/result.json", range: 0...1))
        // Every problem survives the file.
        let problems: [TrialProblem] = [.exited(2), .signaled(9), .timedOut(1.5), .noResult, .resultTooLarge(3), .resultNotJSON("x"), .missingMetric,
                                        .badValue("metric", "is 2"), .couldNotStart("e"), .permanent, .interrupted, .lost("gone")]
        for (i, p) in problems.enumerated() {
            XCTAssertTrue(try OutcomeFile.write(.failure(p, final: true), seconds: 1, directory: dir, attempt: 10 + i))
            let back = OutcomeFile.read(directory: dir, attempt: 10 + i, resultPath: dir + "/none", range: nil)
            XCTAssertEqual(back?.0, .failure(p, final: false), "\(p)")
        }
        // A task whose outcome exists returns at once and never starts its program.
        let marker = dir + "/ran"
        let task = SlurmTask(trial: "t", attempt: 1, program: "/bin/sh", argv: ["sh", "-c", "touch \(marker)"], environment: [],
                             directory: dir, resultPath: dir + "/result.json", timeout: nil, grace: 1, range: 0...1)
        XCTAssertEqual(try task.execute(), 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker))
        // A fresh attempt runs through the launcher and writes its outcome.
        var second = task
        second.attempt = 2
        second.argv = ["sh", "-c", "touch \(marker); echo '{\"metric\": 0.5}' > \(dir)/result.json"]
        XCTAssertEqual(try second.execute(), 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: marker))
        XCTAssertEqual(OutcomeFile.read(directory: dir, attempt: 2, resultPath: dir + "/result.json", range: 0...1)?.0, .success(TrialResult(metric: 0.5)))
    }
}
