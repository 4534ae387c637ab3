/*
 * xmig certs [--dir DIR] [--days N] HOST[=SAN,...]...: the certificates a
 * pool of xmigd hosts needs for mutual TLS.  A CA (made once, kept), and
 * for each host a leaf for both ends of a migration (serverAuth and
 * clientAuth) whose subjectAltName carries the host's name and the
 * addresses given, its key (mode 0600) and its SHA-256 pin.  Every file
 * appears under its final name only when complete.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "xmigd/atomic_file.h"
#include "xmigd/cli.h"

#define NAME_MAX_LEN 63
#define SAN_MAX 1024

static void ssl_error(const char *what)
{
    unsigned long e = ERR_get_error();

    fprintf(stderr, "xmig certs: %s: %s\n", what,
            e ? ERR_reason_error_string(e) : "failed");
    ERR_clear_error();
}

/* Write len octets to path with mode, atomically. */
static int write_file(const char *path, const void *buf, size_t len,
                      mode_t mode)
{
    struct atomic_file af = { .fd = -1 };

    if (atomic_open(&af, path) < 0) {
        fprintf(stderr, "xmig certs: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (fchmod(af.fd, mode) < 0 ||
        write(af.fd, buf, len) != (ssize_t)len || atomic_commit(&af) < 0) {
        fprintf(stderr, "xmig certs: %s: %s\n", path, strerror(errno));
        if (af.fd >= 0) {
            atomic_abort(&af);
        }
        return -1;
    }
    return 0;
}

/* The PEM text a writer puts into a memory BIO, to path. */
static int write_pem(const char *path, mode_t mode, X509 *x, EVP_PKEY *k)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data;
    long len;
    int rc = -1;

    if (b && (x ? PEM_write_bio_X509(b, x)
                : PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL,
                                           NULL)) == 1) {
        len = BIO_get_mem_data(b, &data);
        rc = write_file(path, data, (size_t)len, mode);
    } else {
        ssl_error(path);
    }
    BIO_free(b);
    return rc;
}

static X509 *read_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

    if (f) {
        fclose(f);
    }
    return x;
}

static EVP_PKEY *read_key(const char *path)
{
    FILE *f = fopen(path, "r");
    EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;

    if (f) {
        fclose(f);
    }
    return k;
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *e;
    int ok;

    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    ok = e && X509_add_ext(x, e, -1) == 1;
    X509_EXTENSION_free(e);
    return ok ? 0 : -1;
}

/* A certificate for key, named cn, signed by ca_key (itself when ca is
 * NULL: the CA), with the extensions of a CA or of a leaf with san. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *ca,
                       EVP_PKEY *ca_key, const char *san, int days)
{
    X509 *x = X509_new();
    BIGNUM *serial = BN_new();
    X509 *issuer;
    int ok;

    ok = x && serial && BN_rand(serial, 127, BN_RAND_TOP_ANY,
                                BN_RAND_BOTTOM_ANY) == 1 &&
         BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) &&
         X509_set_version(x, 2) == 1 &&
         X509_gmtime_adj(X509_getm_notBefore(x), -300) &&
         X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400) &&
         X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
                                    MBSTRING_UTF8, (const unsigned char *)cn,
                                    -1, -1, 0) == 1 &&
         X509_set_pubkey(x, key) == 1;
    issuer = ca ? ca : x;
    ok = ok && X509_set_issuer_name(x, X509_get_subject_name(issuer)) == 1;
    if (ok && !ca) {
        ok = add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE") == 0 &&
             add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") ==
                 0 &&
             add_ext(x, x, NID_subject_key_identifier, "hash") == 0;
    } else if (ok) {
        ok = add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE") ==
                 0 &&
             add_ext(x, issuer, NID_key_usage,
                     "critical,digitalSignature,keyEncipherment") == 0 &&
             add_ext(x, issuer, NID_ext_key_usage, "serverAuth,clientAuth") ==
                 0 &&
             add_ext(x, issuer, NID_subject_alt_name, san) == 0 &&
             add_ext(x, issuer, NID_authority_key_identifier, "keyid") == 0;
    }
    ok = ok && X509_sign(x, ca ? ca_key : key, EVP_sha256()) > 0;
    BN_free(serial);
    if (!ok) {
        ssl_error(cn);
        X509_free(x);
        return NULL;
    }
    return x;
}

/* "NAME" or "NAME=ADDR,ADDR,..." -> name and "DNS:NAME,IP:...,DNS:...".
 * An address that parses as IPv4 or IPv6 becomes IP:, others DNS:. */
