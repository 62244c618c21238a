/*
 * DTLS 1.2 server engine over the OpenSSL that Node links statically and exports (RFC 6347, RFC 7925
 * profile for CoAP/LwM2M: TLS_PSK_WITH_AES_128_CCM_8 and TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8).
 *
 * The addon does no I/O. JavaScript owns the UDP socket and calls in with one datagram at a time; a
 * custom BIO hands that datagram to OpenSSL and turns each OpenSSL write into one outbound datagram.
 * Every call returns the datagrams to send, the decrypted application data and the retransmission
 * timeout, so timers and sockets stay in the event loop.
 *
 * Per-peer state is created only after a stateless cookie exchange: `listen()` runs DTLSv1_listen on
 * one reusable listener SSL, and only a ClientHello carrying a valid cookie (HMAC-SHA256 of a random
 * secret over the peer's "ip:port") turns that SSL into a session.
 *
 * Every entry point clears OpenSSL's thread error queue on the way in and out: Node's own crypto code
 * shares it on this thread.
 */
#include <node_api.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OUT 64     /* outbound datagrams per call; more are dropped like UDP loss */
#define MAX_PEER 80    /* "ip:port" key, IPv6 included */
#define COOKIE_LEN 32
#define READ_BUF 16640 /* one full DTLS record of plaintext */

enum { ST_HANDSHAKE = 0, ST_ESTABLISHED = 1, ST_CLOSED = 2, ST_FAILED = 3 };

typedef struct ctx_s ctx_t;

typedef struct conn_s {
  ctx_t *ctx;
  SSL *ssl;
  const unsigned char *in; /* the one pending inbound datagram */
  size_t in_len;
  int in_pending;
  unsigned char *out[MAX_OUT];
  size_t out_len[MAX_OUT];
  int out_count;
  char peer[MAX_PEER];
  size_t peer_len;
  int psk_unknown;
  int psk_error;
} conn_t;

struct ctx_s {
  napi_env env; /* set on every entry: OpenSSL callbacks run inside our N-API calls */
  SSL_CTX *ssl_ctx;
  napi_ref psk_fn;
  unsigned char cookie_secret[32];
  EVP_MAC_CTX *cookie_mac; /* HMAC-SHA256 keyed once: a fetch per cookie showed in profiles */
  long mtu; /* datagram size used to fragment handshake flights */
  conn_t *listener;
  uint64_t session_ids; /* counter behind session_id_cb */
  int refs; /* the JS handle plus one per live conn */
};

static BIO_METHOD *g_bio_method = NULL;

/*
 * Results are flat: every call returns one array, the datagrams to send first, then the decrypted
 * plaintexts, and writes its scalars into a module-wide Int32Array that JavaScript reads after the call.
 * Building a result object per datagram (a fresh map transition per property) showed in profiles.
 */
enum { F_STATE, F_ESTABLISHED, F_TIMEOUT, F_FLAGS, F_OUT, F_LISTEN, F_COUNT };
enum { FLAG_PSK_UNKNOWN = 1, FLAG_PSK_ERROR = 2, FLAG_ERROR = 4 };
typedef struct {
  napi_ref fields_ref; /* keeps the ArrayBuffer behind `fields` alive */
  int32_t *fields;
  char last_error[256];
} module_data_t;

static module_data_t *module_data(napi_env env) {
  module_data_t *m = NULL;
  napi_get_instance_data(env, (void **)&m);
  return m;
}

/* ---------- error helpers ---------- */

static napi_value throw_error(napi_env env, const char *msg) {
  napi_throw_error(env, "EIM_ERR_DTLS", msg);
  return NULL;
}

/* Takes the first OpenSSL error of the queue as text and clears the queue. */
static void take_error(char *buf, size_t n) {
  unsigned long e = ERR_get_error();
  buf[0] = 0;
  if (e != 0) ERR_error_string_n(e, buf, n);
  ERR_clear_error();
}

/* ---------- custom datagram BIO ---------- */

