/*
 * The TLS transport: OpenSSL does the handshake (mutual authentication by
 * CA bundle and name, or by pinned certificate fingerprints), then the
 * kernel takes the record layer (kTLS) where it can.  Whether to fall back
 * to OpenSSL's own record layer is decided by probing the kernel before
 * the handshake and by asking OpenSSL right after it; once the kernel owns
 * the record layer nothing fallible is left to set up.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common/cursor.h"
#include "common/error.h"
#include "common/log.h"
#include "streams/kernel_crypto.h"
#include "streams/tls_conn.h"
#include "streams/tls_policy.h"
#include "streams/transport.h"
#include "xmig.h"

/* Userspace TLS reads this much ahead (several records per read). */
#define TLS_READ_AHEAD (256u << 10)

#define MAX_PINS 16
#define HANDSHAKE_MS_DEFAULT 30000
#define IO_MS_DEFAULT 60000
/* A TLS client speaks first, at once: a server that hears nothing this
 * long tells the peer, in plain text, that it speaks TLS. */
#define FIRST_BYTE_MS 2000

struct xmig_tls_config {
    enum xmig_tls_mode mode;
    char *cert, *key, *ca, *peer_name, *cipher;
    uint8_t pins[MAX_PINS][32];
    size_t npins;
    int insecure;
    int min_version, max_version;
    uint32_t handshake_ms, io_ms;
    struct xmig_cancel *cancel;
};

/* ---- configuration ------------------------------------------------- */

struct xmig_tls_config *xmig_tls_config_create(void)
{
    struct xmig_tls_config *c = calloc(1, sizeof(*c));

    if (!c) {
        err_set(XMIG_ERR_NOMEM, ENOMEM, "TLS configuration");
        return NULL;
    }
    c->handshake_ms = HANDSHAKE_MS_DEFAULT;
    c->io_ms = IO_MS_DEFAULT;
    return c;
}

int xmig_tls_config_set_timeouts(struct xmig_tls_config *c,
                                 uint32_t handshake_ms, uint32_t io_ms)
{
    c->handshake_ms = handshake_ms;
    c->io_ms = io_ms;
    return 0;
}

void xmig_tls_config_set_cancel(struct xmig_tls_config *c,
                                struct xmig_cancel *cancel)
{
    c->cancel = cancel;
}

void xmig_tls_config_free(struct xmig_tls_config *c)
{
    if (c) {
        free(c->cert);
        free(c->key);
        free(c->ca);
        free(c->peer_name);
        free(c->cipher);
        free(c);
    }
}

static int set_str(char **dst, const char *src)
{
    char *d = src ? strdup(src) : NULL;

    if (src && !d) {
        return err_set(XMIG_ERR_NOMEM, ENOMEM, "TLS configuration");
    }
    free(*dst);
    *dst = d;
    return 0;
}

const char *xmig_tls_mode_name(enum xmig_tls_mode mode)
{
    switch (mode) {
    case XMIG_TLS_AUTO:
        return "auto";
    case XMIG_TLS_KTLS:
        return "ktls";
    case XMIG_TLS_USERSPACE:
        return "userspace";
    case XMIG_TLS_NONE:
        return "none";
    default:
        return "?";
    }
}

int xmig_tls_mode_parse(const char *name, enum xmig_tls_mode *mode)
{
    for (int m = XMIG_TLS_AUTO; m <= XMIG_TLS_NONE; m++) {
        if (strcmp(name, xmig_tls_mode_name(m)) == 0) {
            *mode = m;
            return 0;
        }
    }
    return err_set(XMIG_ERR_USAGE, 0, "TLS mode '%s' is not auto, ktls, "
                   "userspace or none", name);
}

int xmig_tls_config_set_mode(struct xmig_tls_config *c,
                             enum xmig_tls_mode mode)
{
    if (mode > XMIG_TLS_NONE) {
        return err_set(XMIG_ERR_USAGE, EINVAL, "TLS mode %d", mode);
    }
    c->mode = mode;
    return 0;
}

int xmig_tls_config_set_identity(struct xmig_tls_config *c,
                                 const char *cert_file, const char *key_file)
{
    return set_str(&c->cert, cert_file) < 0 ? -1 : set_str(&c->key, key_file);
}

int xmig_tls_config_set_ca(struct xmig_tls_config *c, const char *ca_file)
{
    return set_str(&c->ca, ca_file);
}

int xmig_tls_config_set_peer_name(struct xmig_tls_config *c, const char *n)
{
    /* It goes to SNI and X509_VERIFY_PARAM_set1_host/_ip_asc, which
     * compare ASCII: certificates carry an internationalised name in its
     * xn-- form, so other octets could never match; they are refused
     * (octet by number: the name itself may not be printable). */
    for (size_t i = 0; n && n[i]; i++) {
        unsigned char ch = (unsigned char)n[i];
        if (ch <= 0x20 || ch >= 0x7f) {
            return err_set(XMIG_ERR_USAGE, 0, "peer name: octet %zu is "
                           "0x%02x; a peer name is a DNS name or an IP "
                           "address in printable ASCII without spaces (an "
                           "internationalised name in its xn-- form)",
                           i, ch);
        }
    }
    return set_str(&c->peer_name, n);
}

int xmig_tls_config_set_insecure(struct xmig_tls_config *c, int insecure)
{
    c->insecure = !!insecure;
    return 0;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    if (ch >= 'A' && ch <= 'F') {
        return ch - 'A' + 10;
    }
    return -1;
}

