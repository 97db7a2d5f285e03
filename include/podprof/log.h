/* The one shape of every podprof program's log, so a line means the same wherever it is written:
 *
 *     void <prog>_log(int level, const char *fmt, ...);   printf-style, one line, no newline
 *     void <prog>_log_set_level(int level);               lines above level are dropped
 *
 * with the levels below (pp_log in libpodprof.so, ex_log in the exporter, inj_log in the
 * injector). Each program has its own sink: the library writes "podprof: ..." with one write(2)
 * and a rate limit, the exporter "podprof export: ...", the injector one JSON object per line.
 * A message may carry named fields for the structured sink: "listening" PP_LOG_FIELD("port") "%d"
 * becomes {"msg":"listening","port":"8443"} there, and "listening port=8443" in plain text. */
#ifndef PODPROF_LOG_H
#define PODPROF_LOG_H

enum { PP_LOG_ERROR = 0, PP_LOG_WARN = 1, PP_LOG_INFO = 2, PP_LOG_DEBUG = 3 };

/* OR'ed into a level: the line is written whatever the configured level (start, stop, reloads). */
#define PP_LOG_ALWAYS 0x100

/* Starts a named field inside a format string; the field's value is what follows, up to the next
 * field. The separator is a control character no message text contains. */
#define PP_LOG_FIELD_MARK '\x1f'
#define PP_LOG_FIELD(key) "\x1f" key "="

/* The accepted spellings of the levels, as a settings table's choices (podprof/settings.h): the
 * name, and the number for the variables that always took one. */
#define PP_LOG_LEVEL_CHOICES                                                                       \
    {                                                                                              \
        "error|0", "warn|warning|1", "info|2", "debug|3", NULL                                     \
    }

#endif
