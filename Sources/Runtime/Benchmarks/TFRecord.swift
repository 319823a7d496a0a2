#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// TFRecord framing, as TensorFlow writes it:
//
//   uint64 length (little-endian)
//   uint32 masked_crc32c(length bytes)
//   byte   data[length]
//   uint32 masked_crc32c(data)
//
// Both CRCs are checked on every record; a short tail is reported as truncation.

public enum TFRecord {
    /// One record's data within a mapped file.
    public struct Frame: Sendable {
        public var index: Int
        /// Offset of the record's header.
        public var offset: Int
        public var dataOffset: Int
        public var length: Int
    }

    /// Scans the framing of `file`, checking the length CRCs (data CRCs are checked by
    /// `checkData`, so that callers may spread that work over threads).
    public static func frames(_ file: MappedFile) throws -> [Frame] {
        let bytes = file.bytes
        var frames: [Frame] = []
        frames.reserveCapacity(file.count / 300)
        var offset = 0
        var index = 0
        while offset < bytes.count {
            let place = DataPlace.record(file.path, index, offset: offset)
            let left = bytes.count - offset
            if left < 12 {
                throw RuntimeError.truncated(place, detail: "\(left) bytes left, a record header needs 12")
            }
            let length = bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self).littleEndian
            let lengthCRC = bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self).littleEndian
            if CRC32C.masked(CRC32C.checksum(bytes.baseAddress! + offset, count: 8)) != lengthCRC {
                throw RuntimeError.crcMismatch(place, what: "length header")
            }
            guard length <= UInt64(left - 12), Int(length) + 16 <= left else {
                throw RuntimeError.truncated(place, detail: "the record claims \(length) bytes of data, \(max(0, left - 16)) remain")
            }
            frames.append(Frame(index: index, offset: offset, dataOffset: offset + 12, length: Int(length)))
            offset += 12 + Int(length) + 4
            index += 1
        }
        return frames
    }

    /// Checks a record's data CRC.
    public static func checkData(_ file: MappedFile, _ frame: Frame) throws {
        let bytes = file.bytes
        let crc = bytes.loadUnaligned(fromByteOffset: frame.dataOffset + frame.length, as: UInt32.self).littleEndian
        if CRC32C.masked(CRC32C.checksum(bytes.baseAddress! + frame.dataOffset, count: frame.length)) != crc {
            throw RuntimeError.crcMismatch(.record(file.path, frame.index, offset: frame.offset), what: "record data")
        }
    }

    /// The framed bytes of one record.
    public static func frame(_ data: [UInt8]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(data.count + 16)
        var length = UInt64(data.count).littleEndian
        withUnsafeBytes(of: &length) { out += $0 }
        var lc = CRC32C.masked(CRC32C.checksum(out)).littleEndian
        withUnsafeBytes(of: &lc) { out += $0 }
        out += data
        var dc = CRC32C.masked(CRC32C.checksum(data)).littleEndian
        withUnsafeBytes(of: &dc) { out += $0 }
        return out
    }
}

/// Buffered binary writer to a file, used for TFRecords and exports.
public final class FileWriter {
    public let path: String
    private let fd: Int32
    private var buffer: [UInt8] = []
    private let capacity = 1 << 20

    public init(path: String) throws {
        self.path = path
        if let st = fileStatus(path), st.isDirectory { throw RuntimeError.isDirectory(path) }
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if fd < 0 { throw RuntimeError.unwritable(path, reason: String(cString: strerror(errno))) }
        buffer.reserveCapacity(capacity)
    }

    public func write(_ bytes: [UInt8]) throws {
        buffer += bytes
        if buffer.count >= capacity { try flush() }
    }

    public func write(_ text: String) throws { try write(Array(text.utf8)) }

    public func flush() throws {
        var done = 0
        while done < buffer.count {
            let n = buffer.withUnsafeBytes { systemWrite(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw RuntimeError.unwritable(path, reason: String(cString: strerror(errno)))
            }
            done += n
        }
        buffer.removeAll(keepingCapacity: true)
    }

    public func close() throws {
        try flush()
        _ = systemClose(fd)
    }

    /// Writes `text` to `path` in one go.
    public static func write(_ text: String, to path: String) throws {
        let w = try FileWriter(path: path)
        try w.write(text)
        try w.close()
    }
}

#if canImport(Glibc)
private func systemWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { Glibc.write(fd, p, n) }
private func systemClose(_ fd: Int32) -> Int32 { Glibc.close(fd) }
#elseif canImport(Darwin)
private func systemWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { Darwin.write(fd, p, n) }
private func systemClose(_ fd: Int32) -> Int32 { Darwin.close(fd) }
#endif
