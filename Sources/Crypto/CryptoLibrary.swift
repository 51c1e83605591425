internal import COpenSSL

/// Process-wide libcrypto set-up.
public enum CryptoLibrary {
    /// Initialises libcrypto without reading an OpenSSL configuration file (`openssl.cnf`). Call it first thing
    /// in a process that should not depend on the host's OpenSSL configuration: the Lambda functions. On Lambda
    /// the statically linked OpenSSL looks for Debian's `/usr/lib/ssl/openssl.cnf`, which provided.al2023 does not
    /// have, so this makes local runs behave as they do there and keeps the file's parsing off the cold start
    /// (about a third of init's instructions on a Debian host). Later initialisations (libcurl's included) then skip
    /// the configuration step; TLS keeps OpenSSL's defaults, and `SSL_CERT_FILE` still names the CA bundle.
    /// Returns false if libcrypto could not be initialised.
    @discardableResult
    public static func initializeWithoutConfigFile() -> Bool {
        OPENSSL_init_crypto(UInt64(OPENSSL_INIT_NO_LOAD_CONFIG), nil) == 1
    }
}