static int bio_write(BIO *b, const char *data, int len) {
  conn_t *c = (conn_t *)BIO_get_data(b);
  BIO_clear_retry_flags(b);
  if (c == NULL || len <= 0) return len;
  /* RFC 6347 §4.1.1: several records may share a datagram. Packing a flight (ServerHello +
   * ServerHelloDone, ChangeCipherSpec + Finished) into one datagram halves the sends per handshake. */
  if (c->out_count > 0 && c->out_len[c->out_count - 1] + (size_t)len <= (size_t)c->ctx->mtu) {
    int last = c->out_count - 1;
    unsigned char *grown = (unsigned char *)realloc(c->out[last], c->out_len[last] + (size_t)len);
    if (grown == NULL) return len;
    memcpy(grown + c->out_len[last], data, (size_t)len);
    c->out[last] = grown;
    c->out_len[last] += (size_t)len;
    return len;
  }
  if (c->out_count >= MAX_OUT) return len; /* silently lost, as on a congested link */
  unsigned char *p = (unsigned char *)malloc((size_t)len);
  if (p == NULL) return len;
  memcpy(p, data, (size_t)len);
  c->out[c->out_count] = p;
  c->out_len[c->out_count] = (size_t)len;
  c->out_count++;
  return len;
}

static int bio_read(BIO *b, char *buf, int size) {
  conn_t *c = (conn_t *)BIO_get_data(b);
  BIO_clear_retry_flags(b);
  if (c == NULL || !c->in_pending || size <= 0) {
    BIO_set_retry_read(b);
    return -1;
  }
  size_t n = c->in_len < (size_t)size ? c->in_len : (size_t)size; /* datagram semantics: truncate */
  memcpy(buf, c->in, n);
  c->in_pending = 0;
  return (int)n;
}

static int bio_puts(BIO *b, const char *str) { return bio_write(b, str, (int)strlen(str)); }

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
  conn_t *c = (conn_t *)BIO_get_data(b);
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_DGRAM_QUERY_MTU:
    case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
      return c != NULL ? c->ctx->mtu : 1232;
    case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD:
      return 0; /* our mtu option is already the UDP payload size */
    case BIO_CTRL_PENDING:
    case BIO_CTRL_WPENDING:
      return 0;
    default:
      return 0;
  }
}

static int bio_create(BIO *b) {
  BIO_set_init(b, 1);
  return 1;
}

static int bio_destroy(BIO *b) {
  BIO_set_data(b, NULL);
  return 1;
}

/* ---------- context / connection lifetime ---------- */

static void ctx_unref(napi_env env, ctx_t *x) {
  if (--x->refs > 0) return;
  if (x->psk_fn != NULL) napi_delete_reference(env, x->psk_fn);
  EVP_MAC_CTX_free(x->cookie_mac);
  SSL_CTX_free(x->ssl_ctx);
  free(x);
}

static void conn_clear_out(conn_t *c) {
  for (int i = 0; i < c->out_count; i++) free(c->out[i]);
  c->out_count = 0;
}

static void conn_free(napi_env env, conn_t *c) {
  if (c->ssl != NULL) {
    SSL_free(c->ssl); /* frees the BIO too */
    c->ssl = NULL;
  }
  conn_clear_out(c);
  ctx_t *x = c->ctx;
  free(c);
  ctx_unref(env, x);
}

static conn_t *conn_new(ctx_t *x) {
  conn_t *c = (conn_t *)calloc(1, sizeof(conn_t));
  if (c == NULL) return NULL;
  c->ctx = x;
  c->ssl = SSL_new(x->ssl_ctx);
  BIO *bio = BIO_new(g_bio_method);
  if (c->ssl == NULL || bio == NULL) {
    if (bio != NULL) BIO_free(bio);
    if (c->ssl != NULL) SSL_free(c->ssl);
    free(c);
    return NULL;
  }
  BIO_set_data(bio, c);
  SSL_set_bio(c->ssl, bio, bio); /* one reference serves both directions */
  SSL_set_app_data(c->ssl, c);
  SSL_set_mtu(c->ssl, x->mtu);
  SSL_set_accept_state(c->ssl);
  x->refs++;
  return c;
}

/* ---------- OpenSSL callbacks ---------- */

static void cookie_hmac(conn_t *c, unsigned char *out, unsigned int *out_len) {
  size_t n = 0;
  EVP_MAC_CTX *m = c->ctx->cookie_mac;
  /* Re-initialising with a NULL key keeps the key set at creation. */
  if (m != NULL && EVP_MAC_init(m, NULL, 0, NULL) == 1 && EVP_MAC_update(m, (const unsigned char *)c->peer, c->peer_len) == 1 &&
      EVP_MAC_final(m, out, &n, EVP_MAX_MD_SIZE) == 1) {
    *out_len = (unsigned int)n;
    return;
  }
  HMAC(EVP_sha256(), c->ctx->cookie_secret, sizeof(c->ctx->cookie_secret), (const unsigned char *)c->peer,
       c->peer_len, out, out_len);
}