int xmig_tls_config_add_pin(struct xmig_tls_config *c, const char *sha256)
{
    uint8_t pin[32];
    size_t n = 0;
    const char *p = sha256;

    if (strncasecmp(p, "sha256:", 7) == 0) {
        p += 7;
    }
    while (*p && n < 32) {
        int hi = hexval(p[0]), lo = hi < 0 ? -1 : hexval(p[1]);
        if (hi < 0 || lo < 0) {
            break;
        }
        pin[n++] = (uint8_t)(hi << 4 | lo);
        p += 2;
        if (*p == ':') {
            p++;
        }
    }
    if (n != 32 || *p) {
        return err_set(XMIG_ERR_USAGE, 0, "pin '%s' is not a SHA-256 "
                       "fingerprint (64 hex digits, ':' allowed)", sha256);
    }
    if (c->npins == MAX_PINS) {
        return err_set(XMIG_ERR_LIMIT, 0, "more than %d pins", MAX_PINS);
    }
    memcpy(c->pins[c->npins++], pin, 32);
    return 0;
}

int xmig_tls_config_set_versions(struct xmig_tls_config *c, int min_version,
                                 int max_version)
{
    int ok = (min_version == 0 || min_version == TLS1_2_VERSION ||
              min_version == TLS1_3_VERSION) &&
             (max_version == 0 || max_version == TLS1_2_VERSION ||
              max_version == TLS1_3_VERSION);
    if (!ok || (min_version && max_version && min_version > max_version)) {
        return err_set(XMIG_ERR_USAGE, 0, "TLS versions 0x%x-0x%x: xmig "
                       "speaks TLS 1.2 (0x0303) and 1.3 (0x0304)",
                       min_version, max_version);
    }
    c->min_version = min_version;
    c->max_version = max_version;
    return 0;
}

static int in_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    const char *p = list;

    while ((p = strstr(p, name)) != NULL) {
        if ((p == list || p[-1] == ':') && (p[n] == ':' || p[n] == '\0')) {
            return 1;
        }
        p += n;
    }
    return 0;
}

int xmig_tls_config_set_cipher(struct xmig_tls_config *c, const char *name)
{
    if (name && (!name[0] || strchr(name, ':') ||
                 (!in_list(tls_policy.tls12_ciphers, name) &&
                  !in_list(tls_policy.tls13_suites, name)))) {
        return err_set(XMIG_ERR_USAGE, 0, "cipher '%s' is not in xmig's "
                       "policy (xmig tls-info lists it)", name);
    }
    return set_str(&c->cipher, name);
}

static int ktls_probe(char *why, size_t len);

void xmig_tls_policy_describe(char *buf, size_t len)
{
    char kernel[160], crypto[320];
    struct kcrypto_impl gcm;

    if (ktls_probe(kernel, sizeof(kernel))) {
        /* Every cipher of the policy is AES-GCM: one kernel algorithm. */
        snprintf(kernel, sizeof(kernel), "kernel TLS available");
        if (kcrypto_lookup("gcm(aes)", &gcm, crypto, sizeof(crypto)) == 0) {
            snprintf(crypto, sizeof(crypto), "gcm(aes) by driver %s "
                     "(module %s, priority %d, the highest of %d)",
                     gcm.driver, gcm.module[0] ? gcm.module : "?",
                     gcm.priority, gcm.count);
        }
    } else {
        snprintf(crypto, sizeof(crypto), "none: this kernel has no kernel "
                 "TLS, so OpenSSL encrypts in userspace");
    }
    snprintf(buf, len,
             "versions: TLSv1.3, TLSv1.2\n"
             "TLSv1.3 suites: %s\n"
             "TLSv1.2 ciphers: %s\n"
             "groups: %s\n"
             "signature algorithms: %s\n"
             "options: no compression, no renegotiation, no session "
             "tickets, no key update within a stream\n"
             "limit: %llu GiB per connection and direction (AES-GCM usage "
             "limit, RFC 8446 5.5)\n"
             "kernel TLS: TLSv1.2 both ways; TLSv1.3 %s with this OpenSSL "
             "(%s)\n"
             "this kernel: %s\n"
             "kernel crypto for TLS: %s\n",
             tls_policy.tls13_suites, tls_policy.tls12_ciphers,
             tls_policy.groups, tls_policy.sigalgs,
             (unsigned long long)(tls_policy.max_stream_octets >> 30),
             tls_policy_tls13_ktls_rx() ? "both ways" : "transmit only",
             OpenSSL_version(OPENSSL_VERSION), kernel, crypto);
}

/* ---- kernel TLS probe ---------------------------------------------- */

/* Can this kernel attach the "tls" upper layer to a TCP socket?  Tried on
 * a throwaway loopback connection, before the first real handshake; a
 * definite answer is kept (the kernel does not change), one that failed
 * for want of descriptors is asked again. */
static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;
static int probe_known, probe_ok;
static char probe_cached_why[160];

static int ktls_probe_now(char *why, size_t len, int *definite);

static int ktls_probe(char *why, size_t len)
{
    int ok, definite = 0;

    pthread_mutex_lock(&probe_lock);
    if (probe_known) {
        ok = probe_ok;
        snprintf(why, len, "%s", probe_cached_why);
        pthread_mutex_unlock(&probe_lock);
        return ok;
    }
    ok = ktls_probe_now(why, len, &definite);
    if (definite) {
        probe_known = 1;
        probe_ok = ok;
        snprintf(probe_cached_why, sizeof(probe_cached_why), "%s", ok ? "" : why);
    }
    pthread_mutex_unlock(&probe_lock);
    return ok;
}

