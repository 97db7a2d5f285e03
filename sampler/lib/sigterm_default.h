/* SIGTERM's default disposition, with a last flush: while the library keeps it, an application
 * that sets SIGTERM to SIG_DFL (CPython's signal.signal, e.g. uvicorn restoring what it found
 * before re-raising the signal) gets the library's handler instead, and sees SIG_DFL when it
 * asks. The library interposes sigaction for this. */
#ifndef PODPROF_SAMPLER_SIGTERM_DEFAULT_H
#define PODPROF_SAMPLER_SIGTERM_DEFAULT_H

/* Installs handler for SIGTERM if its disposition is SIG_DFL, and from then on in place of
 * every SIG_DFL the application sets. Returns 0 when installed. */
int pp_sigterm_keep(void (*handler)(int));

/* The real SIG_DFL, for the handler's last step (the process must still die by the signal). */
void pp_sigterm_really_default(void);

#endif
