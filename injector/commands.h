/* The subcommands of podprof-injector; each returns the process exit code (0 ok, 2 bad input). */
#ifndef PODPROF_INJECTOR_COMMANDS_H
#define PODPROF_INJECTOR_COMMANDS_H

int inj_cmd_serve(int argc, char **argv);
int inj_cmd_mutate(int argc, char **argv);
int inj_cmd_certs(int argc, char **argv);

#endif
