#include "tls.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/x509.h>

/* Sessions kept for resumption (a resumed session is a reconnect made cheaper, no more). */
#define INJ_TLS_SESSION_CACHE 1024

struct file_id {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
};

struct inj_tls {
    char *cert_file, *key_file;
    pthread_mutex_t lock;
    SSL_CTX *ctx;
    double not_after;
    struct file_id cert_id, key_id; /* state of the last load attempt */
};

static const char cipher_list_tls12[] = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                        "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                        "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

static int file_id_of(const char *path, struct file_id *id)
{
    struct stat st;
    memset(id, 0, sizeof *id);
    if (stat(path, &st) < 0)
        return -1;
    id->dev = st.st_dev;
    id->ino = st.st_ino;
    id->size = st.st_size;
    id->mtime = st.st_mtim;
    return 0;
}

static int same_id(const struct file_id *a, const struct file_id *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static void ssl_err(char *err, size_t errlen, const char *what, const char *file)
{
    unsigned long e = ERR_get_error();
    char reason[200] = "unknown error";
    if (e)
        ERR_error_string_n(e, reason, sizeof reason);
    ERR_clear_error();
    snprintf(err, errlen, "%s %s: %s", what, file, reason);
}

static double asn1_to_unix(const ASN1_TIME *t)
{
    struct tm tm;
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    return (double)timegm(&tm);
}

static SSL_CTX *build_ctx(const char *cert, const char *key, double *not_after, char *err,
                          size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        ssl_err(err, errlen, "creating", "TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_cipher_list(ctx, cipher_list_tls12);
    /* Keep-alive connections are long; session resumption only saves rare reconnects. The
     * cache is bounded (OpenSSL's default holds 20,480 sessions, some MiB). */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    SSL_CTX_sess_set_cache_size(ctx, INJ_TLS_SESSION_CACHE);
    /* An idle connection gives its 16 KiB read and write buffers back: thousands of idle
     * connections then cost their TLS state only. */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        ssl_err(err, errlen, "loading certificate", cert);
    } else if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        ssl_err(err, errlen, "loading key", key);
    } else if (SSL_CTX_check_private_key(ctx) != 1) {
        ssl_err(err, errlen, "key does not match certificate", cert);
    } else {
        *not_after = asn1_to_unix(X509_get0_notAfter(SSL_CTX_get0_certificate(ctx)));
        return ctx;
    }
    SSL_CTX_free(ctx);
    return NULL;
}

inj_tls *inj_tls_new(const char *cert_file, const char *key_file, char *err, size_t errlen)
{
    inj_tls *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    t->cert_file = strdup(cert_file);
    t->key_file = strdup(key_file);
    pthread_mutex_init(&t->lock, NULL);
    file_id_of(cert_file, &t->cert_id);
    file_id_of(key_file, &t->key_id);
    if (t->cert_file && t->key_file)
        t->ctx = build_ctx(cert_file, key_file, &t->not_after, err, errlen);
    if (!t->ctx) {
        inj_tls_free(t);
        return NULL;
    }
    return t;
}

void inj_tls_free(inj_tls *t)
{
    if (!t)
        return;
    SSL_CTX_free(t->ctx);
    pthread_mutex_destroy(&t->lock);
    free(t->cert_file);
    free(t->key_file);
    free(t);
}

SSL *inj_tls_new_ssl(inj_tls *t)
{
    pthread_mutex_lock(&t->lock);
    SSL *ssl = SSL_new(t->ctx);
    pthread_mutex_unlock(&t->lock);
    return ssl;
}

int inj_tls_reload_if_changed(inj_tls *t, char *err, size_t errlen)
{
    struct file_id c, k;
    file_id_of(t->cert_file, &c);
    file_id_of(t->key_file, &k);
    if (same_id(&c, &t->cert_id) && same_id(&k, &t->key_id))
        return 0;
    /* Remember this state whatever happens: a broken pair is retried only when it changes. */
    t->cert_id = c;
    t->key_id = k;
    double not_after = 0;
    SSL_CTX *ctx = build_ctx(t->cert_file, t->key_file, &not_after, err, errlen);
    if (!ctx)
        return -1;
    pthread_mutex_lock(&t->lock);
    SSL_CTX *old = t->ctx;
    t->ctx = ctx;
    t->not_after = not_after;
    pthread_mutex_unlock(&t->lock);
    SSL_CTX_free(old); /* open connections hold their own references */
    return 1;
}

double inj_tls_not_after(inj_tls *t)
{
    pthread_mutex_lock(&t->lock);
    double v = t->not_after;
    pthread_mutex_unlock(&t->lock);
    return v;
}