static int ktls_probe_now(char *why, size_t len, int *definite)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t alen = sizeof(a);
    int l = -1, s = -1, acc = -1, ok = 0;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l < 0 || s < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        listen(l, 1) < 0 || getsockname(l, (struct sockaddr *)&a, &alen) < 0 ||
        connect(s, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        (acc = accept4(l, NULL, NULL, SOCK_CLOEXEC)) < 0) {
        snprintf(why, len, "could not probe kernel TLS: %s", strerror(errno));
    } else if (setsockopt(s, IPPROTO_TCP, TCP_ULP, "tls", 3) < 0) {
        *definite = errno == ENOENT;
        snprintf(why, len, "%s", errno == ENOENT
                                     ? "the kernel has no TLS support "
                                       "(CONFIG_TLS, module tls)"
                                     : strerror(errno));
    } else {
        *definite = 1;
        ok = 1;
    }
    if (acc >= 0) {
        close(acc);
    }
    if (s >= 0) {
        close(s);
    }
    if (l >= 0) {
        close(l);
    }
    return ok;
}

/* ---- handshake ----------------------------------------------------- */

static void ssl_error_text(char *buf, size_t len)
{
    unsigned long e = ERR_get_error();

    if (e) {
        ERR_error_string_n(e, buf, len);
    } else {
        snprintf(buf, len, "%s", errno ? strerror(errno) : "connection closed");
    }
    ERR_clear_error();
}

static void fingerprint(X509 *cert, uint8_t out[32])
{
    unsigned int n = 32;

    X509_digest(cert, EVP_sha256(), out, &n);
}

static int pinned(const struct xmig_tls_config *c, X509 *cert)
{
    uint8_t fp[32];

    fingerprint(cert, fp);
    for (size_t i = 0; i < c->npins; i++) {
        if (memcmp(fp, c->pins[i], 32) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The SSL ex-data slot that carries the configuration to verify_cb:
 * made once, whichever thread's handshake comes first. */
static int config_index = -1;
static pthread_once_t config_index_once = PTHREAD_ONCE_INIT;

static void config_index_make(void)
{
    config_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

/* The unpinned certificate the last verification saw (this thread). */
static _Thread_local char unpinned_subject[256], unpinned_hex[100];

static void fingerprint_hex(X509 *cert, char *hex, size_t len)
{
    uint8_t fp[32];

    fingerprint(cert, fp);
    for (int i = 0; i < 32 && (size_t)i * 3 + 3 <= len; i++) {
        snprintf(hex + i * 3, 4, "%02x%s", fp[i], i < 31 ? ":" : "");
    }
}

/* With pins and no CA, the peer's leaf certificate is trusted exactly when
 * it is pinned; with pins and a CA, the chain must verify too (pins are
 * checked after the handshake). */
static int verify_cb(int ok, X509_STORE_CTX *store)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(
        store, SSL_get_ex_data_X509_STORE_CTX_idx());
    const struct xmig_tls_config *c = SSL_get_ex_data(ssl, config_index);
    X509 *leaf = X509_STORE_CTX_get0_cert(store);
    int err = X509_STORE_CTX_get_error(store);

    if (!c || !c->npins || c->ca || !leaf) {
        return ok;
    }
    if (!pinned(c, leaf)) {
        fingerprint_hex(leaf, unpinned_hex, sizeof(unpinned_hex));
        X509_NAME_oneline(X509_get_subject_name(leaf), unpinned_subject,
                          sizeof(unpinned_subject));
        X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
        return 0;
    }
    /* Pinned: the chain to a CA does not matter; names and dates do. */
    return err == X509_V_ERR_HOSTNAME_MISMATCH ||
                   err == X509_V_ERR_IP_ADDRESS_MISMATCH ||
                   err == X509_V_ERR_CERT_HAS_EXPIRED ||
                   err == X509_V_ERR_CERT_NOT_YET_VALID
               ? ok
               : 1;
}

static int versions(const struct xmig_tls_config *c, int ktls, int *min,
                    int *max)
{
    *min = c->min_version ? c->min_version : TLS1_2_VERSION;
    *max = c->max_version ? c->max_version : TLS1_3_VERSION;
    /* A single cipher decides the version: TLS 1.2 ciphers and TLS 1.3
     * suites are disjoint, so the other version could only use another. */
    if (c->cipher) {
        int v13 = in_list(tls_policy.tls13_suites, c->cipher);
        if ((v13 && *max < TLS1_3_VERSION) ||
            (!v13 && *min > TLS1_2_VERSION)) {
            return err_set(XMIG_ERR_USAGE, 0, "cipher %s belongs to TLS %s, "
                           "which the versions asked for exclude", c->cipher,
                           v13 ? "1.3" : "1.2");
        }
        *min = *max = v13 ? TLS1_3_VERSION : TLS1_2_VERSION;
        return 0;
    }
    /* Without TLS 1.3 receive offload (OpenSSL < 3.2), a kernel record
     * layer both ways means TLS 1.2, unless the caller insists. */
    if (ktls && !c->max_version && !tls_policy_tls13_ktls_rx()) {
        *max = TLS1_2_VERSION;
    }
    if (*min > *max) {
        *min = *max;
    }
    return 0;
}

static SSL_CTX *make_ctx(const struct xmig_tls_config *c, int server,
                         int ktls)
{
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method()
                                      : TLS_client_method());
    const char *c12 = tls_policy.tls12_ciphers, *c13 = tls_policy.tls13_suites;
    int min, max;

    if (!ctx) {
        return NULL;
    }
    if (c->cipher) {
        /* A single cipher: the other version's list must stay valid. */
        if (in_list(c12, c->cipher)) {
            c12 = c->cipher;
        } else {
            c13 = c->cipher;
        }
    }
    if (versions(c, ktls, &min, &max) < 0) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_NO_TICKET |
                                 (ktls ? SSL_OP_ENABLE_KTLS : 0));
    if (!ktls) {
        SSL_CTX_clear_options(ctx, SSL_OP_ENABLE_KTLS);
    }
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    if (!SSL_CTX_set_min_proto_version(ctx, min) ||
        !SSL_CTX_set_max_proto_version(ctx, max) ||
        !SSL_CTX_set_cipher_list(ctx, c12) ||
        !SSL_CTX_set_ciphersuites(ctx, c13) ||
        !SSL_CTX_set1_groups_list(ctx, tls_policy.groups) ||
        !SSL_CTX_set1_sigalgs_list(ctx, tls_policy.sigalgs)) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (c->cert && (SSL_CTX_use_certificate_chain_file(ctx, c->cert) != 1 ||
                    SSL_CTX_use_PrivateKey_file(ctx, c->key, SSL_FILETYPE_PEM) !=
                        1 ||
                    SSL_CTX_check_private_key(ctx) != 1)) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (c->ca && SSL_CTX_load_verify_locations(ctx, c->ca, NULL) != 1) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, c->insecure ? SSL_VERIFY_NONE
                                        : SSL_VERIFY_PEER |
                                              SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       c->insecure ? NULL : verify_cb);
    return ctx;
}

