/* The server's TLS context: TLS 1.2+ with forward-secret AEAD ciphers only, built from PEM files,
 * and rebuilt when those files change (new connections get the new context, open ones keep
 * theirs). */
#ifndef PODPROF_INJECTOR_TLS_H
#define PODPROF_INJECTOR_TLS_H

#include <stddef.h>
#include <openssl/ssl.h>

typedef struct inj_tls inj_tls;

inj_tls *inj_tls_new(const char *cert_file, const char *key_file, char *err, size_t errlen);
void inj_tls_free(inj_tls *t);

/* A new server-side SSL from the current context (thread-safe), or NULL. */
SSL *inj_tls_new_ssl(inj_tls *t);

/* Rebuilds the context if either file changed since the last attempt. Returns 1 reloaded,
 * 0 unchanged, -1 changed but unusable (the old context stays; err says why). */
int inj_tls_reload_if_changed(inj_tls *t, char *err, size_t errlen);

/* notAfter of the certificate in use, as Unix time. */
double inj_tls_not_after(inj_tls *t);

#endif
