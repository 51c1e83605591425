import Foundation
import Testing

/// The glibc gate and the shim of scripts/package.sh, on tiny C programs built here, and the zips `make package`
/// wrote (when it has run).
@Suite("Lambda packaging")
struct PackagingTests {
    static let program = """
        #include <math.h>
        #include <stdio.h>
        int main(void) { volatile float x = 3, y = 4; volatile double a = 5, b = 12;
                         printf("%g %g\\n", (double)hypotf(x, y), hypot(a, b)); return 0; }
        """

    @Test func glibcCheckFailsOnABinaryNeedingHypotf235AndPassesWithTheShim() throws {
        try withTemporaryDirectory { dir in
            let source = dir.appendingPathComponent("h.c")
            try Self.program.write(to: source, atomically: true, encoding: .utf8)
            let plain = dir.appendingPathComponent("plain").path
            let shimmed = dir.appendingPathComponent("shimmed").path
            let cc1 = try runTool("/usr/bin/cc", ["-O0", source.path, "-o", plain, "-lm"])
            try #require(cc1.status == 0, "cc: \(cc1.output)")
            let cc2 = try runTool("/usr/bin/cc", ["-O0", source.path, Repo.path("scripts/lambda/glibc-shim.c"), "-o", shimmed,
                                                  "-Wl,--wrap=hypotf", "-Wl,--wrap=hypot", "-lm"])
            try #require(cc2.status == 0, "cc: \(cc2.output)")

            let check = Repo.path("scripts/lambda/check-glibc.sh")
            let bad = try runTool(check, [plain])
            #expect(bad.status == 1, "the check must fail on a binary needing hypotf@GLIBC_2.35: \(bad.output)")
            #expect(bad.output.contains("GLIBC_2.35") && bad.output.contains("hypotf"), "\(bad.output)")

            let good = try runTool(check, [shimmed])
            #expect(good.status == 0, "with the shim the binary must pass: \(good.output)")
            let run = try runTool(shimmed, [])
            #expect(run.output == "5 13\n", "the shim must compute hypot correctly: \(run.output)")
        }
    }

    @Test func glibcCheckNamesALimitOverride() throws {
        // The same gate with the limit lowered below what any binary here needs: proves the comparison, not the file.
        let env = ProcessInfo.processInfo.environment.merging(["ODIN_MAX_GLIBC": "2.1"]) { $1 }
        let result = try runTool(Repo.path("scripts/lambda/check-glibc.sh"), ["/usr/bin/true"], environment: env)
        #expect(result.status == 1)
        #expect(result.output.contains("GLIBC_2.1 at most"), "\(result.output)")
    }

    @Test func librariesOutsideTheAllowlistAreBundledAndMissingOnesFail() throws {
        try withTemporaryDirectory { dir in
            // A program needing libz.so.1 (not on Lambda's allowlist) besides glibc.
            let source = dir.appendingPathComponent("z.c")
            try "#include <zlib.h>\nint main(void) { return zlibVersion()[0] == 0; }\n"
                .write(to: source, atomically: true, encoding: .utf8)
            let program = dir.appendingPathComponent("z").path
            let cc = try runTool("/usr/bin/cc", [source.path, "-o", program, "-lz"])
            try #require(cc.status == 0, "cc: \(cc.output)")
            let stage = dir.appendingPathComponent("stage")
            let bundle = try runTool(Repo.path("scripts/lambda/bundle-libs.sh"), [program, stage.path])
            #expect(bundle.status == 0, "\(bundle.output)")
            #expect(bundle.output == "libz.so.1\n", "only libz should be bundled: \(bundle.output)")
            let copied = try FileManager.default.contentsOfDirectory(atPath: stage.appendingPathComponent("lib").path)
            #expect(copied == ["libz.so.1"])

            // A program whose own shared library has gone missing: ldd says "not found", bundling must fail.
            let libSource = dir.appendingPathComponent("gone.c")
            try "int odin_gone(void) { return 7; }\n".write(to: libSource, atomically: true, encoding: .utf8)
            let lib = dir.appendingPathComponent("libodingone.so").path
            let cc2 = try runTool("/usr/bin/cc", ["-shared", "-fPIC", libSource.path, "-o", lib])
            try #require(cc2.status == 0, "cc: \(cc2.output)")
            let mainSource = dir.appendingPathComponent("m.c")
            try "int odin_gone(void);\nint main(void) { return odin_gone() != 7; }\n"
                .write(to: mainSource, atomically: true, encoding: .utf8)
            let needy = dir.appendingPathComponent("needy").path
            let cc3 = try runTool("/usr/bin/cc", [mainSource.path, "-o", needy, "-L\(dir.path)", "-lodingone"])
            try #require(cc3.status == 0, "cc: \(cc3.output)")
            try FileManager.default.removeItem(atPath: lib)
            let missing = try runTool(Repo.path("scripts/lambda/bundle-libs.sh"), [needy, dir.appendingPathComponent("s2").path])
            #expect(missing.status == 1)
            #expect(missing.output.contains("libodingone.so => not found"), "\(missing.output)")
        }
    }

    /// The static libcurl and reduced OpenSSL the zips link (built by `make package`): real TLS handshakes against
    /// `openssl s_server` with verification on (RSA and ECDSA chains, TLS 1.2 and 1.3, the CA bundle named by
    /// SSL_CERT_FILE as on Lambda), rejections of an untrusted CA and a wrong host name, and libcrypto's answers
    /// for what the Crypto target calls. Reported as skipped before the libraries are built.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: Repo.path(".build/lambda/static/lib/libcurl.a")),
                   "no .build/lambda/static/lib/libcurl.a: run make package"))
    func staticTLSLibrariesVerifyPeersAndRejectUntrustedCertificates() throws {
        let check = try runTool(Repo.path("scripts/lambda/check-tls.sh"), [])
        #expect(check.status == 0, "\(check.output)")
        #expect(check.output.contains("check-tls: every case as expected"), "\(check.output)")
    }

    /// The functions/<name>/bootstrap.zip files `make package` produced.
    static var packagedZips: [(name: String, zip: String)] {
        let functions = Repo.path("functions")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: functions).sorted()) ?? []
        return names.map { ($0, "\(functions)/\($0)/bootstrap.zip") }
            .filter { FileManager.default.fileExists(atPath: $0.zip) }
    }

    /// Checks every functions/<name>/bootstrap.zip that `make package` produced; reported as skipped before that.
    @Test(.enabled(if: !PackagingTests.packagedZips.isEmpty, "no functions/*/bootstrap.zip: run make package"))
    func packagedZipsHoldAnExecutableBootstrapAndPassUnzipTest() throws {
        for (name, zip) in Self.packagedZips {
            let test = try runTool("/usr/bin/unzip", ["-t", zip])
            #expect(test.status == 0, "\(name): \(test.output)")
            let list = try runTool("/usr/bin/zipinfo", [zip])
            let lines = list.output.split(separator: "\n").filter { $0.hasPrefix("-") }
            let bootstrap = lines.first { $0.hasSuffix(" bootstrap") }
            #expect(bootstrap?.hasPrefix("-rwxr-xr-x") == true, "\(name): no executable bootstrap at the root: \(list.output)")
            for line in lines where !line.hasSuffix(" bootstrap") {
                #expect(line.split(separator: " ").last?.hasPrefix("lib/") == true, "\(name): unexpected entry \(line)")
            }
        }
    }
}
