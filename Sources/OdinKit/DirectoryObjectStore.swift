import OdinBasics

#if canImport(Glibc)
import Glibc
#endif

/// The local binding's object store: a directory with the same key layout as the S3 bucket (`file://` URIs).
/// Writes go to a temporary file in the same folder and are renamed into place, so readers never see half a file.
public struct DirectoryObjectStore: ObjectStore {
    public let root: String
    public var rootURI: String { "file://" + root }

    /// - Parameter root: an absolute or relative directory; created when missing.
    public init(root: String) throws {
        let trimmed = root.hasPrefix("file://") ? String(root.dropFirst("file://".count)) : root
        self.root = trimmed.hasSuffix("/") && trimmed.count > 1 ? String(trimmed.dropLast()) : trimmed
        try FileSystem.makeDirectories(self.root)
    }

    public func path(for key: String) throws -> String {
        try ObjectKey.localPath(root: root, key: key)
    }

    public func get(_ key: String) throws -> [UInt8] {
        let path = try path(for: key)
        guard !FileSystem.isDirectory(path), let bytes = FileSystem.read(path) else {
            throw ObjectStoreError(.notFound, key: key, "no such object in \(rootURI)")
        }
        return bytes
    }

    public func get(_ key: String, range: Range<Int64>) throws -> [UInt8] {
        let path = try path(for: key)
        guard let file = fopen(path, "rb") else {
            throw ObjectStoreError(.notFound, key: key, "no such object in \(rootURI)")
        }
        defer { fclose(file) }
        fseeko(file, off_t(range.lowerBound), SEEK_SET)
        var buffer = [UInt8](repeating: 0, count: Int(range.count))
        let read = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
        return Array(buffer[0..<read])
    }

    public func head(_ key: String) throws -> ObjectInfo? {
        let path = try path(for: key)
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return ObjectInfo(key: key, size: Int64(st.st_size), eTag: "\"\(st.st_size)-\(st.st_mtim.tv_sec)-\(st.st_mtim.tv_nsec)\"")
    }

    @discardableResult
    public func put(_ key: String, bytes: [UInt8], ifAbsent: Bool) throws -> ObjectInfo {
        let path = try path(for: key)
        try makeParent(of: path, key: key)
        let temp = path + ".tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        guard FileSystem.write(bytes, to: temp) else {
            throw ObjectStoreError(.io, key: key, "cannot write \(temp)")
        }
        if ifAbsent {
            // link(2) fails when the target exists: an atomic create-if-absent.
            defer { unlink(temp) }
            guard link(temp, path) == 0 else {
                if errno == EEXIST { throw ObjectStoreError(.preconditionFailed, key: key, "object already exists") }
                throw ObjectStoreError(.io, key: key, "cannot create \(path): errno \(errno)")
            }
        } else if rename(temp, path) != 0 {
            unlink(temp)
            throw ObjectStoreError(.io, key: key, "cannot rename into \(path): errno \(errno)")
        }
        return try head(key) ?? ObjectInfo(key: key, size: Int64(bytes.count))
    }

    @discardableResult
    public func upload(file source: String, to key: String) throws -> ObjectInfo {
        let path = try path(for: key)
        try makeParent(of: path, key: key)
        let temp = path + ".tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        try copyFile(from: source, to: temp, key: key)
        guard rename(temp, path) == 0 else {
            unlink(temp)
            throw ObjectStoreError(.io, key: key, "cannot rename into \(path): errno \(errno)")
        }
        return try head(key) ?? ObjectInfo(key: key, size: 0)
    }

    public func download(_ key: String, to destination: String) throws {
        let path = try path(for: key)
        guard FileSystem.exists(path) else {
            throw ObjectStoreError(.notFound, key: key, "no such object in \(rootURI)")
        }
        let temp = destination + ".part"
        try copyFile(from: path, to: temp, key: key)
        guard rename(temp, destination) == 0 else {
            unlink(temp)
            throw ObjectStoreError(.io, key: key, "cannot rename into \(destination): errno \(errno)")
        }
    }

    public func list(prefix: String) throws -> [ObjectInfo] {
        var result: [ObjectInfo] = []
        let paths = FileSystem.subpaths(of: root)
        for relative in paths {
            guard relative.hasPrefix(prefix) || prefix.isEmpty, !relative.containsUTF8(".tmp-"),
                  !relative.hasSuffix(".part")
            else { continue }
            if let info = try head(relative) { result.append(info) }
        }
        return result.sorted { $0.key < $1.key }
    }

    public func delete(_ key: String) throws {
        let path = try path(for: key)
        if unlink(path) != 0 && errno != ENOENT {
            throw ObjectStoreError(.io, key: key, "cannot delete \(path): errno \(errno)")
        }
    }

    private func makeParent(of path: String, key: String) throws {
        guard let slash = path.lastIndex(of: "/") else { return }
        let parent = String(path[..<slash])
        do {
            try FileSystem.makeDirectories(parent)
        } catch {
            throw ObjectStoreError(.io, key: key, "cannot create folder \(parent): \(error)")
        }
    }

    private func copyFile(from source: String, to destination: String, key: String) throws {
        guard let input = fopen(source, "rb") else {
            throw ObjectStoreError(.notFound, key: key, "cannot open \(source): errno \(errno)")
        }
        defer { fclose(input) }
        guard let output = fopen(destination, "wb") else {
            throw ObjectStoreError(.io, key: key, "cannot create \(destination): errno \(errno)")
        }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, input) }
            if count == 0 { break }
            let written = buffer.withUnsafeBytes { fwrite($0.baseAddress, 1, count, output) }
            if written != count {
                fclose(output)
                unlink(destination)
                throw ObjectStoreError(.io, key: key, "short write to \(destination)")
            }
        }
        guard fclose(output) == 0 else { throw ObjectStoreError(.io, key: key, "cannot close \(destination)") }
    }
}
