#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory map of a whole file, with the file errors every loader shares:
/// missing file, a directory, an empty file, an unreadable one.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let count: Int
    let modificationTime: Int64
    private let base: UnsafeRawPointer?

    public init(path: String, allowEmpty: Bool = false) throws {
        self.path = path
        var st = stat()
        if stat(path, &st) != 0 {
            if errno == ENOENT || errno == ENOTDIR { throw RuntimeError.fileNotFound(path) }
            throw RuntimeError.unreadable(path, reason: String(cString: strerror(errno)))
        }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw RuntimeError.isDirectory(path) }
        count = Int(st.st_size)
        modificationTime = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        if count == 0 {
            if !allowEmpty { throw RuntimeError.emptyFile(path) }
            base = nil
            return
        }
        let fd = open(path, O_RDONLY)
        if fd < 0 { throw RuntimeError.unreadable(path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        guard let p = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw RuntimeError.unreadable(path, reason: String(cString: strerror(errno)))
        }
        base = UnsafeRawPointer(p)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }

    /// The bytes, valid while this object lives.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
}

/// Size and modification time of a file, or nil if it does not exist.
func fileStatus(_ path: String) -> (size: Int, mtime: Int64, isDirectory: Bool)? {
    var st = stat()
    guard stat(path, &st) == 0 else { return nil }
    return (Int(st.st_size), Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
            (st.st_mode & S_IFMT) == S_IFDIR)
}

/// The absolute form of a path.
public func absolutePath(_ path: String) -> String {
    if path.hasPrefix("/") { return path }
    guard let p = getcwd(nil, 0) else { return path }
    defer { free(p) }
    let cwd = String(cString: p)
    return cwd.hasSuffix("/") ? cwd + path : cwd + "/" + path
}

/// A file's identity (device and inode): the same file under any name or link.
public struct FileIdentity: Hashable, Sendable {
    let device: UInt64
    let inode: UInt64

    /// The identity of the file at `path`, or nil when there is none.
    public init?(path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
    }
}