static void peer_address(int fd, char *buf, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;

    ss.ss_family = AF_UNSPEC;   /* a pipe or a file has no peer address */
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *in = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
            port = ntohs(in->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
            port = ntohs(in6->sin6_port);
        }
    }
    snprintf(buf, len, ss.ss_family == AF_INET6 ? "[%s]:%d" : "%s:%d", host,
             port);
}

/* Ask the peer's certificate for our expected name or address. */
static int expect_name(SSL *ssl, const char *name)
{
    X509_VERIFY_PARAM *p = SSL_get0_param(ssl);
    struct in6_addr a6;
    struct in_addr a4;

    if (inet_pton(AF_INET, name, &a4) == 1 ||
        inet_pton(AF_INET6, name, &a6) == 1) {
        return X509_VERIFY_PARAM_set1_ip_asc(p, name);
    }
    SSL_set_tlsext_host_name(ssl, name);
    return X509_VERIFY_PARAM_set1_host(p, name, 0);
}

static int not_pinned(const char *peer, X509 *cert)
{
    char hex[100] = "none", subject[256] = "no certificate";

    if (cert) {
        fingerprint_hex(cert, hex, sizeof(hex));
        X509_NAME_oneline(X509_get_subject_name(cert), subject,
                          sizeof(subject));
    }
    return err_set(XMIG_ERR_PROTOCOL, 0, "TLS peer %s (%s) is not pinned: "
                   "its certificate's SHA-256 is %s", peer, subject, hex);
}

static int handshake_failed(struct tls_conn *tc, const char *peer)
{
    char why[256];
    long v = SSL_get_verify_result(tc->ssl);
    int reason = ERR_GET_REASON(ERR_peek_error());
    /* What OpenSSL says when the first octets are not a TLS record. */
    int plain = reason == SSL_R_WRONG_VERSION_NUMBER ||
                reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
                reason == SSL_R_UNKNOWN_PROTOCOL ||
                reason == SSL_R_HTTP_REQUEST;

    ssl_error_text(why, sizeof(why));
    if (plain) {
        return err_set(XMIG_ERR_PROTOCOL, 0, "TLS handshake with %s failed: "
                       "the peer does not speak TLS (%s): is it running with "
                       "--tls=none?", peer, why);
    }
    if (v == X509_V_ERR_APPLICATION_VERIFICATION) {
        return err_set(XMIG_ERR_PROTOCOL, 0, "TLS peer %s (%s) is not "
                       "pinned: its certificate's SHA-256 is %s", peer,
                       unpinned_subject, unpinned_hex);
    }
    if (v != X509_V_OK) {
        return err_set(XMIG_ERR_PROTOCOL, 0, "TLS handshake with %s failed: "
                       "peer certificate rejected: %s", peer,
                       X509_verify_cert_error_string(v));
    }
    return err_set(XMIG_ERR_PROTOCOL, 0, "TLS handshake with %s failed: %s",
                   peer, why);
}

