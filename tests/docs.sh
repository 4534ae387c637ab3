#!/bin/bash
# The man pages cover the programs: every long option in the option
# tables of xmig's subcommands (and every option their --help shows) is in
# xmig.1, every subcommand has its entry, XMIG_CONTROL is under
# ENVIRONMENT; every xmigd option and configuration key is in xmigd.8.
set -u
XMIG=${XMIG:-./xmig}
XMIGD=${XMIGD:-bin/xmigd}
SRCDIR=${SRCDIR:-.}
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

# A man page as plain words: roff's \- is a -, fonts dropped.
plain() { sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\(em/-/g' "$1"; }
man1=$(plain "$SRCDIR/docs/man/xmig.1")
man8=$(plain "$SRCDIR/docs/man/xmigd.8")
# in_page TEXT OPTION: the option appears as a word (not a prefix of one)
in_page() { grep -qE -- "(^|[^a-z0-9-])$2([^a-z0-9-]|$)" <<<"$1"; }

# Long options of the option tables (struct option, and the macros that
# hold shared ones) in the given sources.
table_options() {
    grep -ohE '\{ "[a-z][a-z0-9-]*", (no|required|optional)_argument' "$@" |
        sed -E 's/\{ "([^"]*)".*/--\1/' | sort -u
}

cli_srcs=("$SRCDIR"/xmigd/xmig.c "$SRCDIR"/xmigd/cmd_*.c "$SRCDIR"/xmigd/tls_opts.h)
n=0
for o in $(table_options "${cli_srcs[@]}"); do
    n=$((n + 1))
    in_page "$man1" "$o" && ok || bad "xmig.1 lacks $o (an option of xmig's)"
done
[ "$n" -ge 40 ] && ok || bad "only $n options found in the xmig sources"

subs=$("$XMIG" help | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p')
for c in $subs; do
    grep -qE "^\.(B|BR|TP) .*(^|[ \"])$c([ ,\"]|$)|^\.B $c$|^\.BR $c " <<<"$man1" ||
        grep -qE "^\.BR? \"?xmig $c" <<<"$man1" && ok ||
        bad "xmig.1 has no entry for the subcommand $c"
    for o in $("$XMIG" "$c" --help 2>/dev/null | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u); do
        in_page "$man1" "$o" && ok || bad "xmig.1 lacks $o (xmig $c --help shows it)"
    done
done

grep -q '^\.SH ENVIRONMENT' "$SRCDIR/docs/man/xmig.1" && ok || bad "xmig.1 has no ENVIRONMENT section"
sed -n '/^\.SH ENVIRONMENT/,/^\.SH /p' "$SRCDIR/docs/man/xmig.1" | grep -q XMIG_CONTROL &&
    ok || bad "xmig.1's ENVIRONMENT lacks XMIG_CONTROL"

# xmigd --version and --help: exit 0, on stdout.
v=$("$XMIGD" --version 2>&1) && [[ $v =~ ^xmigd\ [0-9] ]] && ok || bad "xmigd --version: $v"
h=$("$XMIGD" --help 2>/dev/null) && [[ $h == usage:\ xmigd* ]] && ok || bad "xmigd --help: $h"
for o in $(table_options "$SRCDIR"/xmigd/xmigd.c) $("$XMIGD" --help | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u); do
    in_page "$man8" "$o" && ok || bad "xmigd.8 lacks $o (an option of xmigd's)"
done
# Configuration keys: strcmp(k, "KEY") and STR(KEY) in daemon_config.c;
# in the page as \fBKEY\fR or .B KEY.
keys=$(grep -ohE 'strcmp\(k, "[a-z_]+"\)|^ *STR\([a-z_]+\)' "$SRCDIR"/xmigd/daemon_config.c |
    sed -E 's/.*"(.*)".*/\1/; s/.*STR\((.*)\).*/\1/' | sort -u)
[ "$(echo $keys | wc -w)" -ge 10 ] && ok || bad "only these configuration keys found: $keys"
for k in $keys; do
    grep -qE "\\\\fB$k\\\\f[RP]|^\\.BR? $k( |$)" "$SRCDIR/docs/man/xmigd.8" && ok ||
        bad "xmigd.8 lacks the configuration key $k"
done

echo "docs: $pass passed, $fail failed"
[ "$fail" = 0 ]
