import Foundation
@testable import Runtime
import XCTest

final class TFRecordTests: XCTestCase {
    func testGenuineRecordDecodesToTheDocumentedValues() throws {
        let path = try SharedData.path("nb101/one-record-full.tfrecord")
        let file = try MappedFile(path: path)
        let frames = try TFRecord.frames(file)
        XCTAssertEqual(frames.count, 1)
        try TFRecord.checkData(file, frames[0])
        let data = UnsafeRawBufferPointer(rebasing: file.bytes[frames[0].dataOffset..<(frames[0].dataOffset + frames[0].length)])
        let r = try NB101Record.decode(data, at: .record(path, 0, offset: 0))
        XCTAssertEqual(r.hash.hex, "00005c142e6f48ac74fdcf73e3439874")
        XCTAssertEqual(r.epochs, 4)
        XCTAssertEqual(r.cell.adjacencyString, "0100110001000000010010000010000001000000010000000")
        XCTAssertEqual(r.cell.ops.joined(separator: ","),
                       "input,conv3x3-bn-relu,maxpool3x3,conv3x3-bn-relu,conv3x3-bn-relu,conv1x1-bn-relu,output")
        XCTAssertEqual(r.cell.hash, r.hash, "the record's cell hashes to its module hash")
        XCTAssertEqual(r.metrics.trainableParameters, 8_555_530)
        XCTAssertEqual(r.metrics.totalTime, 413.7015450000763)
        let expected: [(Double, Double, Double, Double, Double)] = [
            (0, 0, 0.1002604141831398, 0.09775640815496445, 0.09985977411270142),
            (2, 45.152000427246094, 0.10166265815496445, 0.10526842623949051, 0.10436698794364929),
            (4, 89.90399932861328, 0.3498597741127014, 0.3489583432674408, 0.3504607379436493),
        ]
        XCTAssertEqual(r.metrics.evaluationData.count, 3)
        for (e, x) in zip(r.metrics.evaluationData, expected) {
            XCTAssertEqual(e.currentEpoch, x.0)
            XCTAssertEqual(e.trainingTime, x.1)
            XCTAssertEqual(e.trainAccuracy, x.2)
            XCTAssertEqual(e.validationAccuracy, x.3)
            XCTAssertEqual(e.testAccuracy, x.4)
            XCTAssertEqual(e.checkpointPath, "")
        }
        // Re-encoding gives the same protobuf the file holds, byte for byte.
        let reencoded = r.encode()
        let again = try reencoded.withUnsafeBytes { try NB101Record.decode($0, at: .record("re", 0, offset: 0)) }
        XCTAssertEqual(again, r)
        // Through the store: a table of one cell with one run at 4 epochs.
        let (table, _) = try BenchmarkStore(cacheDirectory: temporaryFolder(self)).open(path)
        XCTAssertEqual(table.count, 1)
        XCTAssertEqual(table.epochBudgets, [4])
        let run = try table.runTable(epochs: 4).run(0, 0)
        XCTAssertEqual(run.validationAccuracy, Float(0.3489583432674408))
        XCTAssertEqual(run.halfwayValidationAccuracy, Float(0.10526842623949051))
        XCTAssertEqual(table.parameters, [8_555_530])
    }

    /// A small table from the synthetic landscape: 300 cells, 3 runs each.
    static func smallTable() -> BenchmarkTable {
        let all = Space.synthetic
        let pick = Array(stride(from: 0, to: all.count, by: all.count / 300).prefix(300))
        var builder = BenchmarkBuilder()
        for i in pick {
            let row = builder.add(hash: all.hashes[i], cell: all.cells[i], parameters: Int32(1000 + i))
            for r in all.budgets[0].runs(i) { builder.addRun(row, epochs: 108, r) }
        }
        return builder.build(source: .synthetic)
    }

    func testWriterReaderRoundTrip() throws {
        let dir = temporaryFolder(self)
        let table = Self.smallTable()
        let path = dir + "/small.tfrecord"
        try NB101TFRecordWriter.write(table, to: path)
        let (back, digest) = try NB101TFRecordLoader.load(path: path)
        XCTAssertEqual(back.count, 300)
        XCTAssertEqual(back.hashes, table.hashes)
        XCTAssertEqual(back.cells, table.cells)
        XCTAssertEqual(back.parameters, table.parameters)
        XCTAssertEqual(back.budgets, table.budgets)
        XCTAssertEqual(back.runCount, 900)
        // The digest depends on content, not on the path.
        let copy = dir + "/copy.tfrecord"
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        XCTAssertEqual(try NB101TFRecordLoader.load(path: copy).1, digest)
    }

    func testQuerySemanticsPickARandomRunAndReportMeanTest() throws {
        let table = Self.smallTable()
        let t = try table.runTable()
        var rng = RandomStream(seed: 5)
        var seenRuns = Set<Float>()
        for _ in 0..<60 {
            let o = try table.train([7], rng: &rng)[0]
            XCTAssertTrue(t.runs(7).contains { Double($0.validationAccuracy) == o.validation })
            seenRuns.insert(Float(o.validation))
            let meanTest = t.runs(7).map { Double($0.testAccuracy) }.reduce(0, +) / 3
            XCTAssertEqual(o.test, meanTest, accuracy: 1e-12)
        }
        XCTAssertEqual(seenRuns.count, 3, "all three runs get picked")
    }
}

