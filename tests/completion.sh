#!/bin/bash
# The bash completion for xmig: `make install` puts it in
# share/bash-completion/completions (under DESTDIR), `make uninstall`
# takes it away, and sourced in bash it completes subcommands, each
# subcommand's options (from its --help), option values and guests.
set -u
XMIG=${XMIG:-./xmig}
XMIG=$(cd "$(dirname "$XMIG")" && pwd)/$(basename "$XMIG")
SRCDIR=${SRCDIR:-.}
MAKE=${MAKE:-make}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

# install / uninstall into a scratch DESTDIR
comp=$T/root/usr/share/bash-completion/completions/xmig
$MAKE --no-print-directory -s install DESTDIR="$T/root" prefix=/usr >"$T/install.log" 2>&1 ||
    bad "make install: $(tail -3 "$T/install.log")"
[ -f "$comp" ] && ok || bad "make install puts the completion at $comp"
cmp -s "$comp" "$SRCDIR/dist/bash-completion/xmig" && ok || bad "the installed completion is dist/bash-completion/xmig"
$MAKE --no-print-directory -s uninstall DESTDIR="$T/root" prefix=/usr >"$T/uninstall.log" 2>&1 ||
    bad "make uninstall: $(tail -3 "$T/uninstall.log")"
[ ! -e "$comp" ] && ok || bad "make uninstall removes $comp"

# complete WORDS...: the candidates bash would offer for the last word
complete_words() {
    bash -c '
        source "$1"; shift
        COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        _xmig
        printf "%s\n" "${COMPREPLY[@]}"' xmig-completion \
        "$SRCDIR/dist/bash-completion/xmig" "$@"
}
has() { grep -qx -- "$2" <<<"$1"; }

c=$(complete_words "$XMIG" "")
for w in migrate status report help version save restore; do
    has "$c" "$w" && ok || bad "subcommand '$w' completed: $(echo $c)"
done
c=$(complete_words "$XMIG" mig)
[ "$(echo $c)" = "migrate migrate-receive" ] && ok || bad "mig -> migrate migrate-receive: $(echo $c)"
c=$(complete_words "$XMIG" migrate --)
for w in --downtime --bandwidth --exec --warmup --json --tls --control; do
    has "$c" "$w" && ok || bad "migrate option $w completed: $(echo $c)"
done
c=$(complete_words "$XMIG" status --)
has "$c" --json && has "$c" --control && ok || bad "status options: $(echo $c)"
c=$(complete_words "$XMIG" migrate --sim-workload "")
[ "$(echo $c)" = "idle mixed stress" ] && ok || bad "--sim-workload values: $(echo $c)"
c=$(complete_words "$XMIG" migrate --tls k)
[ "$(echo $c)" = "ktls" ] && ok || bad "--tls values: $(echo $c)"
c=$(complete_words "$XMIG" help sta)
[ "$(echo $c)" = "status" ] && ok || bad "help sta -> status: $(echo $c)"
c=$(complete_words "$XMIG" migrate --control "$T/none.sock" s)
has "$c" sim && ok || bad "migrate offers sim: $(echo $c)"

echo "completion: $pass passed, $fail failed"
[ "$fail" = 0 ]
