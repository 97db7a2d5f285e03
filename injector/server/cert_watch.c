/* Certificate rotation without restart: a timer in the main loop rebuilds the TLS context when the
 * files change, counts reloads and publishes the serving certificate's expiry. */
#include "log.h"
#include "metrics.h"
#include "server_internal.h"

void inj_cert_publish_expiry(struct server *s)
{
    inj_metrics_cert_expiry(inj_tls_not_after(s->tls));
}

void inj_cert_check(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct main_ctx *m = arg;
    char err[300] = "";
    int rc = inj_tls_reload_if_changed(m->s->tls, err, sizeof err);
    if (rc == 0)
        return;
    inj_metrics_cert_reload(rc > 0);
    if (rc > 0) {
        inj_cert_publish_expiry(m->s);
        inj_log(PP_LOG_INFO | PP_LOG_ALWAYS, "certificate reloaded" PP_LOG_FIELD("cert") "%s",
                m->s->cfg->tls_cert);
    } else {
        inj_log(
            PP_LOG_ERROR,
            "certificate reload failed; still serving the previous one" PP_LOG_FIELD("error") "%s",
            err);
    }
}
