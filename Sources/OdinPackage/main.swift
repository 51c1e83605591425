// odin-package: writes a Lambda deployment zip from a staged directory, deterministically (see ZipWriter).
// Usage: odin-package zip OUTPUT.zip STAGE_DIR
// Every regular file under STAGE_DIR becomes an entry (path relative to STAGE_DIR); files with any execute bit are
// stored 0755, others 0644; symlinks are followed. Prints "<bytes> <OUTPUT>". A host tool, not a Lambda binary.
import Compression
import Foundation

struct UsageError: Error, CustomStringConvertible {
    let description: String
}

func collect(root: URL) throws -> [ZipEntry] {
    let manager = FileManager.default
    var isDirectory: ObjCBool = false
    guard manager.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue else {
        throw UsageError(description: "STAGE_DIR \(root.path) is not a directory")
    }
    guard let walker = manager.enumerator(atPath: root.path) else {
        throw UsageError(description: "cannot list \(root.path)")
    }
    var entries: [ZipEntry] = []
    while let relative = walker.nextObject() as? String {
        let url = root.appendingPathComponent(relative).resolvingSymlinksInPath()
        var isDir: ObjCBool = false
        guard manager.fileExists(atPath: url.path, isDirectory: &isDir), !isDir.boolValue else { continue }
        let attributes = try manager.attributesOfItem(atPath: url.path)
        let permissions = (attributes[.posixPermissions] as? NSNumber)?.uint16Value ?? 0o644
        let mode: UInt16 = permissions & 0o111 != 0 ? 0o755 : 0o644
        let data = try Data(contentsOf: url)
        entries.append(ZipEntry(path: relative, bytes: [UInt8](data), mode: mode))
    }
    return entries
}

func run(_ arguments: [String]) throws {
    guard arguments.count == 3, arguments[0] == "zip" else {
        throw UsageError(description: "usage: odin-package zip OUTPUT.zip STAGE_DIR")
    }
    let output = URL(fileURLWithPath: arguments[1])
    let entries = try collect(root: URL(fileURLWithPath: arguments[2]))
    guard entries.contains(where: { $0.path == "bootstrap" }) else {
        throw UsageError(description: "STAGE_DIR \(arguments[2]) has no bootstrap at its root; Lambda runs ./bootstrap")
    }
    let bytes = try ZipWriter.archive(entries)
    let temporary = output.deletingLastPathComponent().appendingPathComponent(".\(output.lastPathComponent).tmp")
    try Data(bytes).write(to: temporary)
    if FileManager.default.fileExists(atPath: output.path) { try FileManager.default.removeItem(at: output) }
    try FileManager.default.moveItem(at: temporary, to: output)
    print("\(bytes.count) \(output.path)")
}

do {
    try run(Array(CommandLine.arguments.dropFirst()))
} catch {
    FileHandle.standardError.write(Data("odin-package: \(error)\n".utf8))
    exit(1)
}
