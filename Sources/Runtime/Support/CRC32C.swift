import CKernels

// CRC-32C (Castagnoli), as TFRecord framing uses it: the SSE4.2 instruction where the CPU has
// it (CKernels' npsh_crc32c), else slicing-by-8 — the same values.

enum CRC32C {
    private static let hardware = npsh_crc32c_available() != 0

    private static let tables: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            t[i] = c
        }
        for i in 0..<256 {
            for k in 1..<8 { t[k * 256 + i] = (t[(k - 1) * 256 + i] >> 8) ^ t[Int(t[(k - 1) * 256 + i] & 0xff)] }
        }
        return t
    }()

    /// The CRC-32C of `count` bytes at `data`, continuing from `seed` (a CRC so far).
    static func checksum(_ data: UnsafeRawPointer, count: Int, seed: UInt32 = 0) -> UInt32 {
        hardware ? npsh_crc32c(seed, data, count) : software(data, count: count, seed: seed)
    }

    /// The table-driven form (slicing-by-8), for CPUs without the instruction and for tests.
    static func software(_ data: UnsafeRawPointer, count: Int, seed: UInt32 = 0) -> UInt32 {
        tables.withUnsafeBufferPointer { T in
            var crc = ~seed
            var p = data
            var n = count
            while n >= 8 {
                let word = p.loadUnaligned(as: UInt64.self).littleEndian ^ UInt64(crc)
                crc = T[7 * 256 + Int(word & 0xff)] ^ T[6 * 256 + Int((word >> 8) & 0xff)]
                    ^ T[5 * 256 + Int((word >> 16) & 0xff)] ^ T[4 * 256 + Int((word >> 24) & 0xff)]
                    ^ T[3 * 256 + Int((word >> 32) & 0xff)] ^ T[2 * 256 + Int((word >> 40) & 0xff)]
                    ^ T[1 * 256 + Int((word >> 48) & 0xff)] ^ T[Int(word >> 56)]
                p += 8
                n -= 8
            }
            while n > 0 {
                crc = T[Int((crc ^ UInt32(p.load(as: UInt8.self))) & 0xff)] ^ (crc >> 8)
                p += 1
                n -= 1
            }
            return ~crc
        }
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, count: $0.count) }
    }

    /// TensorFlow's masked CRC: rotate right by 15 and add a constant.
    @inline(__always)
    static func masked(_ crc: UInt32) -> UInt32 {
        ((crc >> 15) | (crc << 17)) &+ 0xa282_ead8
    }
}
