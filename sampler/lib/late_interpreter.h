/* Notices a CPython loaded with dlopen after the constructor ran (uWSGI's python plugin,
 * embedding applications): the library interposes dlopen while it is watching. */
#ifndef PODPROF_SAMPLER_LATE_INTERPRETER_H
#define PODPROF_SAMPLER_LATE_INTERPRETER_H

/* Called at most once, from the dlopen that brought a _PyRuntime in, after that dlopen
 * returned. */
typedef void (*pp_late_interpreter_cb)(void);

/* Starts watching: a later dlopen of a path (a name with '/') whose object or dependencies define
 * _PyRuntime calls found, once. Until then dlopen only passes through. */
void pp_late_interpreter_watch(pp_late_interpreter_cb found);

#endif