final class BadInputTests: XCTestCase {
    var dir = ""
    var store: BenchmarkStore!

    override func setUp() {
        dir = temporaryFolder(self)
        store = BenchmarkStore(cacheDirectory: dir + "/cache")
    }

    func write(_ name: String, _ bytes: [UInt8]) -> String {
        let p = dir + "/" + name
        XCTAssertTrue(FileManager.default.createFile(atPath: p, contents: Data(bytes)))
        return p
    }

    func validFile() throws -> [UInt8] {
        let p = dir + "/valid.tfrecord"
        try NB101TFRecordWriter.write(TFRecordTests.smallTable(), to: p)
        return Array(try Data(contentsOf: URL(fileURLWithPath: p)))
    }

    func record(_ row: String) -> [UInt8] { TFRecord.frame(Array(row.utf8)) }

    func testTruncatedFile() throws {
        let bytes = try validFile()
        let p = write("trunc.tfrecord", Array(bytes.prefix(bytes.count - 10)))
        assertThrows([p, "record 899", "truncated"]) { _ = try store.open(p) }
        let q = write("trunc2.tfrecord", Array(bytes.prefix(bytes.count - 3 - 100)) + [])
        assertThrows([q, "truncated"]) { _ = try store.open(q) }
        XCTAssertNil(fileStatus(store.cachePath(for: p)), "nothing half-loaded is cached")
    }

    func testFlippedByteFailsTheCRC() throws {
        var bytes = try validFile()
        bytes[bytes.count / 2] ^= 0x20
        let p = write("flip.tfrecord", bytes)
        assertThrows([p, "record", "CRC-32C mismatch"]) { _ = try store.open(p) }
        var header = try validFile()
        header[1] ^= 0x01  // the first record's length
        let q = write("flip2.tfrecord", header)
        assertThrows([q, "record 0 (byte 0)", "CRC-32C mismatch in the length header"]) { _ = try store.open(q) }
    }

