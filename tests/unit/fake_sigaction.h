/* The SIGTERM unit test's stand-in for libc's sigaction (fake_sigaction.c). */
#ifndef PODPROF_TESTS_FAKE_SIGACTION_H
#define PODPROF_TESTS_FAKE_SIGACTION_H

#include <signal.h>

/* Runs before (after = 0) and after (after = 1) each SIGTERM call reaches libc, with the action
 * being set (NULL for a query). */
typedef void (*fake_sigaction_hook)(const struct sigaction *act, int after);
void fake_sigaction_arm(fake_sigaction_hook hook); /* NULL disarms */

/* libc's sigaction itself: what glibc's signal() or a raw system call would do. */
int fake_sigaction_real(int sig, const struct sigaction *act, struct sigaction *old);

#endif
