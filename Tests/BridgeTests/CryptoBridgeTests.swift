import Crypto
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Crypto against published vectors: FIPS 180-2 / NIST CAVP examples for SHA-256, RFC 4231 for HMAC-SHA256,
/// RFC 1321 for MD5.
@Suite struct CryptoBridgeTests {
    // NIST FIPS 180-2 appendix B examples (and the empty message).
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func sha256OneShot(message: String, expected: String) throws {
        #expect(Hex.encode(try SHA256.hash(message)) == expected)
        #expect(Hex.encode(try SHA256.hash(Array(message.utf8))) == expected)
    }

    @Test func sha256IncrementalMillionA() throws {
        // FIPS 180-2 B.3: one million 'a', fed in uneven pieces; then the hasher is reused.
        let hasher = try SHA256()
        let block = [UInt8](repeating: UInt8(ascii: "a"), count: 999)
        var fed = 0
        while fed + block.count <= 1_000_000 {
            try hasher.update(block)
            fed += block.count
        }
        try hasher.update([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000 - fed))
        #expect(Hex.encode(try hasher.finalize())
            == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        try hasher.update("abc")
        #expect(Hex.encode(try hasher.finalize())
            == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    // RFC 4231 section 4, test cases 1-4, 6, 7 (case 5 is a truncated output).
    @Test(arguments: [
        ([UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8),
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        (Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        ([UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50),
         "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
        (Array(UInt8(1)...UInt8(25)), [UInt8](repeating: 0xcd, count: 50),
         "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
        ([UInt8](repeating: 0xaa, count: 131), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        ([UInt8](repeating: 0xaa, count: 131),
         Array(("This is a test using a larger than block-size key and a larger than block-size data. The key needs "
             + "to be hashed before being used by the HMAC algorithm.").utf8),
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
    ])
    func hmacSHA256RFC4231(key: [UInt8], message: [UInt8], expected: String) throws {
        #expect(Hex.encode(try HMACSHA256.authenticationCode(for: message, key: key)) == expected)
        // The precomputed key gives the same code, and keeps giving it (its states are copied, never consumed).
        let prepared = HMACSHA256Key(key)
        #expect(Hex.encode(prepared.authenticationCode(for: message)) == expected)
        #expect(Hex.encode(prepared.authenticationCode(for: message)) == expected)
    }

    @Test func hmacEmptyKeyAndMessage() throws {
        // HMAC-SHA256("", "") as published in many references (and computed by Python's hmac module).
        #expect(Hex.encode(try HMACSHA256.authenticationCode(for: [], key: []))
            == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
    }

    // RFC 1321 appendix A.5.
    @Test func md5() throws {
        #expect(Hex.encode(try MD5.hash([])) == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(Hex.encode(try MD5.hash(Array("abc".utf8))) == "900150983cd24fb0d6963f7d28e17f72")
    }

    @Test func fileHashesMatchInMemoryHashes() throws {
        let path = "/tmp/crypto-bridge-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).bin"
        defer { unlink(path) }
        let content = (0..<(3 << 20) + 123).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let file = fopen(path, "wb")
        #expect(file != nil)
        content.withUnsafeBytes { _ = fwrite($0.baseAddress, 1, $0.count, file) }
        fclose(file)
        #expect(try SHA256.hash(filePath: path) == SHA256.hash(content))
        #expect(try SHA256.hash(filePath: path, offset: 1000, length: 2_000_000)
            == SHA256.hash(Array(content[1000..<2_001_000])))
        #expect(try MD5.hash(filePath: path) == MD5.hash(content))
        #expect(throws: CryptoError.self) { try SHA256.hash(filePath: path + ".missing") }
    }

    @Test func hexRoundTrip() {
        #expect(Hex.encode([0x00, 0x0f, 0xa0, 0xff]) == "000fa0ff")
        #expect(Hex.decode("000FA0ff") == [0x00, 0x0f, 0xa0, 0xff])
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("zz") == nil)
    }

    @Test func secureRandom() throws {
        let a = try SecureRandom.bytes(count: 32)
        let b = try SecureRandom.bytes(count: 32)
        #expect(a.count == 32 && a != b)
        #expect(try SecureRandom.bytes(count: 0).isEmpty)
    }
}