static EVP_MAC_CTX *cookie_mac_new(const unsigned char *key, size_t key_len) {
  EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  EVP_MAC_CTX *m = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
  EVP_MAC_free(mac); /* the context keeps its own reference */
  if (m == NULL) return NULL;
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(m, key, key_len, params) != 1) {
    EVP_MAC_CTX_free(m);
    return NULL;
  }
  return m;
}

static int cookie_generate(SSL *ssl, unsigned char *cookie, unsigned int *cookie_len) {
  conn_t *c = (conn_t *)SSL_get_app_data(ssl);
  if (c == NULL) return 0;
  cookie_hmac(c, cookie, cookie_len);
  return 1;
}

static int cookie_verify(SSL *ssl, const unsigned char *cookie, unsigned int cookie_len) {
  conn_t *c = (conn_t *)SSL_get_app_data(ssl);
  unsigned char expected[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (c == NULL || cookie_len != COOKIE_LEN) return 0;
  cookie_hmac(c, expected, &len);
  return len == COOKIE_LEN && CRYPTO_memcmp(expected, cookie, COOKIE_LEN) == 0;
}

/* Calls the JS lookup synchronously. Returning 0 makes OpenSSL send unknown_psk_identity. */
static unsigned int psk_server_cb(SSL *ssl, const char *identity, unsigned char *psk, unsigned int max_psk_len) {
  conn_t *c = (conn_t *)SSL_get_app_data(ssl);
  if (c == NULL || c->ctx->psk_fn == NULL || identity == NULL) return 0;
  napi_env env = c->ctx->env;
  napi_handle_scope scope;
  unsigned int result = 0;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return 0;
  napi_value fn, global, arg, ret;
  if (napi_get_reference_value(env, c->ctx->psk_fn, &fn) == napi_ok && napi_get_global(env, &global) == napi_ok &&
      napi_create_string_utf8(env, identity, NAPI_AUTO_LENGTH, &arg) == napi_ok) {
    napi_status st = napi_call_function(env, global, fn, 1, &arg, &ret);
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value ignored;
      napi_get_and_clear_last_exception(env, &ignored);
      c->psk_error = 1;
    } else if (st == napi_ok) {
      bool is_typed = false;
      napi_is_typedarray(env, ret, &is_typed);
      if (is_typed) {
        napi_typedarray_type type;
        size_t length = 0, offset = 0;
        void *data = NULL;
        napi_value ab;
        if (napi_get_typedarray_info(env, ret, &type, &length, &data, &ab, &offset) == napi_ok &&
            type == napi_uint8_array && length > 0 && length <= max_psk_len) {
          memcpy(psk, data, length);
          result = (unsigned int)length;
        }
      }
    }
  }
  napi_close_handle_scope(env, scope);
  if (result == 0 && !c->psk_error) c->psk_unknown = 1;
  return result;
}

/*
 * With the session cache off, OpenSSL still generates a random session ID for every handshake and then
 * sends an empty one (nothing can be resumed). The default generator draws it from the DRBG, about 2% of
 * a PSK handshake's CPU in profiles; a counter is enough for an ID nobody ever sees or looks up.
 */
static int session_id_cb(SSL *ssl, unsigned char *id, unsigned int *id_len) {
  conn_t *c = (conn_t *)SSL_get_app_data(ssl);
  uint64_t n = c != NULL ? ++c->ctx->session_ids : 0;
  memset(id, 0, *id_len);
  for (unsigned int i = 0; i < 8 && i < *id_len; i++) id[i] = (unsigned char)(n >> (8 * i));
  return 1;
}

/* The application checks the peer certificate itself (e.g. its CN against the endpoint name). */
static int verify_accept_all(int ok, X509_STORE_CTX *store) { return 1; }

/* ---------- N-API helpers ---------- */

static bool get_named(napi_env env, napi_value obj, const char *name, napi_value *out, napi_valuetype want) {
  bool has = false;
  napi_valuetype t;
  if (napi_has_named_property(env, obj, name, &has) != napi_ok || !has) return false;
  if (napi_get_named_property(env, obj, name, out) != napi_ok) return false;
  if (napi_typeof(env, *out, &t) != napi_ok) return false;
  return t == want;
}

static char *get_string(napi_env env, napi_value v) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *s = (char *)malloc(len + 1);
  if (s == NULL) return NULL;
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

