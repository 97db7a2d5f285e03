/* `podprof-injector certs`: a CA and a serving certificate for the webhook Service, written as the
 * three keys of a Kubernetes TLS Secret. ECDSA P-256 keeps TLS handshakes cheap. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "commands.h"

static int fail(const char *msg)
{
    unsigned long e = ERR_get_error();
    fprintf(stderr, "podprof-injector certs: %s%s%s\n", msg, e ? ": " : "",
            e ? ERR_reason_error_string(e) : "");
    return 2;
}

static bool add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return false;
    bool ok = X509_add_ext(cert, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
}

static X509 *make_cert(EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, const char *cn,
                       const char *san, int days)
{
    X509 *cert = X509_new();
    BIGNUM *serial = BN_new();
    bool ok = cert && serial && X509_set_version(cert, 2) && BN_rand(serial, 127, -1, 0) &&
              BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert)) &&
              /* A little slack for clocks behind ours. */
              X509_gmtime_adj(X509_getm_notBefore(cert), -300) &&
              X509_gmtime_adj(X509_getm_notAfter(cert), (long)days * 86400) &&
              X509_set_pubkey(cert, key);
    X509_NAME *name = X509_get_subject_name(cert);
    ok = ok && X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"podprof",
                                          -1, -1, 0);
    ok = ok &&
         X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509 *iss = issuer ? issuer : cert;
    ok = ok && X509_set_issuer_name(cert, X509_get_subject_name(iss));
    if (!issuer) {
        ok = ok && add_ext(cert, iss, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
             add_ext(cert, iss, NID_key_usage, "critical,keyCertSign,cRLSign") &&
             add_ext(cert, iss, NID_subject_key_identifier, "hash");
    } else {
        ok = ok && add_ext(cert, iss, NID_basic_constraints, "critical,CA:FALSE") &&
             add_ext(cert, iss, NID_key_usage, "critical,digitalSignature") &&
             add_ext(cert, iss, NID_ext_key_usage, "serverAuth") &&
             add_ext(cert, iss, NID_subject_alt_name, san) &&
             add_ext(cert, iss, NID_subject_key_identifier, "hash") &&
             add_ext(cert, iss, NID_authority_key_identifier, "keyid:always");
    }
    ok = ok && X509_sign(cert, issuer_key ? issuer_key : key, EVP_sha256()) > 0;
    BN_free(serial);
    if (!ok) {
        X509_free(cert);
        return NULL;
    }
    return cert;
}

/* Writes beside the target and renames, so a server watching the file never reads half of it. */
static bool write_pem(const char *dir, const char *name, X509 *cert, EVP_PKEY *key)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    /* Created with its final mode, never through a link: the name is predictable, and the key
     * must not exist for a moment readable by others, nor be written wherever a symlink points.
     * A leftover at the name (a crashed earlier run, or a planted link) is removed once: unlink
     * removes a link, not its target. */
    int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    mode_t mode = key ? 0600 : 0644;
    int fd = open(tmp, flags, mode);
    if (fd < 0 && errno == EEXIST && unlink(tmp) == 0)
        fd = open(tmp, flags, mode);
    if (fd < 0)
        return false;
    if (fchmod(fd, mode) != 0) { /* the umask may have taken bits a certificate needs */
        close(fd);
        unlink(tmp);
        return false;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(tmp);
        return false;
    }
    bool ok = cert ? PEM_write_X509(f, cert) == 1
                   : PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1;
    ok = (fclose(f) == 0) && ok;
    if (ok && rename(tmp, path) == 0)
        return true;
    unlink(tmp);
    return false;
}

static bool dns_label(const char *s)
{
    size_t n = strlen(s);
    if (!n || n > 63 || s[0] == '-' || s[n - 1] == '-')
        return false;
    for (const char *c = s; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'))
            return false;
    return true;
}

int inj_cmd_certs(int argc, char **argv)
{
    const char *service = NULL, *ns = NULL, *out = NULL;
    int days = 365;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            printf("usage: podprof-injector certs --service NAME --namespace NS --out DIR "
                   "[--days N]\n\nWrites DIR/ca.crt, DIR/tls.crt and DIR/tls.key: a CA and a "
                   "serving certificate (ECDSA P-256)\nvalid for NAME, NAME.NS, NAME.NS.svc and "
                   "NAME.NS.svc.cluster.local, for N days (365).\n");
            return 0;
        }
        if (!v) {
            fprintf(stderr, "podprof-injector certs: %s needs a value\n", a);
            return 2;
        }
        if (!strcmp(a, "--service"))
            service = v;
        else if (!strcmp(a, "--namespace"))
            ns = v;
        else if (!strcmp(a, "--out"))
            out = v;
        else if (!strcmp(a, "--days")) {
            char *end = NULL;
            long d = strtol(v, &end, 10);
            if (!end || *end || d < 1 || d > 3650) {
                fprintf(stderr, "podprof-injector certs: --days must be 1..3650\n");
                return 2;
            }
            days = (int)d;
        } else {
            fprintf(stderr, "podprof-injector certs: unknown argument '%s'\n", a);
            return 2;
        }
        i++;
    }
    if (!service || !ns || !out) {
        fprintf(stderr, "podprof-injector certs: --service, --namespace and --out are required\n");
        return 2;
    }
    if (!dns_label(service) || !dns_label(ns)) {
        fprintf(stderr, "podprof-injector certs: service and namespace must be DNS labels\n");
        return 2;
    }
    if (mkdir(out, 0755) < 0 && errno != EEXIST) {
        fprintf(stderr, "podprof-injector certs: %s: %s\n", out, strerror(errno));
        return 2;
    }
    char cn[300], san[1200];
    snprintf(cn, sizeof cn, "%s.%s.svc", service, ns);
    snprintf(san, sizeof san, "DNS:%s,DNS:%s.%s,DNS:%s.%s.svc,DNS:%s.%s.svc.cluster.local", service,
             service, ns, service, ns, service, ns);

    int rc = 0;
    EVP_PKEY *ca_key = EVP_EC_gen("P-256");
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *ca = ca_key ? make_cert(ca_key, NULL, NULL, "podprof-injector-ca", NULL, days) : NULL;
    X509 *leaf = ca && key ? make_cert(key, ca, ca_key, cn, san, days) : NULL;
    if (!leaf)
        rc = fail("could not create the certificates");
    else if (!write_pem(out, "ca.crt", ca, NULL) || !write_pem(out, "tls.key", NULL, key) ||
             !write_pem(out, "tls.crt", leaf, NULL))
        rc = fail("could not write the files");
    else
        printf("wrote %s/ca.crt, %s/tls.crt, %s/tls.key (SANs %s)\n", out, out, out, san + 4);
    X509_free(leaf);
    X509_free(ca);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key);
    return rc;
}
