/* The listening sockets: ADDR:PORT parsed (IPv6 in brackets), one SO_REUSEPORT socket per worker
 * so the kernel spreads connections, and the descriptor limit raised to its hard maximum. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server_internal.h"

static int parse_listen(const char *listen, char *host, size_t hostlen, char *port, size_t portlen)
{
    const char *colon = strrchr(listen, ':');
    if (!colon)
        return -1;
    const char *h = listen;
    size_t hn = (size_t)(colon - listen);
    if (hn >= 2 && h[0] == '[' && h[hn - 1] == ']') {
        h++;
        hn -= 2;
    }
    if (hn >= hostlen || strlen(colon + 1) >= portlen || !colon[1])
        return -1;
    memcpy(host, h, hn);
    host[hn] = '\0';
    strcpy(port, colon + 1);
    return 0;
}

/* Every worker gets its own socket on the same port; the kernel spreads connections. */
int inj_listeners_open(struct server *s, char *err, size_t errlen, int *bound_port)
{
    char host[256], port[16];
    if (parse_listen(s->cfg->listen, host, sizeof host, port, sizeof port) < 0) {
        snprintf(err, errlen, "--listen: '%s' is not ADDR:PORT", s->cfg->listen);
        return -1;
    }
    struct addrinfo hints = {.ai_flags = AI_PASSIVE, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    int rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
    if (rc != 0) {
        snprintf(err, errlen, "--listen %s: %s", s->cfg->listen, gai_strerror(rc));
        return -1;
    }
    for (int i = 0; i < s->n_workers; i++) {
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int one = 1;
        if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0 ||
            /* Inherited by accepted sockets: a response is often two TLS records, and Nagle
             * would hold the second until the client's delayed ACK. */
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0 ||
            bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1024) < 0) {
            snprintf(err, errlen, "--listen %s: %s", s->cfg->listen, strerror(errno));
            if (fd >= 0)
                close(fd);
            freeaddrinfo(ai);
            return -1;
        }
        s->workers[i].fd = fd;
        if (i == 0) {
            /* Port 0: the others must join the port the kernel picked for the first. */
            struct sockaddr_storage ss;
            socklen_t sl = sizeof ss;
            getsockname(fd, (struct sockaddr *)&ss, &sl);
            int p = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                   : ((struct sockaddr_in *)&ss)->sin_port);
            *bound_port = p;
            if (ai->ai_family == AF_INET6)
                ((struct sockaddr_in6 *)ai->ai_addr)->sin6_port = htons((uint16_t)p);
            else
                ((struct sockaddr_in *)ai->ai_addr)->sin_port = htons((uint16_t)p);
        }
    }
    freeaddrinfo(ai);
    return 0;
}

void inj_raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}