static bool get_bytes(napi_env env, napi_value v, const unsigned char **data, size_t *len) {
  bool ok = false;
  if (napi_is_buffer(env, v, &ok) == napi_ok && ok) {
    void *d;
    if (napi_get_buffer_info(env, v, &d, len) != napi_ok) return false;
    *data = (const unsigned char *)d;
    return true;
  }
  if (napi_is_typedarray(env, v, &ok) == napi_ok && ok) {
    napi_typedarray_type type;
    void *d;
    napi_value ab;
    size_t off;
    if (napi_get_typedarray_info(env, v, &type, len, &d, &ab, &off) != napi_ok || type != napi_uint8_array) return false;
    *data = (const unsigned char *)d;
    return true;
  }
  return false;
}

/* Plaintexts decrypted by one call, appended after the outbound datagrams of the result. */
typedef struct {
  unsigned char *buf[MAX_OUT];
  size_t len[MAX_OUT];
  int count;
} plain_t;

static napi_value take_out(napi_env env, conn_t *c, const plain_t *plain) {
  napi_value arr;
  int n_plain = plain != NULL ? plain->count : 0;
  napi_create_array_with_length(env, (size_t)(c->out_count + n_plain), &arr);
  for (int i = 0; i < c->out_count; i++) {
    napi_value b;
    void *unused;
    napi_create_buffer_copy(env, c->out_len[i], c->out[i], &unused, &b);
    napi_set_element(env, arr, (uint32_t)i, b);
  }
  for (int i = 0; i < n_plain; i++) {
    napi_value b;
    void *unused;
    napi_create_buffer_copy(env, plain->len[i], plain->buf[i], &unused, &b);
    napi_set_element(env, arr, (uint32_t)(c->out_count + i), b);
  }
  conn_clear_out(c);
  return arr;
}

static void set_str(napi_env env, napi_value obj, const char *name, const char *v) {
  napi_value n;
  napi_create_string_utf8(env, v, NAPI_AUTO_LENGTH, &n);
  napi_set_named_property(env, obj, name, n);
}

static int64_t timeout_ms(conn_t *c) {
  struct timeval tv;
  if (c->ssl == NULL || !DTLSv1_get_timeout(c->ssl, &tv)) return -1;
  return (int64_t)tv.tv_sec * 1000 + ((int64_t)tv.tv_usec + 999) / 1000;
}

static void session_finalize(napi_env env, void *data, void *hint) {
  conn_free(env, (conn_t *)data);
}

static void ctx_finalize(napi_env env, void *data, void *hint) {
  ctx_t *x = (ctx_t *)data;
  if (x->listener != NULL) {
    conn_t *l = x->listener;
    x->listener = NULL;
    conn_free(env, l);
  }
  ctx_unref(env, x);
}

/* A freed session keeps its external alive with ssl == NULL, so later calls fail cleanly. */
static conn_t *get_session(napi_env env, napi_value v) {
  void *p = NULL;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external) return NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok) return NULL;
  return (conn_t *)p;
}

static ctx_t *get_ctx(napi_env env, napi_value v) {
  void *p = NULL;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external) return NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok) return NULL;
  return (ctx_t *)p;
}

/* ---------- createContext(options) ---------- */