/* After the handshake: pins, and what the kernel took over. */
static int settle(struct tls_conn *tc, const struct xmig_tls_config *c,
                  int want_ktls, const char *probe_why)
{
    X509 *peer = SSL_get1_peer_certificate(tc->ssl);
    struct xmig_tls_info *in = &tc->info;

    if (peer) {
        X509_NAME_oneline(X509_get_subject_name(peer), in->peer_subject,
                          sizeof(in->peer_subject));
    }
    if (!c->insecure && c->npins && (!peer || !pinned(c, peer))) {
        not_pinned(in->peer, peer);
        X509_free(peer);
        return -1;
    }
    X509_free(peer);
    snprintf(in->version, sizeof(in->version), "%s", SSL_get_version(tc->ssl));
    snprintf(in->cipher, sizeof(in->cipher), "%s",
             SSL_CIPHER_get_name(SSL_get_current_cipher(tc->ssl)));
    in->ktls_tx = want_ktls && BIO_get_ktls_send(SSL_get_wbio(tc->ssl));
    in->ktls_rx = want_ktls && BIO_get_ktls_recv(SSL_get_rbio(tc->ssl));
    if (in->ktls_tx && in->ktls_rx) {
        in->mode = XMIG_TLS_KTLS;
        return 0;
    }
    in->mode = XMIG_TLS_USERSPACE;
    if (probe_why) {
        snprintf(in->fallback, sizeof(in->fallback), "%s", probe_why);
    } else if (c->mode != XMIG_TLS_USERSPACE) {
        snprintf(in->fallback, sizeof(in->fallback),
                 "OpenSSL did not hand %s %s to the kernel (%s%s)",
                 in->version, in->cipher, in->ktls_tx ? "" : "transmit",
                 in->ktls_rx ? "" : in->ktls_tx ? "receive" : " and receive");
    }
    if (c->mode == XMIG_TLS_KTLS) {
        return err_set(XMIG_ERR_UNSUPPORTED, 0, "--tls=ktls: kernel TLS is "
                       "not available with %s: %s", in->peer, in->fallback);
    }
    return 0;
}

/* The socket stays non-blocking: every wait goes through transport_wait,
 * with the deadline, the no-progress limit and the cancel flag. */
static int set_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* A TLS client sends its ClientHello at once.  A peer that says nothing
 * is most likely a plain sender waiting for the receiver's banner (both
 * would wait for ever): tell it in plain text, in the refusal line xmig
 * senders read (docs/control-protocol.md), and hang up. */
static int first_byte(struct xmig_transport *t, const struct xmig_tls_config *c)
{
    double deadline = t->deadline_ms;
    uint32_t deadline_len = t->deadline_len_ms;
    uint32_t ms = c->handshake_ms && c->handshake_ms < FIRST_BYTE_MS
                      ? c->handshake_ms
                      : FIRST_BYTE_MS;
    char line[300];
    int n;

    transport_deadline(t, ms);
    if (transport_wait(t, t->fd, POLLIN) == 0) {
        t->deadline_ms = deadline;
        t->deadline_len_ms = deadline_len;
        return 0;
    }
    t->deadline_ms = deadline;
    t->deadline_len_ms = deadline_len;
    if (xmig_error_errno() != ETIMEDOUT) {
        return -1;
    }
    n = snprintf(line, sizeof(line), "xmig-refused unsupported: this "
                 "receiver speaks TLS, and %s sent no TLS ClientHello within "
                 "%.1f s (is the sender using --tls=none?)\n", t->peer,
                 ms / 1e3);
    (void)!send(t->fd, line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
    return err_set(XMIG_ERR_PROTOCOL, 0, "TLS handshake with %s: it sent "
                   "nothing for %.1f s: not a TLS client (a sender with "
                   "--tls=none?)", t->peer, ms / 1e3);
}

static struct xmig_transport *tls_handshake(int fd,
                                            const struct xmig_tls_config *c,
                                            int server)
{
    struct xmig_transport *t = NULL;
    struct tls_conn *tc = NULL;
    char probe_why[160] = "", peer[128];
    int want_ktls = c->mode == XMIG_TLS_AUTO || c->mode == XMIG_TLS_KTLS;
    int rc;

    peer_address(fd, peer, sizeof(peer));
    if (c->mode == XMIG_TLS_NONE) {
        t = xmig_transport_fd(fd, 1);
        if (!t) {
            close(fd);
            return NULL;
        }
        t->io_timeout_ms = c->io_ms;
        t->cancel = c->cancel;
        return t;
    }
    if (server && !c->cert) {
        err_set(XMIG_ERR_USAGE, 0, "TLS with %s: this end is the server and "
                "has no certificate to show (--cert and --key)", peer);
        goto fail;
    }
    if (!c->insecure && !c->ca && !c->npins) {
        err_set(XMIG_ERR_USAGE, 0, "TLS with %s: no CA bundle and no pins to "
                "check the peer against (--insecure turns checking off)",
                peer);
        goto fail;
    }
    if (want_ktls && !ktls_probe(probe_why, sizeof(probe_why))) {
        if (c->mode == XMIG_TLS_KTLS) {
            err_set(XMIG_ERR_UNSUPPORTED, 0, "--tls=ktls: kernel TLS is not "
                    "available: %s", probe_why);
            goto fail;
        }
        want_ktls = 0;
    } else {
        probe_why[0] = '\0';
    }
    pthread_once(&config_index_once, config_index_make);
    tc = calloc(1, sizeof(*tc));
    t = transport_new(&tls_ops);
    if (!tc || !t) {
        err_set(XMIG_ERR_NOMEM, ENOMEM, "TLS transport");
        goto fail;
    }
    snprintf(tc->info.peer, sizeof(tc->info.peer), "%s", peer);
    /* Until it succeeds, t only lends its limits to the waits below: the
     * descriptor is closed at fail. */
    t->fd = fd;
    t->sock = 3;
    t->cancel = c->cancel;
    snprintf(t->peer, sizeof(t->peer), "%s", peer);
    transport_phase(t, "doing the TLS handshake");
    if (set_nonblocking(fd) < 0) {
        err_set(XMIG_ERR_IO, errno, "TLS with %s", peer);
        goto fail;
    }
    err_clear();
    tc->ctx = make_ctx(c, server, want_ktls);
    if (!tc->ctx && xmig_error_category() == XMIG_ERR_USAGE) {
        err_prefix("TLS setup for %s: ", peer);
        goto fail;
    }
    tc->ssl = tc->ctx ? SSL_new(tc->ctx) : NULL;
    if (!tc->ssl || !SSL_set_fd(tc->ssl, fd) ||
        !SSL_set_ex_data(tc->ssl, config_index, (void *)c) ||
        (c->peer_name && !c->insecure && !expect_name(tc->ssl, c->peer_name))) {
        char why[256];
        ssl_error_text(why, sizeof(why));
        err_set(XMIG_ERR_USAGE, 0, "TLS setup for %s: %s (certificate, key "
                "or CA file?)", peer, why);
        goto fail;
    }
    if (c->insecure) {
        log_msg(XMIG_LOG_WARNING, "TLS peer %s is NOT authenticated "
                "(--insecure)", peer);
    }
    if (!want_ktls) {
        /* Userspace TLS for certain: one read(2) for many records, not a
         * 5-octet header and then the body of each 16 KiB record (32,986
         * reads for 256 MiB; docs/performance.md).  Not with kernel TLS
         * wanted: octets OpenSSL has read ahead would have to go to the
         * kernel, which OpenSSL then declines. */
        SSL_set_read_ahead(tc->ssl, 1);
        SSL_set_default_read_buffer_len(tc->ssl, TLS_READ_AHEAD);
    }
    transport_deadline(t, c->handshake_ms);
    if (server && first_byte(t, c) < 0) {
        goto fail;
    }
    for (;;) {
        int e;
        ERR_clear_error();
        errno = 0;
        rc = server ? SSL_accept(tc->ssl) : SSL_connect(tc->ssl);
        if (rc == 1) {
            break;
        }
        e = SSL_get_error(tc->ssl, rc);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
            handshake_failed(tc, peer);
            goto fail;
        }
        if (transport_wait(t, fd, e == SSL_ERROR_WANT_READ ? POLLIN
                                                           : POLLOUT) < 0) {
            goto fail;
        }
    }
    t->deadline_ms = 0;
    t->phase[0] = '\0';
    t->io_timeout_ms = c->io_ms;
    t->owns_fd = 1;
    t->impl = tc;
    if (settle(tc, c, want_ktls, probe_why[0] ? probe_why : NULL) < 0) {
        xmig_transport_free(t);   /* closes fd */
        return NULL;
    }
    if (tc->info.mode == XMIG_TLS_USERSPACE && c->mode == XMIG_TLS_AUTO) {
        if (tc->info.ktls_tx || tc->info.ktls_rx) {
            log_msg(XMIG_LOG_WARNING, "TLS with %s: kernel TLS for %s only, "
                    "%s in userspace: %s", peer,
                    tc->info.ktls_tx ? "transmit" : "receive",
                    tc->info.ktls_tx ? "receive" : "transmit",
                    tc->info.fallback);
        } else {
            log_msg(XMIG_LOG_WARNING, "TLS with %s in userspace, not kernel "
                    "TLS: %s", peer, tc->info.fallback);
        }
    }
    return t;

fail:
    if (tc) {
        SSL_free(tc->ssl);
        SSL_CTX_free(tc->ctx);
        free(tc);
    }
    free(t);
    close(fd);
    return NULL;
}

