/* GIL wait spans: which threads have stayed inside one wait for the GIL, published where the
 * sampler thread reads them without a system call (this library's own memory).
 *
 * A thread waiting for the GIL in take_gil cannot change its Python stack: it runs only C code
 * between its timed waits on the GIL's condition variable (one per switch interval, 5 ms by
 * default). Its CPU clock moves at each of those wake-ups, so the sampler's idle test
 * (stack_memo.h) does not see that it has not run. A span starts at the thread's first wait of a
 * take_gil and ends at the first wait's return that finds the GIL's `locked` flag clear (read under
 * the GIL's mutex, which the returning wait holds: exactly what take_gil sees next, and take_gil
 * leaves its loop only then, or by ending the thread; 3.14+ hang it instead, in its wait's stack).
 * The sampler reads a thread's span word before reading the thread; an identical active word at the
 * next pass means the thread was in that same wait from before the first read until the second, so
 * the stack the first walk read is still its stack.
 *
 * One 64-bit word per slot, slots indexed by kernel tid (modulo the table size): tid in the high 32
 * bits, a counter in bits 1-31, bit 0 set while the span is open. A thread opens a span with a
 * compare-and-swap that raises the slot's counter, so a slot never shows the same open word twice
 * (within 2^31 spans), whoever shares the slot; a thread closes only its own word, with a
 * compare-and-swap that clears the open bit. A word of another tid, or one overwritten, makes the
 * sampler walk. A thread that ends inside a span (finalization ends daemon threads in take_gil
 * before 3.14) closes it from a thread-specific-data destructor, before its tid can be reused. */
#ifndef PODPROF_SAMPLER_GIL_SPANS_H
#define PODPROF_SAMPLER_GIL_SPANS_H

#include <stdint.h>

/* Sampler thread, once: creates the thread-exit key. -1 when spans cannot be kept safely (no key
 * whose value is stored without allocating): then no span is ever open. */
int pp_gil_spans_setup(void);

/* Application thread, before a wait on the GIL's condition variable: opens its span unless one is
 * open. Cheap: a TLS test once the span is open. Returns the word of the span it opened, 0 when it
 * opened none. */
uint64_t pp_gil_span_enter(void);

/* Application thread, after that wait returned, with the GIL's mutex held: closes the span when
 * the GIL is free (gil_free: the GIL's `locked` read now is 0). */
void pp_gil_span_leave(int gil_free);

/* Sampler thread: the open span word of thread tid, 0 when it is not inside a GIL wait as far as
 * the table shows. */
uint64_t pp_gil_span_word(int32_t tid);

#endif