static bool load_certificate(SSL_CTX *ctx, const char *cert_pem, const char *key_pem, char *err, size_t n) {
  BIO *b = BIO_new_mem_buf(cert_pem, -1);
  X509 *leaf = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
  if (leaf == NULL || SSL_CTX_use_certificate(ctx, leaf) != 1) {
    X509_free(leaf);
    BIO_free(b);
    take_error(err, n);
    return false;
  }
  X509_free(leaf);
  X509 *extra;
  while ((extra = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
    if (SSL_CTX_add_extra_chain_cert(ctx, extra) != 1) { /* takes ownership on success */
      X509_free(extra);
      break;
    }
  }
  ERR_clear_error(); /* the end of the PEM stream leaves a "no start line" error */
  BIO_free(b);
  b = BIO_new_mem_buf(key_pem, -1);
  EVP_PKEY *key = b != NULL ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
  BIO_free(b);
  if (key == NULL || SSL_CTX_use_PrivateKey(ctx, key) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    EVP_PKEY_free(key);
    take_error(err, n);
    return false;
  }
  EVP_PKEY_free(key);
  return true;
}

static napi_value create_context(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], v;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_valuetype t;
  if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_object) return throw_error(env, "options object expected");
  ERR_clear_error();
  char err[256] = "";
  ctx_t *x = (ctx_t *)calloc(1, sizeof(ctx_t));
  if (x == NULL) return throw_error(env, "out of memory");
  x->env = env;
  x->refs = 1;
  x->mtu = 1232;
  if (get_named(env, argv[0], "mtu", &v, napi_number)) {
    int64_t m = 0;
    napi_get_value_int64(env, v, &m);
    if (m < 256 || m > 16384) {
      free(x);
      return throw_error(env, "mtu out of range 256..16384");
    }
    x->mtu = (long)m;
  }
  if (RAND_bytes(x->cookie_secret, sizeof(x->cookie_secret)) != 1) {
    free(x);
    return throw_error(env, "RAND_bytes failed");
  }
  x->cookie_mac = cookie_mac_new(x->cookie_secret, sizeof(x->cookie_secret));
  x->ssl_ctx = SSL_CTX_new(DTLS_server_method());
  if (x->ssl_ctx == NULL) {
    EVP_MAC_CTX_free(x->cookie_mac);
    free(x);
    return throw_error(env, "SSL_CTX_new failed");
  }
  SSL_CTX *ctx = x->ssl_ctx;
  SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION);
  /* Fixed MTU, no tickets, no renegotiation, no session cache: bounded memory per peer. */
  SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_COOKIE_EXCHANGE | SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_generate_session_id(ctx, session_id_cb);
  SSL_CTX_set_read_ahead(ctx, 1);
  SSL_CTX_set_cookie_generate_cb(ctx, cookie_generate);
  SSL_CTX_set_cookie_verify_cb(ctx, cookie_verify);
  SSL_CTX_set1_groups_list(ctx, "P-256"); /* RFC 7925 §4.4: secp256r1 */

  char *ciphers = NULL;
  if (get_named(env, argv[0], "ciphers", &v, napi_string)) ciphers = get_string(env, v);
  int ok = SSL_CTX_set_cipher_list(ctx, ciphers != NULL ? ciphers : "PSK-AES128-CCM8");
  free(ciphers);
  if (ok != 1) {
    take_error(err, sizeof(err));
    ctx_unref(env, x);
    return throw_error(env, err[0] ? err : "no usable cipher");
  }
  if (get_named(env, argv[0], "psk", &v, napi_function)) {
    napi_create_reference(env, v, 1, &x->psk_fn);
    SSL_CTX_set_psk_server_callback(ctx, psk_server_cb); /* and no identity hint: some clients crash on one */
  }
  napi_value cert_v, key_v;
  if (get_named(env, argv[0], "certPem", &cert_v, napi_string) && get_named(env, argv[0], "keyPem", &key_v, napi_string)) {
    char *cert = get_string(env, cert_v), *key = get_string(env, key_v);
    bool loaded = cert != NULL && key != NULL && load_certificate(ctx, cert, key, err, sizeof(err));
    if (key != NULL) OPENSSL_cleanse(key, strlen(key));
    free(cert);
    free(key);
    if (!loaded) {
      ctx_unref(env, x);
      return throw_error(env, err[0] ? err : "cannot load certificate or key");
    }
  }
  bool request = false;
  if (get_named(env, argv[0], "requestClientCert", &v, napi_boolean)) napi_get_value_bool(env, v, &request);
  if (request) SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_accept_all);
  ERR_clear_error();
  napi_value ext;
  napi_create_external(env, x, ctx_finalize, NULL, &ext);
  return ext;
}

/* ---------- listen(ctx, datagram, peerKey) -> session handle | datagrams ---------- */
/* fields[F_LISTEN]: 1 = cookie verified, the session handle is returned (feed() it to produce the first
 * flight); 0 = the returned array holds the HelloVerifyRequest, or is empty (ignored); -1 = error. */

