// MD5 (RFC 1321), needed only because NAS-Bench-101's module hash is built from it.
// Written over raw buffers so that hashing all 423,624 cells stays allocation-free.

/// A 128-bit digest, stored as two big-endian words so that comparing words compares
/// the hexadecimal strings lexicographically.
public struct Digest128: Hashable, Comparable, Sendable {
    public var hi: UInt64
    public var lo: UInt64

    public init(hi: UInt64, lo: UInt64) { self.hi = hi; self.lo = lo }

    public static func < (a: Digest128, b: Digest128) -> Bool {
        a.hi != b.hi ? a.hi < b.hi : a.lo < b.lo
    }

    /// Parses 32 hexadecimal digits (either case); nil otherwise.
    public init?(hex: String) { self.init(hexBytes: Array(hex.utf8)[...]) }

    /// Parses 32 hexadecimal digits given as bytes.
    public init?(hexBytes bytes: ArraySlice<UInt8>) {
        guard bytes.count == 32 else { return nil }
        var words: (UInt64, UInt64) = (0, 0)
        for (i, c) in bytes.enumerated() {
            let v: UInt64
            switch c {
            case 48...57: v = UInt64(c - 48)
            case 97...102: v = UInt64(c - 87)
            case 65...70: v = UInt64(c - 55)
            default: return nil
            }
            if i < 16 { words.0 = words.0 << 4 | v } else { words.1 = words.1 << 4 | v }
        }
        hi = words.0; lo = words.1
    }

    /// Lower-case hexadecimal, 32 characters.
    public var hex: String {
        var out = [UInt8](repeating: 0, count: 32)
        out.withUnsafeMutableBufferPointer { writeHex(into: $0.baseAddress!) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Writes the 32 lower-case hex digits at `p`.
    @inline(__always)
    func writeHex(into p: UnsafeMutablePointer<UInt8>) {
        var w = hi
        for i in stride(from: 15, through: 0, by: -1) { p[i] = hexDigit(UInt8(w & 15)); w >>= 4 }
        w = lo
        for i in stride(from: 31, through: 16, by: -1) { p[i] = hexDigit(UInt8(w & 15)); w >>= 4 }
    }
}

@inline(__always) func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? 48 + v : 87 + v }

/// One-shot MD5 over raw bytes.
public enum MD5 {
    private static let shifts: [UInt32] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
        5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
        4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
        6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ]
    private static let table: [UInt32] = [
        0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee,
        0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
        0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be,
        0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
        0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa,
        0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
        0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
        0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
        0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
        0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
        0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05,
        0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
        0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039,
        0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
        0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1,
        0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
    ]

    /// The digest of `count` bytes at `data`.
    static func digest(_ data: UnsafeRawPointer, count: Int) -> Digest128 {
        var a0: UInt32 = 0x6745_2301, b0: UInt32 = 0xefcd_ab89
        var c0: UInt32 = 0x98ba_dcfe, d0: UInt32 = 0x1032_5476
        let full = count / 64
        table.withUnsafeBufferPointer { K in
            shifts.withUnsafeBufferPointer { S in
                for blk in 0..<full {
                    block(data + blk * 64, &a0, &b0, &c0, &d0, K, S)
                }
                // Tail with padding: at most two blocks.
                var tail = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0),
                            UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
                withUnsafeMutableBytes(of: &tail) { t in
                    let rest = count - full * 64
                    if rest > 0 { t.baseAddress!.copyMemory(from: data + full * 64, byteCount: rest) }
                    t[rest] = 0x80
                    let blocks = rest + 9 <= 64 ? 1 : 2
                    let bits = UInt64(count) &* 8
                    t.storeBytes(of: bits.littleEndian, toByteOffset: blocks * 64 - 8, as: UInt64.self)
                    for b in 0..<blocks {
                        block(UnsafeRawPointer(t.baseAddress! + b * 64), &a0, &b0, &c0, &d0, K, S)
                    }
                }
            }
        }
        return Digest128(
            hi: UInt64(a0.byteSwapped) << 32 | UInt64(b0.byteSwapped),
            lo: UInt64(c0.byteSwapped) << 32 | UInt64(d0.byteSwapped))
    }

    /// The digest of a byte array.
    static func digest(_ bytes: [UInt8]) -> Digest128 {
        bytes.withUnsafeBytes { digest($0.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, count: $0.count) }
    }

    /// The digest of a string's UTF-8 bytes.
    public static func digest(_ text: String) -> Digest128 { digest(Array(text.utf8)) }

    @inline(__always)
    private static func block(
        _ p: UnsafeRawPointer, _ a0: inout UInt32, _ b0: inout UInt32, _ c0: inout UInt32, _ d0: inout UInt32,
        _ K: UnsafeBufferPointer<UInt32>, _ S: UnsafeBufferPointer<UInt32>
    ) {
        var m = (UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0),
                 UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0))
        withUnsafeMutableBytes(of: &m) { $0.baseAddress!.copyMemory(from: p, byteCount: 64) }
        withUnsafeBytes(of: &m) { raw in
            let M = raw.bindMemory(to: UInt32.self)
            var a = a0, b = b0, c = c0, d = d0
            for i in 0..<64 {
                var f: UInt32
                let g: Int
                switch i >> 4 {
                case 0: f = (b & c) | (~b & d); g = i
                case 1: f = (d & b) | (~d & c); g = (5 &* i &+ 1) & 15
                case 2: f = b ^ c ^ d; g = (3 &* i &+ 5) & 15
                default: f = c ^ (b | ~d); g = (7 &* i) & 15
                }
                f = f &+ a &+ K[i] &+ UInt32(littleEndian: M[g])
                a = d; d = c; c = b
                let s = S[i]
                b = b &+ ((f << s) | (f >> (32 - s)))
            }
            a0 = a0 &+ a; b0 = b0 &+ b; c0 = c0 &+ c; d0 = d0 &+ d
        }
    }
}
