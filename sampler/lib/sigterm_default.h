/* SIGTERM's default disposition, with a last flush: while the library keeps it, an application
 * that sets SIGTERM to SIG_DFL (CPython's signal.signal, e.g. uvicorn restoring what it found
 * before re-raising the signal) gets the library's handler instead, and sees SIG_DFL when it
 * asks. A handler or SIG_IGN the application chooses, before or after, always wins. The library
 * interposes sigaction for this. */
#ifndef PODPROF_SAMPLER_SIGTERM_DEFAULT_H
#define PODPROF_SAMPLER_SIGTERM_DEFAULT_H

/* Installs handler for SIGTERM if its disposition is SIG_DFL, and from then on in place of
 * every SIG_DFL the application sets. Returns 0 when installed; -1 when the application (or
 * whoever started it) chose another disposition, which is left as it is. */
int pp_sigterm_keep(void (*handler)(int));

/* Gives SIGTERM back: the real SIG_DFL where the library's handler is installed, nothing changed
 * where the application installed its own since. Returns 1 when the library's handler was
 * installed (a SIGTERM raised now ends the process), 0 otherwise (the application's disposition
 * decides). Async-signal-safe. */
int pp_sigterm_release(void);

#endif
