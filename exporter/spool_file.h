/* Opening a file of the spool, a directory the application container can write: whatever sits
 * there under a spool name may be a symbolic link (to /dev/zero, to a secret), a FIFO that would
 * block a reader forever, a directory, a hard link to another user's file, or a huge file. Every
 * spool file is opened with O_NOFOLLOW|O_NONBLOCK|O_CLOEXEC and accepted only when fstat says it
 * is a regular file, owned as expected and within its size bound; the scan applies the same
 * checks to lstat first, so a bad entry is refused before anything opens it.
 *
 * Who may own a spool file: the exporter's own uid or the spool directory's owner (the rule the
 * kernel's fs.protected_regular applies to world-writable sticky directories). When the directory
 * is writable by its group or by everyone and not sticky (a Kubernetes emptyDir is root-owned
 * mode 0777), its owner says nothing about who writes there (the application's uid is not known
 * to the sidecar), so any owner is accepted; type, link and size are still checked. */
#ifndef PODPROF_EXPORTER_SPOOL_FILE_H
#define PODPROF_EXPORTER_SPOOL_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

typedef struct ex_spool_trust {
    uid_t self;      /* the exporter's effective uid */
    uid_t dir_owner; /* the spool directory's owner */
    bool any_owner;  /* shared, non-sticky directory: the owner is not checked */
} ex_spool_trust;

typedef enum { EX_ENTRY_OK, EX_ENTRY_UNSAFE, EX_ENTRY_TOO_LARGE } ex_entry_verdict;

/* The rule for a spool directory, from its stat. */
void ex_spool_trust_from_dir(const struct stat *dir, ex_spool_trust *t);

/* Checks an lstat/fstat result; on a refusal writes a one-phrase reason into why. */
ex_entry_verdict ex_spool_entry_check(const struct stat *st, const ex_spool_trust *t,
                                      uint64_t max_bytes, char *why, size_t whycap);

/* Opens path for reading with the checks above: a descriptor, or -1 with the verdict in *verdict
 * and the reason in why. */
int ex_spool_file_open(const char *path, const ex_spool_trust *t, uint64_t max_bytes,
                       ex_entry_verdict *verdict, char *why, size_t whycap);

#endif