struct xmig_transport *xmig_transport_tls_client(int fd,
                                                 const struct xmig_tls_config *c)
{
    return tls_handshake(fd, c, 0);
}

struct xmig_transport *xmig_transport_tls_server(int fd,
                                                 const struct xmig_tls_config *c)
{
    return tls_handshake(fd, c, 1);
}

int xmig_transport_tls_info(const struct xmig_transport *t,
                            struct xmig_tls_info *out)
{
    memset(out, 0, sizeof(*out));
    if (!tls_conn_of(t)) {
        out->mode = XMIG_TLS_NONE;
        if (t->fd >= 0) {
            peer_address(t->fd, out->peer, sizeof(out->peer));
        }
        return 0;
    }
    *out = ((const struct tls_conn *)t->impl)->info;
    return 0;
}

/* ---- data path ----------------------------------------------------- */

static int over_budget(uint64_t done, size_t more)
{
    if (done + more > tls_policy.max_stream_octets) {
        return err_set(XMIG_ERR_LIMIT, 0, "TLS connection would carry more "
                       "than %llu GiB one way, beyond the AES-GCM usage "
                       "limit xmig keeps: use a new connection",
                       (unsigned long long)(tls_policy.max_stream_octets >>
                                            30));
    }
    return 0;
}

static ssize_t tls_read(struct xmig_transport *t, void *buf, size_t len)
{
    struct tls_conn *tc = t->impl;
    size_t n = 0;
    char why[256];

    if (over_budget(t->bytes_in, 0) < 0) {
        return -1;
    }
    for (;;) {
        int e;
        ERR_clear_error();
        /* Records OpenSSL holds already (SSL_pending) come out here
         * without a wait: poll only once it asks for more. */
        if (SSL_read_ex(tc->ssl, buf, len, &n) == 1) {
            t->bytes_in += n;
            return (ssize_t)n;
        }
        e = SSL_get_error(tc->ssl, 0);
        switch (e) {
        case SSL_ERROR_ZERO_RETURN:
            return 0;   /* close_notify: a clean end */
        case SSL_ERROR_WANT_READ:
        case SSL_ERROR_WANT_WRITE:
            if (transport_wait(t, t->fd, e == SSL_ERROR_WANT_READ ? POLLIN
                                                                  : POLLOUT) <
                0) {
                return -1;
            }
            continue;
        default:
            ssl_error_text(why, sizeof(why));
            return err_set(XMIG_ERR_CLOSED, 0, "TLS read from %s: %s",
                           tc->info.peer, why);
        }
    }
}

