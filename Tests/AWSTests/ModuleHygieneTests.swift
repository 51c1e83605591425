import Foundation
import Testing
import TestSupport

/// The AWS and Crypto modules are linked into Lambda functions: no full Foundation, no FoundationXML/Networking.
@Suite struct ModuleHygieneTests {
    @Test(arguments: ["Sources/AWS", "Sources/Crypto"])
    func importsOnlyFoundationEssentials(_ directory: String) throws {
        let root = Peers.packageRoot + "/" + directory
        let files = try FileManager.default.contentsOfDirectory(atPath: root).filter { $0.hasSuffix(".swift") }
        #expect(!files.isEmpty)
        for file in files {
            let text = try String(contentsOfFile: root + "/" + file, encoding: .utf8)
            for line in text.split(separator: "\n") where line.hasPrefix("import ") || line.contains(" import ") {
                let module = line.split(separator: " ").last.map(String.init) ?? ""
                #expect(!["Foundation", "FoundationXML", "FoundationNetworking", "Yams"].contains(module),
                        "\(directory)/\(file): \(line)")
            }
        }
    }
}