static int parse_host(const char *spec, char *name, char *san)
{
    const char *eq = strchr(spec, '=');
    size_t n = eq ? (size_t)(eq - spec) : strlen(spec);
    char list[SAN_MAX], *save = NULL, *item;
    int len;

    if (n == 0 || n > NAME_MAX_LEN ||
        strspn(spec, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789-.") < n) {
        fprintf(stderr, "xmig certs: '%.*s': a host name is 1 to %d "
                        "letters, digits, '-' or '.'\n",
                (int)n, spec, NAME_MAX_LEN);
        return -1;
    }
    memcpy(name, spec, n);
    name[n] = '\0';
    len = snprintf(san, SAN_MAX, "DNS:%s", name);
    snprintf(list, sizeof(list), "%s", eq ? eq + 1 : "");
    for (item = strtok_r(list, ",", &save); item;
         item = strtok_r(NULL, ",", &save)) {
        unsigned char buf[16];
        int ip = inet_pton(AF_INET, item, buf) == 1 ||
                 inet_pton(AF_INET6, item, buf) == 1;
        if (!ip && strspn(item, "abcdefghijklmnopqrstuvwxyz"
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.*") !=
                       strlen(item)) {
            fprintf(stderr, "xmig certs: %s: '%s' is neither an address nor "
                            "a host name\n", name, item);
            return -1;
        }
        len += snprintf(san + len, SAN_MAX - (size_t)len, ",%s:%s",
                        ip ? "IP" : "DNS", item);
        if (len >= SAN_MAX) {
            fprintf(stderr, "xmig certs: %s: too many names\n", name);
            return -1;
        }
    }
    return 0;
}

/* DIR/ca.pem and its key: loaded when there, made (and written) when not. */
static int load_or_make_ca(const char *dir, int days, X509 **ca,
                           EVP_PKEY **key)
{
    char cp[4096], kp[4096];

    snprintf(cp, sizeof(cp), "%s/ca.pem", dir);
    snprintf(kp, sizeof(kp), "%s/ca-key.pem", dir);
    if (access(cp, F_OK) == 0) {
        *ca = read_cert(cp);
        *key = read_key(kp);
        if (!*ca || !*key || X509_check_private_key(*ca, *key) != 1) {
            fprintf(stderr, "xmig certs: %s with %s: not a CA and its key "
                            "(remove both to make a new CA)\n", cp, kp);
            return -1;
        }
        printf("xmig certs: using the CA in %s\n", cp);
        return 0;
    }
    *key = EVP_EC_gen("P-256");
    *ca = *key ? make_cert(*key, "xmig CA", NULL, NULL, NULL, days) : NULL;
    if (!*ca || write_pem(kp, 0600, NULL, *key) < 0 ||
        write_pem(cp, 0644, *ca, NULL) < 0) {
        return -1;
    }
    printf("xmig certs: made a CA: %s (its key %s stays here: keep it "
           "safe, off the hosts)\n", cp, kp);
    return 0;
}

static int make_host(const char *dir, const char *spec, X509 *ca,
                     EVP_PKEY *ca_key, int days)
{
    char name[NAME_MAX_LEN + 1], san[SAN_MAX], path[4096], pin[200];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_PKEY *key = NULL;
    X509 *x = NULL;
    int rc = -1, n = 0;

    if (parse_host(spec, name, san) < 0) {
        return -1;
    }
    key = EVP_EC_gen("P-256");
    x = key ? make_cert(key, name, ca, ca_key, san, days) : NULL;
    if (!x || X509_digest(x, EVP_sha256(), md, &mdlen) != 1) {
        goto out;
    }
    for (unsigned int i = 0; i < mdlen; i++) {
        n += snprintf(pin + n, sizeof(pin) - (size_t)n, "%s%02X",
                      i ? ":" : "", md[i]);
    }
    pin[n++] = '\n';
    snprintf(path, sizeof(path), "%s/%s-key.pem", dir, name);
    if (write_pem(path, 0600, NULL, key) < 0) {
        goto out;
    }
    snprintf(path, sizeof(path), "%s/%s.pem", dir, name);
    if (write_pem(path, 0644, x, NULL) < 0) {
        goto out;
    }
    snprintf(path, sizeof(path), "%s/%s.sha256", dir, name);
    if (write_file(path, pin, (size_t)n, 0644) < 0) {
        goto out;
    }
    printf("xmig certs: %s: %s/%s.pem (%s), key %s/%s-key.pem, pin %.*s\n",
           name, dir, name, san, dir, name, n - 1, pin);
    rc = 0;
out:
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}

static void certs_help(FILE *f)
{
    fprintf(f,
            "usage: xmig certs [--dir DIR] [--days N] HOST[=ADDR,...]...\n"
            "  Make the certificates for mutual TLS between xmigd hosts: a\n"
            "  CA (DIR/ca.pem, made once and kept) and for each HOST a\n"
            "  certificate naming it and the addresses given (DNS or IP),\n"
            "  for both ends of a migration, its key and its SHA-256 pin.\n"
            "  --dir DIR   where the files go (default ./xmig-pki)\n"
            "  --days N    validity of new certificates (default 825)\n"
            "  Then on each host, in /etc/xmig/xmigd.conf:\n"
            "    cert = /etc/xmig/HOST.pem\n"
            "    key = /etc/xmig/HOST-key.pem\n"
            "    ca = /etc/xmig/ca.pem\n");
}

int certs_main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "dir", required_argument, NULL, 'd' },
        { "days", required_argument, NULL, 'n' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *dir = "xmig-pki";
    EVP_PKEY *ca_key = NULL;
    X509 *ca = NULL;
    long days = 825;
    char *end;
    int opt, rc = 0;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'd':
            dir = optarg;
            break;
        case 'n':
            errno = 0;
            days = strtol(optarg, &end, 10);
            if (errno || *end || end == optarg || days < 1 || days > 36500) {
                fprintf(stderr, "xmig certs: --days '%s': give a whole "
                                "number of days from 1 to 36500\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'h':
            certs_help(stdout);
            return 0;
        default:
            certs_help(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind == argc) {
        certs_help(stderr);
        return EXIT_USAGE;
    }
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        fprintf(stderr, "xmig certs: %s: %s\n", dir, strerror(errno));
        return EXIT_INVALID;
    }
    if (load_or_make_ca(dir, (int)days * 4, &ca, &ca_key) < 0) {
        rc = EXIT_INVALID;
    }
    for (int i = optind; rc == 0 && i < argc; i++) {
        if (make_host(dir, argv[i], ca, ca_key, (int)days) < 0) {
            rc = EXIT_INVALID;
        }
    }
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    return rc;
}