static napi_value listen_fn(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  ctx_t *x = argc == 3 ? get_ctx(env, argv[0]) : NULL;
  const unsigned char *data;
  size_t len;
  char peer[MAX_PEER];
  size_t peer_len = 0;
  if (x == NULL || !get_bytes(env, argv[1], &data, &len) ||
      napi_get_value_string_utf8(env, argv[2], peer, sizeof(peer), &peer_len) != napi_ok)
    return throw_error(env, "listen(ctx, datagram, peerKey) expected");
  x->env = env;
  ERR_clear_error();
  if (x->listener == NULL) x->listener = conn_new(x);
  conn_t *c = x->listener;
  if (c == NULL) return throw_error(env, "cannot allocate listener");
  memcpy(c->peer, peer, peer_len);
  c->peer_len = peer_len;
  c->in = data;
  c->in_len = len;
  c->in_pending = 1;
  c->psk_unknown = c->psk_error = 0;
  BIO_ADDR *addr = BIO_ADDR_new();
  int r = addr != NULL ? DTLSv1_listen(c->ssl, addr) : -1;
  BIO_ADDR_free(addr);
  c->in_pending = 0;
  c->in = NULL;
  char err[256];
  take_error(err, sizeof(err));

  module_data_t *m = module_data(env);
  m->last_error[0] = 0;
  if (r == 1) {
    /* The listener SSL now holds the verified ClientHello: it becomes the session. */
    x->listener = NULL;
    SSL_set_mtu(c->ssl, x->mtu);
    m->fields[F_LISTEN] = 1;
    napi_value ext;
    napi_create_external(env, c, session_finalize, NULL, &ext);
    return ext;
  }
  napi_value res = take_out(env, c, NULL);
  if (r < 0) {
    x->listener = NULL;
    conn_free(env, c);
    m->fields[F_LISTEN] = -1;
    snprintf(m->last_error, sizeof(m->last_error), "%s", err[0] ? err : "listen failed");
  } else {
    m->fields[F_LISTEN] = 0;
  }
  return res;
}

/* ---------- per-session calls; each returns datagrams then plaintexts, scalars in fields ---------- */

static napi_value make_result(napi_env env, conn_t *c, int state, bool became_established, const plain_t *plain,
                              const char *err) {
  module_data_t *m = module_data(env);
  int32_t *f = m->fields;
  f[F_STATE] = state;
  f[F_ESTABLISHED] = became_established ? 1 : 0;
  f[F_TIMEOUT] = state == ST_HANDSHAKE ? (int32_t)timeout_ms(c) : -1;
  f[F_FLAGS] = (c->psk_unknown ? FLAG_PSK_UNKNOWN : 0) | (c->psk_error ? FLAG_PSK_ERROR : 0) |
               (err != NULL && err[0] ? FLAG_ERROR : 0);
  f[F_OUT] = c->out_count;
  if (err != NULL && err[0]) snprintf(m->last_error, sizeof(m->last_error), "%s", err);
  else m->last_error[0] = 0;
  return take_out(env, c, plain);
}

/*
 * An established DTLS session keeps a ~17 KB read and a ~17 KB write buffer for its whole life
 * (SSL_MODE_RELEASE_BUFFERS does not apply to DTLS in OpenSSL 3.0). Idle LwM2M devices vastly outnumber
 * active ones, so the buffers are freed after every call and reallocated on the next datagram.
 * SSL_free_buffers refuses (harmlessly) while a buffer holds unprocessed data.
 */
static void release_buffers(conn_t *c) {
  if (c->ssl != NULL && SSL_is_init_finished(c->ssl)) SSL_free_buffers(c->ssl);
}

/* The DTLS write path expects its buffer to exist (it does not allocate lazily): restore both first. */
static bool ensure_buffers(conn_t *c) {
  return c->ssl != NULL && (!SSL_is_init_finished(c->ssl) || SSL_alloc_buffers(c->ssl) == 1);
}

/* Drives the handshake, then reads every record of the pending datagram. */
static napi_value drive(napi_env env, conn_t *c) {
  char err[256] = "";
  int state = ST_HANDSHAKE;
  bool became = false;
  plain_t plain;
  plain.count = 0;
  if (!SSL_is_init_finished(c->ssl)) {
    int r = SSL_do_handshake(c->ssl);
    if (r == 1) {
      became = true;
    } else {
      int e = SSL_get_error(c->ssl, r);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
        take_error(err, sizeof(err));
        if (!err[0]) strcpy(err, "handshake failed");
        c->in_pending = 0;
        return make_result(env, c, ST_FAILED, false, NULL, err);
      }
    }
  }
  if (SSL_is_init_finished(c->ssl)) {
    state = ST_ESTABLISHED;
    unsigned char buf[READ_BUF];
    for (int guard = 0; guard < 256; guard++) {
      int r = SSL_read(c->ssl, buf, sizeof(buf));
      if (r > 0) {
        unsigned char *copy = plain.count < MAX_OUT ? (unsigned char *)malloc((size_t)r) : NULL;
        if (copy != NULL) { /* beyond MAX_OUT records per datagram: dropped like UDP loss */
          memcpy(copy, buf, (size_t)r);
          plain.buf[plain.count] = copy;
          plain.len[plain.count++] = (size_t)r;
        }
        continue;
      }
      int e = SSL_get_error(c->ssl, r);
      if (e == SSL_ERROR_ZERO_RETURN) {
        state = ST_CLOSED;
      } else if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
        take_error(err, sizeof(err));
        if (!err[0]) strcpy(err, "connection failed");
        state = ST_FAILED;
      }
      break;
    }
  }
  c->in_pending = 0;
  ERR_clear_error();
  release_buffers(c);
  napi_value res = make_result(env, c, state, became, &plain, err);
  for (int i = 0; i < plain.count; i++) free(plain.buf[i]);
  return res;
}

