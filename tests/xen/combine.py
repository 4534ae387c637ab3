#!/usr/bin/env python3
"""The verdict of two rig runs (tests/xen/check.sh): the lines run.sh
printed for each ("ok NAME ...", "not ok NAME ...").

A check FAILS when any of its "not ok" lines, in either run, carries no
triple fault of the nested emulation (fail() in scenario.sh appends the
faults xl dmesg saw), does not say it never ran in a run that saw one,
and is not run.sh's check of a stream whose making check faulted.  Otherwise it passes
when it passed in either run, and is INCONCLUSIVE when every try of it
ended in a triple fault.  Exit 0 when nothing failed, else 1."""
import re
import sys

# run.sh's own checks of a stream the scenario made: they fail without
# a mark when the check that made it ended in a triple fault.
MADE_BY = {
    'pvh-live-dump-matches-verify-stream-v2': 'xl-migrate',
    'pvh-live-resends-dirty-pages': 'xl-migrate',
    'pvh-live-trailing-is-xl-handshake': 'xl-migrate',
    'xmig-live-dump-matches-verify-stream-v2': 'xmig-migrate-to-xl',
    'pvh-save-dump-matches-verify-stream-v2': 'xl-save',
    'xmig-save-dump-matches-verify-stream-v2': 'xmig-save',
}

status = {}
for path in sys.argv[1:]:
    lines = []
    for line in open(path, errors='replace'):
        m = re.match(r'^(not ok|ok) (\S+)(.*)$', line.rstrip('\n'))
        if m:
            lines.append(m.groups())
    # A check that never ran is one a triple fault stopped only in a run
    # that saw one.
    saw_fault = any('Triple fault' in r for k, n, r in lines)
    faulted = {n for k, n, r in lines
               if k == 'not ok' and ('Triple fault' in r or
                                     (saw_fault and '(never ran: ' in r))}
    for kind, name, rest in lines:
        s = status.setdefault(name, {'ok': 0, 'marked': 0, 'bad': []})
        if kind == 'ok':
            s['ok'] += 1
        elif name in faulted or MADE_BY.get(name) in faulted:
            s['marked'] += 1
        else:
            s['bad'].append(rest.strip()[:300])

failed = {n: s for n, s in status.items() if s['bad']}
passed = [n for n, s in status.items() if not s['bad'] and s['ok']]
unclear = [n for n, s in status.items() if not s['bad'] and not s['ok']]
print('xen: over both runs: %d passed, %d failed, %d inconclusive (every '
      'try ended in a triple fault of the emulation)' % (
          len(passed), len(failed), len(unclear)))
for n in sorted(unclear):
    print('  inconclusive: ' + n)
for n, s in sorted(failed.items()):
    print('  FAILED: %s: %s' % (n, s['bad'][0]))
sys.exit(1 if failed else 0)
