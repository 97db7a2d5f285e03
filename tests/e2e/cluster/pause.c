/* The process of the e2e node's pod sandbox image (containerd's sandbox_image): it holds the
 * pod's namespaces and does nothing else. It reaps children (it is PID 1 when the pod shares a
 * PID namespace) and exits 0 on SIGTERM or SIGINT, so stopping a pod is prompt.
 * The real registry.k8s.io/pause image cannot be pulled here; this is built by the e2e suite. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void quit(int sig)
{
    (void)sig;
    _exit(0);
}

static void reap(int sig)
{
    (void)sig;
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
}

int main(void)
{
    struct sigaction sa = {0};
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = quit;
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0) {
        return 1;
    }
    sa.sa_handler = reap;
    sa.sa_flags = SA_NOCLDSTOP | SA_RESTART;
    if (sigaction(SIGCHLD, &sa, NULL) != 0) {
        return 1;
    }
    for (;;) {
        pause();
    }
}
