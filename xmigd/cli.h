/* Shared bits of the xmig command line: subcommand entry points, input
 * opening, format names.  Exit codes: 0 ok, 1 invalid input or failure,
 * 2 usage error or input that could not be read at all. */
#ifndef XMIG_CLI_H
#define XMIG_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "xmig.h"

#define EXIT_INVALID 1
#define EXIT_USAGE 2

int verify_main(int argc, char **argv);
int dump_main(int argc, char **argv);
int sample_main(int argc, char **argv);
int tls_info_main(int argc, char **argv);
int tls_connect_main(int argc, char **argv);
int tls_accept_main(int argc, char **argv);
int migrate_main(int argc, char **argv);
int migrate_receive_main(int argc, char **argv);
int list_main(int argc, char **argv);
int create_main(int argc, char **argv);
int destroy_main(int argc, char **argv);
int cancel_main(int argc, char **argv);
int status_main(int argc, char **argv);
int save_main(int argc, char **argv);
int report_main(int argc, char **argv);
int certs_main(int argc, char **argv);
int restore_main(int argc, char **argv);
/* Save a guest to PATH atomically (cmd_save.c; also used by xmigd). */
int save_to_file_pv(struct xmig_guest *g, const char *name, const char *path,
                    struct xmig_migrate_stats *st, int transparent);
int save_to_file(struct xmig_guest *g, const char *name, const char *path,
                 struct xmig_migrate_stats *st);
/* Report errno for path as the xmig error; returns -1. */
int err_report_errno(const char *path);
/* One control request; prints the error or nothing; exit status. */
struct json_t;
int ctl_simple_request(const char *cmd, const char *control,
                       struct json_t *req);
int migrate_via_daemon(const char *control, const char *guest,
                       const char *dest, struct json_t *params, int json);

/* The progress line (progress.c): one wording with or without xmigd. */
void progress_format(char *buf, size_t len, const char *guest,
                     const struct xmig_iteration_stats *r);
void progress_print(int tty, const char *guest,
                    const struct xmig_iteration_stats *r);
void progress_from_status(struct json_t *s, struct xmig_iteration_stats *r);

/* Option values (cli_number.c): a whole number in [min, max], or a
 * number of seconds in [0, max]; else -1 with "xmig CMD: --OPT 'ARG':
 * give a whole number of UNIT from MIN to MAX" printed.  unit: plural,
 * "" for none. */
int cli_uint(const char *cmd, const char *opt, const char *arg,
             uint64_t min, uint64_t max, const char *unit, uint64_t *out);
int cli_seconds(const char *cmd, const char *opt, const char *arg,
                double max, double *out);
/* Plain decimal: digits, and a '.' with digits after it for a fraction
 * (no sign, exponent, hex or blanks); 0, or -1. */
int cli_decimal(const char *arg, double *out);
/* xmig help CMD: CMD's usage (xmig.c). */
int help_main(int argc, char **argv);

/* "-" is standard input.  Returns a transport owning the fd, or NULL with a
 * message printed. */
struct xmig_transport *cli_open_input(const char *cmd, const char *path);
int cli_parse_format(const char *cmd, const char *name, enum xmig_format *out);
void cli_report(const char *cmd, const char *path);

#endif
