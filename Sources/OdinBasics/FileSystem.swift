#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The few file operations the libraries the Lambda functions link need, on POSIX calls (no Foundation):
/// whole-file reads and writes, `mkdir -p`, existence, and a recursive listing.
package enum FileSystem {
    /// The file's bytes, or nil if it cannot be opened (missing, a directory, no permission).
    package static func read(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if count == 0 { return ferror(file) == 0 ? result : nil }
            result.append(contentsOf: buffer[0..<count])
        }
    }

    /// Writes `bytes` to `path` (created or truncated); false on any failure.
    package static func write(_ bytes: [UInt8], to path: String) -> Bool {
        guard let file = fopen(path, "wb") else { return false }
        let written = bytes.withUnsafeBytes { $0.isEmpty ? 0 : fwrite($0.baseAddress, 1, $0.count, file) }
        let closed = fclose(file) == 0
        return written == bytes.count && closed
    }

    /// `mkdir -p`: creates `path` and its missing parents (mode 0777 before the umask).
    package static func makeDirectories(_ path: String) throws(FileSystemError) {
        guard !path.isEmpty, !isDirectory(path) else { return }
        if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            try makeDirectories(String(path[..<slash]))
        }
        if mkdir(path, 0o777) != 0 && !(errno == EEXIST && isDirectory(path)) {
            throw FileSystemError(path: path, errno: errno)
        }
    }

    package static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    package static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Every entry under `root` (files and folders, any depth) as a path relative to it, without "." and "..".
    package static func subpaths(of root: String) -> [String] {
        var result: [String] = []
        func walk(_ relative: String) {
            guard let directory = opendir(relative.isEmpty ? root : root + "/" + relative) else { return }
            defer { closedir(directory) }
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                if name == "." || name == ".." { continue }
                let path = relative.isEmpty ? name : relative + "/" + name
                result.append(path)
                var st = stat()  // lstat: a symbolic link to a folder is listed, not followed
                if lstat(root + "/" + path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR { walk(path) }
            }
        }
        walk("")
        return result
    }
}

/// A failed file-system call: the path and errno.
package struct FileSystemError: Error, CustomStringConvertible, Sendable {
    package let path: String
    package let errno: Int32

    package var description: String { "\(path): \(String(cString: strerror(errno)))" }
}