static int ssl_write_all(struct xmig_transport *t, const void *p, size_t len)
{
    struct tls_conn *tc = t->impl;
    size_t done;
    char why[256];

    if (over_budget(t->bytes_out, len) < 0) {
        return -1;
    }
    while (len) {
        int e;
        ERR_clear_error();
        if (SSL_write_ex(tc->ssl, p, len, &done) == 1) {
            break;   /* without partial writes: all of it */
        }
        e = SSL_get_error(tc->ssl, 0);
        if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
            /* Retried with the same buffer and length, as OpenSSL wants. */
            if (transport_wait(t, t->fd, e == SSL_ERROR_WANT_READ ? POLLIN
                                                                  : POLLOUT) <
                0) {
                return -1;
            }
            continue;
        }
        ssl_error_text(why, sizeof(why));
        return err_set(XMIG_ERR_IO, 0, "TLS write to %s: %s", tc->info.peer,
                       why);
    }
    t->bytes_out += len;
    return 0;
}

static int flush_stage(struct xmig_transport *t)
{
    struct tls_conn *tc = t->impl;
    int rc = ssl_write_all(t, tc->stage, tc->staged);

    tc->staged = 0;
    return rc;
}

/* With the kernel's record layer, the gather list goes to the socket as it
 * is (the kernel fills records across entries).  In userspace, small
 * entries are staged so that headers do not each become a TLS record. */
static int tls_writev(struct xmig_transport *t, const struct iovec *iov,
                      int iovcnt)
{
    struct tls_conn *tc = t->impl;

    if (tc->info.ktls_tx) {
        size_t total = 0;
        for (int i = 0; i < iovcnt; i++) {
            total += iov[i].iov_len;
        }
        if (over_budget(t->bytes_out, total) < 0) {
            return -1;
        }
        if (transport_writev_fd(t, t->fd, iov, iovcnt) < 0) {
            if (xmig_error_errno() == ETIMEDOUT ||
                xmig_error_errno() == ECANCELED) {
                return -1;   /* the wait's message says it all */
            }
            return err_set(XMIG_ERR_IO, xmig_error_errno(), "TLS write to %s "
                           "(kernel TLS)", tc->info.peer);
        }
        t->bytes_out += total;
        return 0;
    }
    for (int i = 0; i < iovcnt; i++) {
        const uint8_t *p = iov[i].iov_base;
        size_t n = iov[i].iov_len;
        if (tc->staged + n <= STAGE_SIZE) {
            memcpy(tc->stage + tc->staged, p, n);
            tc->staged += n;
            continue;
        }
        if (flush_stage(t) < 0 || ssl_write_all(t, p, n) < 0) {
            return -1;
        }
    }
    return flush_stage(t);
}

static int tls_sendfile(struct xmig_transport *t, int fd, int64_t off,
                        size_t len)
{
    struct tls_conn *tc = t->impl;

    if (!tc->info.ktls_tx) {
        /* No kernel record layer: encrypting needs the octets here. */
        static _Thread_local uint8_t buf[256 << 10];
        while (len > 0) {
            ssize_t n = pread(fd, buf, len < sizeof(buf) ? len : sizeof(buf),
                              (off_t)off);
            if (n <= 0) {
                return err_set(XMIG_ERR_IO, n < 0 ? errno : 0,
                               "reading the file to send");
            }
            if (ssl_write_all(t, buf, (size_t)n) < 0) {
                return -1;
            }
            off += n;
            len -= (size_t)n;
        }
        return 0;
    }
    if (over_budget(t->bytes_out, len) < 0) {
        return -1;
    }
    while (len > 0) {
        ossl_ssize_t n;
        ERR_clear_error();
        n = SSL_sendfile(tc->ssl, fd, (off_t)off, len, 0);
        if (n <= 0 && SSL_get_error(tc->ssl, (int)n) == SSL_ERROR_WANT_WRITE) {
            if (transport_wait(t, t->fd, POLLOUT) < 0) {
                return -1;
            }
            continue;
        }
        if (n <= 0) {
            char why[256];
            ssl_error_text(why, sizeof(why));
            return err_set(XMIG_ERR_IO, 0, "TLS sendfile to %s: %s",
                           tc->info.peer, why);
        }
        off += n;
        len -= (size_t)n;
        t->bytes_out += (uint64_t)n;
    }
    return 0;
}

static int tls_finish(struct xmig_transport *t)
{
    struct tls_conn *tc = t->impl;
    int rc;

    for (;;) {
        int e;
        ERR_clear_error();
        rc = SSL_shutdown(tc->ssl);
        if (rc >= 0) {
            break;
        }
        e = SSL_get_error(tc->ssl, rc);
        if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ) {
            break;
        }
        if (transport_wait(t, t->fd, e == SSL_ERROR_WANT_READ ? POLLIN
                                                              : POLLOUT) < 0) {
            return -1;
        }
    }
    if (rc < 0) {
        char why[256];
        ssl_error_text(why, sizeof(why));
        return err_set(XMIG_ERR_IO, 0, "TLS close_notify to %s: %s",
                       tc->info.peer, why);
    }
    shutdown(t->fd, SHUT_WR);
    tc->finished = 1;
    return 0;
}