static conn_t *session_arg(napi_env env, napi_callback_info info, napi_value *extra) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  conn_t *c = argc >= 1 ? get_session(env, argv[0]) : NULL;
  if (c == NULL || c->ssl == NULL) {
    throw_error(env, "live session expected");
    return NULL;
  }
  if (extra != NULL) *extra = argc >= 2 ? argv[1] : NULL;
  c->ctx->env = env;
  ERR_clear_error();
  if (!ensure_buffers(c)) {
    throw_error(env, "out of memory");
    return NULL;
  }
  return c;
}

/* feed(session, datagram?) */
static napi_value feed_fn(napi_env env, napi_callback_info info) {
  napi_value dg;
  conn_t *c = session_arg(env, info, &dg);
  if (c == NULL) return NULL;
  const unsigned char *data;
  size_t len;
  napi_valuetype t = napi_undefined;
  if (dg != NULL) napi_typeof(env, dg, &t);
  if (t != napi_undefined && t != napi_null) {
    if (!get_bytes(env, dg, &data, &len)) return throw_error(env, "datagram must be a Uint8Array");
    c->in = data;
    c->in_len = len;
    c->in_pending = 1;
  }
  napi_value res = drive(env, c);
  c->in = NULL;
  c->in_pending = 0;
  return res;
}

/* handleTimeout(session): retransmits the last flight when its timer expired. */
static napi_value timeout_fn(napi_env env, napi_callback_info info) {
  conn_t *c = session_arg(env, info, NULL);
  if (c == NULL) return NULL;
  char err[256] = "";
  int r = DTLSv1_handle_timeout(c->ssl);
  if (r < 0) {
    take_error(err, sizeof(err));
    if (!err[0]) strcpy(err, "handshake timed out");
    return make_result(env, c, ST_FAILED, false, NULL, err);
  }
  ERR_clear_error();
  release_buffers(c);
  return make_result(env, c, SSL_is_init_finished(c->ssl) ? ST_ESTABLISHED : ST_HANDSHAKE, false, NULL, NULL);
}

/* write(session, plaintext): one application-data record. */
static napi_value write_fn(napi_env env, napi_callback_info info) {
  napi_value pv;
  conn_t *c = session_arg(env, info, &pv);
  if (c == NULL) return NULL;
  const unsigned char *data;
  size_t len;
  if (pv == NULL || !get_bytes(env, pv, &data, &len)) return throw_error(env, "plaintext must be a Uint8Array");
  if (!SSL_is_init_finished(c->ssl)) return throw_error(env, "session is not established");
  if (len == 0 || len > 16384) return throw_error(env, "plaintext length must be 1..16384");
  char err[256] = "";
  int r = SSL_write(c->ssl, data, (int)len);
  if (r <= 0) {
    take_error(err, sizeof(err));
    if (!err[0]) strcpy(err, "write failed");
    return make_result(env, c, ST_FAILED, false, NULL, err);
  }
  release_buffers(c);
  return make_result(env, c, ST_ESTABLISHED, false, NULL, NULL);
}

/* close(session, notify): optional close_notify, then frees the SSL now rather than at GC. */
static napi_value close_fn(napi_env env, napi_callback_info info) {
  napi_value nv;
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  conn_t *c = argc >= 1 ? get_session(env, argv[0]) : NULL;
  napi_value arr;
  if (c == NULL || c->ssl == NULL) {
    napi_create_array_with_length(env, 0, &arr);
    return arr;
  }
  nv = argc >= 2 ? argv[1] : NULL;
  bool notify = false;
  if (nv != NULL) napi_get_value_bool(env, nv, &notify);
  c->ctx->env = env;
  ERR_clear_error();
  if (notify && SSL_is_init_finished(c->ssl) && ensure_buffers(c)) SSL_shutdown(c->ssl);
  ERR_clear_error();
  arr = take_out(env, c, NULL);
  SSL_free(c->ssl);
  c->ssl = NULL;
  return arr;
}

