/* scripts/lambda/check-tls.sh's client: the static libcurl and OpenSSL the Lambda zips link (.build/lambda/static),
 * with the options Sources/HTTP sets (peer and host verification on, no proxy), and the libcrypto calls the Crypto
 * target makes.
 *   check-tls URL HOST:PORT:ADDRESS   one GET; prints "curl=<code> http=<status> <protocol> <cipher>"
 *   check-tls --crypto                SHA-256 (EVP and low-level), HMAC-SHA256, MD5 and RAND_bytes against known
 *                                     answers; prints "crypto ok" or what failed
 * The CA bundle comes from OpenSSL's defaults, i.e. SSL_CERT_FILE when set (how the functions find it on Lambda). */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>

/* Records the negotiated protocol and cipher while the connection is open (s_server -www closes it afterwards). */
struct transfer { CURL *handle; const char *protocol, *cipher; };

static size_t receive(char *data, size_t size, size_t count, void *context) {
  struct transfer *transfer = context;
  struct curl_tlssessioninfo *tls = NULL;
  (void)data;
  if (transfer->protocol == NULL && curl_easy_getinfo(transfer->handle, CURLINFO_TLS_SSL_PTR, &tls) == CURLE_OK
      && tls && tls->internals) {
    transfer->protocol = SSL_get_version(tls->internals);
    transfer->cipher = SSL_get_cipher_name((SSL *)tls->internals);
  }
  return size * count;
}

static int hex_equals(const unsigned char *bytes, size_t length, const char *hex) {
  char text[2 * EVP_MAX_MD_SIZE + 1];
  for (size_t i = 0; i < length; i++) snprintf(text + 2 * i, 3, "%02x", bytes[i]);
  return strcmp(text, hex) == 0;
}

static int crypto_checks(void) {
  if (OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL) != 1) { puts("crypto: OPENSSL_init_crypto failed"); return 1; }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  const char *abc = "abc";
  EVP_MD *sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL), *md5 = EVP_MD_fetch(NULL, "MD5", NULL);
  if (!sha256 || !md5) { puts("crypto: EVP_MD_fetch(SHA2-256/MD5) failed"); return 1; }
  if (!EVP_Digest(abc, 3, out, &length, sha256, NULL)
      || !hex_equals(out, length, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")) {
    puts("crypto: SHA-256 (EVP) wrong"); return 1;
  }
  SHA256_CTX context;
  SHA256_Init(&context); SHA256_Update(&context, abc, 3); SHA256_Final(out, &context);
  if (!hex_equals(out, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")) {
    puts("crypto: SHA-256 (SHA256_*) wrong"); return 1;
  }
  if (!EVP_Digest(abc, 3, out, &length, md5, NULL) || !hex_equals(out, length, "900150983cd24fb0d6963f7d28e17f72")) {
    puts("crypto: MD5 wrong"); return 1;
  }
  /* RFC 4231 test case 2 */
  const char *key = "Jefe", *data = "what do ya want for nothing?";
  if (!HMAC(EVP_sha256(), key, 4, (const unsigned char *)data, strlen(data), out, &length)
      || !hex_equals(out, length, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")) {
    puts("crypto: HMAC-SHA256 wrong"); return 1;
  }
  if (RAND_bytes(out, 32) != 1) { puts("crypto: RAND_bytes failed"); return 1; }
  EVP_MD_free(sha256); EVP_MD_free(md5);
  puts("crypto ok");
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--crypto") == 0) return crypto_checks();
  if (argc != 3) { fputs("usage: check-tls URL HOST:PORT:ADDRESS | check-tls --crypto\n", stderr); return 2; }
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) { puts("curl_global_init failed"); return 1; }
  CURL *handle = curl_easy_init();
  struct curl_slist *resolve = curl_slist_append(NULL, argv[2]);
  char error[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(handle, CURLOPT_URL, argv[1]);
  curl_easy_setopt(handle, CURLOPT_RESOLVE, resolve);
  curl_easy_setopt(handle, CURLOPT_PROXY, "");
  curl_easy_setopt(handle, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(handle, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(handle, CURLOPT_TIMEOUT, 20L);
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error);
  struct transfer transfer = { handle, NULL, NULL };
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, receive);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &transfer);
  CURLcode code = curl_easy_perform(handle);
  long status = 0;
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
  printf("curl=%d http=%ld %s %s%s%s\n", (int)code, status, transfer.protocol ? transfer.protocol : "-",
         transfer.cipher ? transfer.cipher : "-", *error ? " error: " : "", error);
  curl_easy_cleanup(handle);
  curl_slist_free_all(resolve);
  curl_global_cleanup();
  return code == CURLE_OK ? 0 : 1;
}