/* Before closing: read what the peer still sends (TLS 1.3 session tickets,
 * its close_notify), for at most DRAIN_MS.  Closing a socket with unread
 * data makes the kernel send a reset, and a reset throws away what the
 * peer had not read yet: the end of our stream. */
#define DRAIN_MS 2000

static void drain(struct tls_conn *tc, int fd)
{
    struct pollfd pfd = { fd, POLLIN, 0 };
    char buf[4096];
    size_t n;
    int waited = 0;

    while (waited < DRAIN_MS && poll(&pfd, 1, 100) >= 0) {
        if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR))) {
            waited += 100;
            continue;
        }
        ERR_clear_error();
        if (SSL_read_ex(tc->ssl, buf, sizeof(buf), &n) != 1 &&
            SSL_get_error(tc->ssl, 0) != SSL_ERROR_WANT_READ) {
            break;   /* close_notify, EOF or an error: nothing more comes */
        }
    }
    ERR_clear_error();
}

static void tls_destroy(struct xmig_transport *t)
{
    struct tls_conn *tc = t->impl;

    if (tc && tc->finished && t->fd >= 0) {
        drain(tc, t->fd);
    }
    if (tc) {
        SSL_free(tc->ssl);
        SSL_CTX_free(tc->ctx);
        OPENSSL_cleanse(tc->stage, sizeof(tc->stage));
        free(tc);
    }
    if (t->owns_fd && t->fd >= 0) {
        close(t->fd);
    }
}

const struct transport_ops tls_ops = {
    "tls", tls_read, NULL, tls_writev, tls_destroy, tls_sendfile, tls_finish,
};

/* ---- checking a configuration before use --------------------------- */

/* The OpenSSL reason for the last failure, for a message. */
static const char *ssl_reason(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;

    return r ? r : "unknown reason";
}

/* A PEM certificate file whose first certificate is in its validity
 * period; what = "certificate" or "CA". */
static int check_cert_file(const char *path, const char *what)
{
    FILE *f = fopen(path, "r");
    X509 *x;
    int rc = 0;

    if (!f) {
        return err_set(XMIG_ERR_USAGE, errno, "TLS %s %s", what, path);
    }
    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!x) {
        rc = err_set(XMIG_ERR_USAGE, 0, "TLS %s %s: no PEM certificate in "
                     "it (%s)", what, path, ssl_reason());
    } else if (X509_cmp_current_time(X509_get0_notAfter(x)) <= 0) {
        rc = err_set(XMIG_ERR_USAGE, 0, "TLS %s %s has expired; make a new "
                     "one (xmig certs)", what, path);
    } else if (X509_cmp_current_time(X509_get0_notBefore(x)) >= 0) {
        rc = err_set(XMIG_ERR_USAGE, 0, "TLS %s %s is not valid yet (check "
                     "this host's clock)", what, path);
    }
    X509_free(x);
    ERR_clear_error();
    return rc;
}

int xmig_tls_config_check(const struct xmig_tls_config *c)
{
    SSL_CTX *ctx;

    if (c->mode == XMIG_TLS_NONE) {
        return 0;
    }
    if (!c->cert || !c->key) {
        return err_set(XMIG_ERR_USAGE, 0, "TLS needs this host's certificate "
                       "and key (cert = and key = in xmigd.conf; xmig certs "
                       "makes them)");
    }
    if (!c->ca && c->npins == 0 && !c->insecure) {
        return err_set(XMIG_ERR_USAGE, 0, "TLS needs a way to trust peers: a "
                       "CA (ca =) or certificate pins (pin =)");
    }
    if (check_cert_file(c->cert, "certificate") < 0 ||
        (c->ca && check_cert_file(c->ca, "CA") < 0)) {
        return -1;
    }
    ctx = SSL_CTX_new(TLS_method());
    if (!ctx) {
        return err_set(XMIG_ERR_NOMEM, 0, "TLS: %s", ssl_reason());
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, c->cert) != 1) {
        err_set(XMIG_ERR_USAGE, 0, "TLS certificate %s: %s", c->cert,
                ssl_reason());
    } else if (SSL_CTX_use_PrivateKey_file(ctx, c->key, SSL_FILETYPE_PEM) !=
               1) {
        if (ERR_GET_REASON(ERR_peek_last_error()) ==
            X509_R_KEY_VALUES_MISMATCH) {
            err_set(XMIG_ERR_USAGE, 0, "TLS key %s does not belong to the "
                    "certificate %s", c->key, c->cert);
        } else {
            err_set(XMIG_ERR_USAGE, errno, "TLS key %s: %s%s", c->key,
                    ssl_reason(),
                    access(c->key, R_OK) != 0 ? " (cannot read the file)"
                                              : "");
        }
    } else if (SSL_CTX_check_private_key(ctx) != 1) {
        err_set(XMIG_ERR_USAGE, 0, "TLS key %s does not belong to the "
                "certificate %s", c->key, c->cert);
    } else if (c->ca && SSL_CTX_load_verify_locations(ctx, c->ca, NULL) != 1) {
        err_set(XMIG_ERR_USAGE, 0, "TLS CA %s: %s", c->ca, ssl_reason());
    } else {
        SSL_CTX_free(ctx);
        ERR_clear_error();
        return 0;
    }
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return -1;
}