/* info(session) -> { version, cipher, pskIdentity?, peerCertificate? } */
static napi_value info_fn(napi_env env, napi_callback_info info) {
  conn_t *c = session_arg(env, info, NULL);
  if (c == NULL) return NULL;
  napi_value res;
  napi_create_object(env, &res);
  set_str(env, res, "version", SSL_get_version(c->ssl));
  const SSL_CIPHER *cipher = SSL_get_current_cipher(c->ssl);
  set_str(env, res, "cipher", cipher != NULL ? SSL_CIPHER_get_name(cipher) : "");
  const char *identity = SSL_get_psk_identity(c->ssl);
  if (identity != NULL) set_str(env, res, "pskIdentity", identity);
  X509 *peer = SSL_get1_peer_certificate(c->ssl);
  if (peer != NULL) {
    int n = i2d_X509(peer, NULL);
    if (n > 0) {
      napi_value b;
      void *p;
      if (napi_create_buffer(env, (size_t)n, &p, &b) == napi_ok) {
        unsigned char *q = (unsigned char *)p;
        i2d_X509(peer, &q);
        napi_set_named_property(env, res, "peerCertificate", b);
      }
    }
    X509_free(peer);
  }
  ERR_clear_error();
  release_buffers(c);
  return res;
}

/* ---------- module ---------- */

static void module_data_finalize(napi_env env, void *data, void *hint) {
  module_data_t *m = (module_data_t *)data;
  if (m->fields_ref != NULL) napi_delete_reference(env, m->fields_ref);
  free(m);
}

/* lastError() -> the error text of the last call that reported FLAG_ERROR or listen status -1. */
static napi_value last_error_fn(napi_env env, napi_callback_info info) {
  module_data_t *m = module_data(env);
  napi_value v;
  napi_create_string_utf8(env, m != NULL ? m->last_error : "", NAPI_AUTO_LENGTH, &v);
  return v;
}

static napi_value init(napi_env env, napi_value exports) {
  module_data_t *m = (module_data_t *)calloc(1, sizeof(module_data_t));
  if (m == NULL) return throw_error(env, "out of memory");
  napi_value ab, fields;
  void *mem = NULL;
  if (napi_create_arraybuffer(env, F_COUNT * sizeof(int32_t), &mem, &ab) != napi_ok ||
      napi_create_typedarray(env, napi_int32_array, F_COUNT, ab, 0, &fields) != napi_ok ||
      napi_create_reference(env, ab, 1, &m->fields_ref) != napi_ok) {
    free(m);
    return throw_error(env, "cannot allocate the result fields");
  }
  m->fields = (int32_t *)mem; /* an ArrayBuffer's backing store does not move */
  napi_set_instance_data(env, m, module_data_finalize, NULL);
  napi_set_named_property(env, exports, "fields", fields);
  if (g_bio_method == NULL) {
    g_bio_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "eim datagram");
    if (g_bio_method == NULL) return throw_error(env, "BIO_meth_new failed");
    BIO_meth_set_write(g_bio_method, bio_write);
    BIO_meth_set_read(g_bio_method, bio_read);
    BIO_meth_set_puts(g_bio_method, bio_puts);
    BIO_meth_set_ctrl(g_bio_method, bio_ctrl);
    BIO_meth_set_create(g_bio_method, bio_create);
    BIO_meth_set_destroy(g_bio_method, bio_destroy);
  }
  napi_property_descriptor props[] = {
      {"createContext", NULL, create_context, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"listen", NULL, listen_fn, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"feed", NULL, feed_fn, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"handleTimeout", NULL, timeout_fn, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"write", NULL, write_fn, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"close", NULL, close_fn, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"info", NULL, info_fn, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"lastError", NULL, last_error_fn, NULL, NULL, NULL, napi_default_jsproperty, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  napi_value ver;
  napi_create_string_utf8(env, OpenSSL_version(OPENSSL_VERSION), NAPI_AUTO_LENGTH, &ver);
  napi_set_named_property(env, exports, "opensslVersion", ver);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
