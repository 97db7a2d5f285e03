/* The HTTPS admission webhook: one libevent loop per worker thread, each accepting on its own
 * SO_REUSEPORT socket, evhttp over bufferevent_openssl, and a graceful drain on shutdown. */
#ifndef PODPROF_INJECTOR_SERVER_H
#define PODPROF_INJECTOR_SERVER_H

#include "config.h"

/* Runs until SIGTERM/SIGINT, then drains. Returns the exit code (0, or 2 on a start-up error,
 * logged as one line). */
int inj_server_run(const inj_config *cfg);

#endif
