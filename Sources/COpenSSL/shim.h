// libcrypto (OpenSSL 3) entry points used by the Crypto target. Translation only.
#ifndef COPENSSL_SHIM_H
#define COPENSSL_SHIM_H
/* The low-level SHA256_* functions (deprecated in OpenSSL 3, still built) back HMAC-SHA256 and one-shot SHA-256 in
   Crypto: their context is a plain struct that can be copied. Without this, every use is a deprecation warning. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>
#endif
