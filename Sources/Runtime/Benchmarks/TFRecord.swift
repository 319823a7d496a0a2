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

enum TFRecord {
    /// One record's data within a mapped file.
    struct Frame: Sendable {
        public var index: Int
        /// Offset of the record's header.
        public var offset: Int
        var dataOffset: Int
        public var length: Int
    }

    /// Scans the framing of `file`, checking the length CRCs (data CRCs are checked by
    /// `checkData`, so that callers may spread that work over threads).
    static func frames(_ file: MappedFile) throws -> [Frame] {
        let bytes = file.bytes
        var frames: [Frame] = []
        frames.reserveCapacity(file.count / 300)
        var offset = 0
        var index = 0
        while offset < bytes.count {
            let place = DataPlace.record(file.path, index, offset: offset)
            let left = bytes.count - offset
            if left < 12 {
                throw RuntimeError.truncated(place, left: left, needs: 12)
            }
            let length = bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self).littleEndian
            let lengthCRC = bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self).littleEndian
            if CRC32C.masked(CRC32C.checksum(bytes.baseAddress! + offset, count: 8)) != lengthCRC {
                throw RuntimeError.crcMismatch(place, what: "length header")
            }
            guard length <= UInt64(left - 12), Int(length) + 16 <= left else {
                throw RuntimeError.truncatedData(place, claims: Int(clamping: length), remain: max(0, left - 16))
            }
            frames.append(Frame(index: index, offset: offset, dataOffset: offset + 12, length: Int(length)))
            offset += 12 + Int(length) + 4
            index += 1
        }
        return frames
    }

    /// Checks a record's data CRC.
    static func checkData(_ file: MappedFile, _ frame: Frame) throws {
        let bytes = file.bytes
        let crc = bytes.loadUnaligned(fromByteOffset: frame.dataOffset + frame.length, as: UInt32.self).littleEndian
        if CRC32C.masked(CRC32C.checksum(bytes.baseAddress! + frame.dataOffset, count: frame.length)) != crc {
            throw RuntimeError.crcMismatch(.record(file.path, frame.index, offset: frame.offset), what: "record data")
        }
    }

    /// The framed bytes of one record.
    static func frame(_ data: [UInt8]) -> [UInt8] {
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

/// Buffered binary writer to a file, used for TFRecords, exports and figures. Writes are
/// atomic: the bytes go to a temporary file beside the target, which `close()` syncs and
/// renames over it, so a reader never sees half a file and a failed write leaves the old
/// file as it was.
public final class FileWriter {
    public let path: String
    private let temporary: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    private let capacity = 1 << 20
    nonisolated(unsafe) private static var counter = 0

    public init(path: String) throws {
        self.path = path
        guard !path.isEmpty else { throw RuntimeError.unwritable("\"\"", reason: "the file name is empty") }
        if let st = fileStatus(path), st.isDirectory { throw RuntimeError.isDirectory(path) }
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard !name.isEmpty else { throw RuntimeError.isDirectory(path) }
        Self.counter += 1
        temporary = "\(folder).\(name).\(getpid())-\(Self.counter).tmp"
        fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 {
            let reason = errno == ENOENT ? "the folder \(folder.isEmpty ? "." : folder) does not exist" : String(cString: strerror(errno))
            throw RuntimeError.unwritable(path, reason: reason)
        }
        buffer.reserveCapacity(capacity)
    }

    deinit {
        // Never closed (an error on the way): the target stays as it was.
        if fd >= 0 { _ = systemClose(fd); unlink(temporary) }
    }

    public func write(_ bytes: [UInt8]) throws {
        buffer += bytes
        if buffer.count >= capacity { try flush() }
    }

    public func write(_ text: String) throws { try write(Array(text.utf8)) }

    /// Writes raw bytes (large tables: no copy into an array first).
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try flush()
        var done = 0
        while done < bytes.count {
            let n = systemWrite(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw RuntimeError.unwritable(path, reason: String(cString: strerror(errno)))
            }
            done += n
        }
    }

    func flush() throws {
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

    /// Flushes, syncs (unless `durable` is false: a file that is rewritten after a crash
    /// anyway) and renames the temporary file over the target.
    public func close(durable: Bool = true) throws {
        try flush()
        let synced = !durable || fsync(fd) == 0
        let reason = String(cString: strerror(errno))
        _ = systemClose(fd)
        fd = -1
        guard synced else { unlink(temporary); throw RuntimeError.unwritable(path, reason: reason) }
        if rename(temporary, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw RuntimeError.unwritable(path, reason: reason)
        }
    }

    /// Writes `text` to `path` in one go (atomically).
    public static func write(_ text: String, to path: String, durable: Bool = true) throws {
        let w = try FileWriter(path: path)
        try w.write(text)
        try w.close(durable: durable)
    }
}

#if canImport(Glibc)
private func systemWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { Glibc.write(fd, p, n) }
private func systemClose(_ fd: Int32) -> Int32 { Glibc.close(fd) }
#elseif canImport(Darwin)
private func systemWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { Darwin.write(fd, p, n) }
private func systemClose(_ fd: Int32) -> Int32 { Darwin.close(fd) }
#endif