    func testMalformedJSONRow() throws {
        let good = try validFile()
        let p = write("json.tfrecord", good + record(#"["00005c142e6f48ac74fdcf73e3439874", 108, "0100"#))
        assertThrows([p, "record 900", "bad JSON row"]) { _ = try store.open(p) }
        let q = write("hash.tfrecord", record(#"["nothex", 108, "0100", "input,output", ""]"#))
        assertThrows(.malformed(.record(q, 0, offset: 0), .moduleHash("nothex"))) { _ = try store.open(q) }
    }

    func testMalformedProtobuf() throws {
        // Valid framing and JSON, but the metrics decode to a field with a bad wire type / truncation.
        let h = "00005c142e6f48ac74fdcf73e3439874"
        let badWire = Base64.encode([0x0f, 0x01])               // field 1, wire type 7
        let truncated = Base64.encode([0x0a, 0x2d, 0x09, 0x00])  // evaluation_data claims 45 bytes
        let notBase64 = "@@@@"
        for (name, metrics, fragment) in [("wire", badWire, "field 1 has wire type 7"), ("short", truncated, "truncated evaluation_data"),
                                          ("b64", notBase64, "not valid base64")] {
            let p = write("\(name).tfrecord", record(#"["\#(h)", 108, "0100", "input,output", "\#(metrics)"]"#))
            assertThrows([p, "record 0", fragment]) { _ = try store.open(p) }
        }
    }

    func testInvalidCellsInRecords() throws {
        let h = "00005c142e6f48ac74fdcf73e3439874"
        let m = Base64.encode([])
        let cases: [(String, String, String)] = [
            ("0100", "input,conv9x9,output", "3 ops for 2 vertices"),
            ("010001000", "input,conv9x9,output", "unknown op 'conv9x9'"),
            ("011001010", "input,maxpool3x3,output", "cycle"),
            ("0010000101000000", "input,maxpool3x3,maxpool3x3,output", "edge 2→1 is on or below the diagonal"),
            (String(repeating: "0", count: 64), String(repeating: "input,", count: 8) + "output", "at most 7 vertices"),
            ("010000000", "input,maxpool3x3,output", "output is not reachable"),
            ("011", "input,output", "not a square number"),
        ]
        for (i, (adj, ops, fragment)) in cases.enumerated() {
            let p = write("cell\(i).tfrecord", record(#"["\#(h)", 108, "\#(adj)", "\#(ops)", "\#(m)"]"#))
            assertThrows([p, "record 0", fragment]) { _ = try store.open(p) }
        }
        // More than nine edges.
        let dense = (0..<7).map { r in (0..<7).map { c in c > r ? "1" : "0" }.joined() }.joined()
        let p = write("edges.tfrecord", record(#"["\#(h)", 108, "\#(dense)", "input,\#(Array(repeating: "maxpool3x3", count: 5).joined(separator: ",")),output", "\#(m)"]"#))
        assertThrows([p, "record 0", "at most 9 edges"]) { _ = try store.open(p) }
    }

    func testEmptyMissingAndDirectory() throws {
        let e = write("empty.tfrecord", [])
        assertThrows([e, "the file is empty"]) { _ = try store.open(e) }
        assertThrows([dir + "/nope.tfrecord", "no such file"]) { _ = try store.open(dir + "/nope.tfrecord") }
        assertThrows([dir, "is a directory"]) { _ = try store.open(dir) }
        let junk = write("junk.bin", Array("hello world, not a benchmark".utf8))
        assertThrows([junk, "unknown benchmark format"]) { _ = try store.open(junk) }
    }

    func testBadJSONLLines() throws {
        let good = #"{"matrix": [[0,1],[0,0]], "ops": ["input","output"], "val_acc_108": 0.5}"#
        let cases: [(String, String)] = [
            (#"{"matrix": [[0,1],[0,0]], "ops": ["input","output"]"#, "line 2: invalid JSON"),
            (#"{"matrix": [[0,1],[0,0]], "ops": ["input","output"]}"#, "line 2: missing metric"),
            (#"{"matrix": [[0,1],[0,0]], "ops": ["input","conv"], "val_acc_108": 0.5}"#, "line 2: invalid cell: the last op must be 'output'"),
            (#"{"matrix": [[0,1],[1,0]], "ops": ["input","output"], "val_acc_108": 0.5}"#, "line 2: invalid cell: the graph has a cycle"),
            (#"{"ops": ["input","output"], "val_acc_108": 0.5}"#, "line 2: missing 'matrix'"),
            (#"{"matrix": [[0,1],[0,0]], "ops": ["input","output"], "val_acc_108": 93.1}"#, "line 2: 'val_acc_108' is 93.1"),
            (#"{"hash": "00000000000000000000000000000000", "matrix": [[0,1],[0,0]], "ops": ["input","output"], "val_acc_108": 0.5}"#, "line 2: hash 00000000000000000000000000000000 does not match"),
            (#"[1, 2]"#, "line 2: each line must be a JSON object"),
        ]
        for (i, (bad, fragment)) in cases.enumerated() {
            let p = write("bad\(i).jsonl", Array((good + "\n" + bad + "\n").utf8))
            assertThrows([p, fragment]) { _ = try store.open(p) }
        }
        let blank = write("blank.jsonl", Array("\n  \n".utf8))
        assertThrows([blank, "empty"]) { _ = try store.open(blank) }
    }
}

final class JSONLTableTests: XCTestCase {
    func testThe20kTableLoadsWithEveryBudget() throws {
        let path = try SharedData.path("nb101/nb101-20k.jsonl")
        let (table, _) = try BenchmarkStore(cacheDirectory: temporaryFolder(self)).open(path)
        XCTAssertEqual(table.count, 20_001)
        XCTAssertEqual(table.epochBudgets, [4, 12, 36, 108])
        XCTAssertEqual(table.defaultEpochs, 108)
        let i = table.index(of: Digest128(hex: "00005c142e6f48ac74fdcf73e3439874")!)!
        let run = try table.runTable().run(i, 0)
        XCTAssertEqual(run.validationAccuracy, Float(0.9304887652397156))
        XCTAssertEqual(run.trainingTime, Float(1768.9759521484375))
        XCTAssertTrue(run.testAccuracy.isNaN, "the 20k file records no test accuracy")
        XCTAssertEqual(table.parameters[i], 8_555_530)
        let all = try ArchSet.all(table)
        let mean = all.entries.map(\.validation).reduce(0, +) / Double(all.count)
        XCTAssertEqual(mean, 0.910, accuracy: 0.0005)
        // metric= picks another budget as the only one.
        let (t36, _) = try BenchmarkStore(cacheDirectory: temporaryFolder(self)).open(path, metric: "val_acc_36")
        XCTAssertEqual(t36.epochBudgets, [36])
        XCTAssertEqual(try t36.runTable().run(t36.index(of: Digest128(hex: "00005c142e6f48ac74fdcf73e3439874")!)!, 0).validationAccuracy,
                       Float(0.9001402258872986))
    }

    func testRepeatedLinesAddRuns() throws {
        let dir = temporaryFolder(self)
        let line1 = #"{"matrix": [[0,1],[0,0]], "ops": ["input","output"], "val_acc_108": 0.5, "test_acc_108": 0.4}"#
        let line2 = #"{"matrix": [[0,1],[0,0]], "ops": ["input","output"], "val_acc_108": 0.7, "test_acc_108": 0.6}"#
        let p = dir + "/t.jsonl"
        try (line1 + "\n\n" + line2).write(toFile: p, atomically: true, encoding: .utf8)
        let (table, _) = try JSONLTableLoader.load(path: p)
        XCTAssertEqual(table.count, 1)
        XCTAssertEqual(try table.runTable().runCount(0), 2)
        XCTAssertEqual(try table.meanTest(0), 0.5, accuracy: 1e-6)
    }
}
