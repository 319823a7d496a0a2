import Runtime
import Foundation
func t(_ s: String, _ f: () throws -> Void) rethrows { let t0 = Date(); try f(); print(s, Date().timeIntervalSince(t0)) }
let store = BenchmarkStore(cacheDirectory: "/tmp/npsh-cache")
try t("genuine") { let (tb, _) = try store.open("/work/shared/data/nb101/one-record-full.tfrecord"); print(tb.count, tb.budgets.map { $0.runs(0) }, tb.parameters) }
try t("20k") { let (tb, r) = try store.open("/work/shared/data/nb101/nb101-20k.jsonl"); print(tb.count, tb.runCount, r) }
var syn: BenchmarkTable!
try t("catalog") { _ = try store.catalog() }
try t("synthetic") { syn = try store.synthetic() }
try t("write") { try NB101TFRecordWriter.write(syn, to: "/tmp/big.tfrecord") }
try t("import") { let (tb, r) = try store.open("/tmp/big.tfrecord"); print(tb.count, tb.runCount, r) }
try t("reopen") { let (tb, r) = try store.open("/tmp/big.tfrecord"); print(tb.count, tb.runCount, r) }
