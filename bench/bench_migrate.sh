#!/bin/bash
# Live-migration benchmark (make bench-migrate): in one run, migrate sim
# guests (default 1 GiB, every page filled) with three workloads over three
# transports, and measure the raw transport of each in the same run:
#
#   workloads   idle; medium = mixed at BENCH_MEDIUM_RATE pages/s (8192);
#               heavy = stress (flat out, auto-converge throttles it)
#   transports  none       plain TCP, xmig at both ends (--tls none)
#               userspace  xmig's in-process TLS (--tls userspace), mutual auth
#               stunnel    what XAPI does today: xmig --tls none -> stunnel
#                          client -> stunnel server -> xmig --tls none
#               (ktls too when BENCH_MODES names it and the kernel has it)
#   raw         tests/tls-pipe moves a file of the guest's size over the
#               same transport (FNV-summed at the receiver)
#
# Each case runs BENCH_REPS times (3), interleaved, and the table shows
# medians: total time, downtime, rounds, the highest throttle, throughput,
# and CPU seconds per GiB of guest for the sender, the receiver and both
# stunnels (guest setup and the guests' vCPU threads left out; they are
# shown apart), then the ratios the targets are about.  It never judges
# speed: it exits non-zero only when a migration or transfer fails or a
# tool is missing.
#
# Environment: XMIG (./xmig), TLS_PIPE (obj/tests/tls-pipe), STUNNEL
# (stunnel4 or stunnel on PATH), BENCH_GIB (1) or BENCH_MIB, BENCH_REPS (3),
# BENCH_FILL (100, percent), BENCH_MEDIUM_RATE (8192), BENCH_VCPUS (2),
# BENCH_WARMUP (1 s), BENCH_DOWNTIME (300 ms), BENCH_TIMEOUT (300 s per
# migration or transfer), BENCH_MODES ("none userspace stunnel"),
# BENCH_WORKLOADS ("idle medium heavy"), BENCH_WARM_MIB (4 x the guest; 0:
# no cold first run, no warming), BENCH_RAW (1; 0 skips the raw
# transport), BENCH_TMP (for the raw transfer's file and the logs:
# /dev/shm for guests up to 2 GiB, else /tmp).
set -eu
XMIG=${XMIG:-./xmig}
TLS_PIPE=${TLS_PIPE:-obj/tests/tls-pipe}
S=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${STUNNEL:-}" ]; then
    STUNNEL=$(command -v stunnel4 || command -v stunnel || true)
fi
for tool in "$XMIG" "$TLS_PIPE"; do
    if [ ! -x "$tool" ]; then
        echo "bench-migrate: $tool is missing (make xmig obj/tests/tls-pipe)" >&2
        exit 1
    fi
done
command -v python3 >/dev/null || { echo "bench-migrate: needs python3" >&2; exit 1; }
case " ${BENCH_MODES:-stunnel} " in
*" stunnel "*)
    if [ -z "$STUNNEL" ]; then
        echo "bench-migrate: no stunnel: install stunnel4 (.ci/install-deps)," \
             "or leave it out: BENCH_MODES='none userspace'" >&2
        exit 1
    fi ;;
esac
tmp=${BENCH_TMP:-}
if [ -z "$tmp" ]; then
    mib=${BENCH_MIB:-$(awk -v g="${BENCH_GIB:-1}" 'BEGIN { printf "%d", g * 1024 }')}
    tmp=/tmp
    if [ "$mib" -le 2048 ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
        tmp=/dev/shm
    fi
fi
WORK=$(mktemp -d "$tmp/bench-migrate.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
"$S/tests/tls/make-certs.sh" "$WORK/certs" >/dev/null
XMIG=$(cd "$(dirname "$XMIG")" && pwd)/$(basename "$XMIG")
TLS_PIPE=$(cd "$(dirname "$TLS_PIPE")" && pwd)/$(basename "$TLS_PIPE")
export XMIG TLS_PIPE STUNNEL WORK
python3 - <<'PY'
import json, os, re, signal, socket, statistics, subprocess, sys, time

env = os.environ
XMIG, TLS_PIPE, STUNNEL, WORK = (env['XMIG'], env['TLS_PIPE'], env['STUNNEL'],
                                 env['WORK'])
CERTS = os.path.join(WORK, 'certs')
MIB = int(env.get('BENCH_MIB') or round(float(env.get('BENCH_GIB') or 1) * 1024))
GIB = MIB / 1024.0
REPS = int(env.get('BENCH_REPS') or 3)
FILL = int(env.get('BENCH_FILL') or 100)
RATE = int(env.get('BENCH_MEDIUM_RATE') or 8192)
VCPUS = int(env.get('BENCH_VCPUS') or 2)
WARMUP = float(env.get('BENCH_WARMUP') or 1)
DOWNTIME = int(env.get('BENCH_DOWNTIME') or 300)
TIMEOUT = float(env.get('BENCH_TIMEOUT') or 300)
MODES = (env.get('BENCH_MODES') or 'none userspace stunnel').split()
WORKLOADS = (env.get('BENCH_WORKLOADS') or 'idle medium heavy').split()
RAW = (env.get('BENCH_RAW') or '1') != '0'
# Memory touched (and freed) before measuring: on these virtual machines
# the first touch of never-used RAM costs ~1 s per GiB, which a benchmark
# would otherwise charge to whoever touches it first.  Default: four times
# the guest (the source's and the destination's RAM, twice over).
WARM_MIB = int(env.get('BENCH_WARM_MIB') or 4 * MIB)
CLK = os.sysconf('SC_CLK_TCK')
SLEEP_SYSCALLS = ('35', '230')      # nanosleep, clock_nanosleep (x86-64)
WL_ARGS = {'idle': ['--sim-workload', 'idle'],
           'medium': ['--sim-workload', 'mixed', '--sim-rate', str(RATE)],
           'heavy': ['--sim-workload', 'stress']}
live = []                            # pids to kill if we stop early


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True,
                              timeout=30).stdout.strip()
    except Exception:
        return ''


def first_line(path, key):
    try:
        for line in open(path):
            if line.startswith(key):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return '?'


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def listening(port):
    """127.0.0.1:port is in LISTEN state (no connect: a probe would reach
    a stunnel's far end)."""
    want = '0100007F:%04X' % port
    try:
        for line in open('/proc/net/tcp').readlines()[1:]:
            f = line.split()
            if f[1] == want and f[3] == '0A':
                return True
    except OSError:
        pass
    return False


def wait_for(pred, secs, what):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.02)
    raise RuntimeError('%s: not ready after %.0f s' % (what, secs))


def read_port(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return 0


class Proc:
    """A child whose rusage (all threads) we keep; optionally we sample its
    threads' CPU time so guest vCPUs and guest setup can be taken out."""

    def __init__(self, name, argv, out, sample=False):
        self.name, self.argv, self.sample = name, argv, sample
        self.out = out
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                  stdout=open(out, 'w'),
                                  stderr=open(out + '.err', 'w'))
        self.pid = self.p.pid
        self.t0, self.t1 = time.monotonic(), None
        live.append(self.pid)
        self.rc = None
        self.cpu = 0.0
        self.threads = {}           # tid -> last CPU seconds seen
        self.setup = None           # main thread CPU while it slept (warmup)

    def poll_threads(self):
        if self.rc is not None or not self.sample:
            return
        try:
            tids = os.listdir('/proc/%d/task' % self.pid)
        except OSError:
            return
        for tid in tids:
            try:
                with open('/proc/%d/task/%s/stat' % (self.pid, tid)) as f:
                    st = f.read()
                rest = st[st.rindex(')') + 2:].split()
                if rest[0] == 'Z':
                    continue
                cpu = (int(rest[11]) + int(rest[12])) / CLK
                if int(tid) == self.pid:
                    with open('/proc/%d/task/%s/syscall' % (self.pid, tid)) as f:
                        sc = f.read().split()
                    if sc and sc[0] in SLEEP_SYSCALLS:
                        self.setup = cpu
                self.threads[int(tid)] = cpu
            except (OSError, ValueError, IndexError):
                continue

    def reap(self, block=False):
        if self.rc is not None:
            return True
        try:
            pid, status, ru = os.wait4(self.pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            self.rc = -1
            return True
        if pid == 0:
            return False
        self.t1 = time.monotonic()
        self.rc = os.waitstatus_to_exitcode(status)
        self.p.returncode = self.rc
        self.cpu = ru.ru_utime + ru.ru_stime
        if self.pid in live:
            live.remove(self.pid)
        return True

    def guest_cpu(self):
        """CPU of the threads other than the main one: the guest's vCPUs."""
        return sum(c for t, c in self.threads.items() if t != self.pid)

    def stop(self, sig=signal.SIGTERM):
        if self.rc is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def text(self):
        try:
            return open(self.out).read()
        except OSError:
            return ''

    def err(self):
        try:
            return open(self.out + '.err').read().strip()
        except OSError:
            return ''


def run_until(procs, deadline):
    """Sample and reap until every proc has exited; True if all did.  Once
    one has failed, the others get 5 s more."""
    while True:
        for p in procs:
            p.poll_threads()
        if all([p.reap() for p in procs]):
            return True
        if any(p.rc not in (None, 0) for p in procs):
            deadline = min(deadline, time.monotonic() + 5)
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)


def stunnel_pair(tag, target_port):
    """stunnel client on port A -> TLS -> stunnel server on B -> target.
    Options follow XAPI's client config (xen-api stunnel.ml): TLS 1.2, an
    ECDHE AES-256-GCM suite (the ECDSA one: the test certificates are EC
    P-256, which also has to be among the curves; the key exchange still
    uses P-384), TCP_NODELAY, keepalive; both ends check the other's
    certificate chain (and the client the server's name), as xmig does."""
    a, b = free_port(), free_port()
    common = ('foreground = yes\npid =\ndebug = info\n'
              'socket = r:TCP_NODELAY=1\nsocket = a:TCP_NODELAY=1\n'
              'socket = r:SO_KEEPALIVE=1\nsocket = a:SO_KEEPALIVE=1\n'
              'sslVersion = TLSv1.2\n'
              'ciphers = ECDHE-ECDSA-AES256-GCM-SHA384\n'
              'curves = secp384r1:prime256v1\n')
    server = common + ('[xmig-server]\naccept = 127.0.0.1:%d\n'
                       'connect = 127.0.0.1:%d\ncert = %s/server.pem\n'
                       'key = %s/server-key.pem\nCAfile = %s/ca.pem\n'
                       'verifyChain = yes\nrequireCert = yes\n'
                       % (b, target_port, CERTS, CERTS, CERTS))
    client = common + ('client = yes\n[xmig-client]\naccept = 127.0.0.1:%d\n'
                       'connect = 127.0.0.1:%d\nCAfile = %s/ca.pem\n'
                       'verifyChain = yes\ncheckHost = localhost\n'
                       'cert = %s/client.pem\nkey = %s/client-key.pem\n'
                       % (a, b, CERTS, CERTS, CERTS))
    procs = []
    for role, conf, port in (('server', server, b), ('client', client, a)):
        path = os.path.join(WORK, '%s-stunnel-%s.conf' % (tag, role))
        with open(path, 'w') as f:
            f.write(conf)
        p = Proc('stunnel-' + role, [STUNNEL, path],
                 os.path.join(WORK, '%s-stunnel-%s.log' % (tag, role)))
        procs.append(p)
        wait_for(lambda: listening(port) or p.reap(), 10,
                 'stunnel %s on port %d' % (role, port))
        if p.rc is not None:
            raise RuntimeError('stunnel %s exited: %s' % (role, p.err()))
    return a, procs


def stunnel_cipher(procs):
    log = ''.join(p.err() + p.text() for p in procs)
    m = re.search(r'(TLSv[\d.]+) ciphersuite: (\S+)', log)
    k = re.search(r'Peer temporary key: \S+ (\S+?),', log)
    if m:
        return '%s %s%s' % (m.group(1), m.group(2),
                            ' ' + k.group(1) if k else '')
    return '?'


def finish_stunnels(procs):
    for p in procs:
        p.stop()
    run_until(procs, time.monotonic() + 10)
    for p in procs:
        if p.rc is None:
            p.stop(signal.SIGKILL)
            p.reap(block=True)


def tls_args(mode, role):
    if mode in ('none', 'stunnel'):
        return ['--tls', 'none']
    who = 'server' if role == 'recv' else 'client'
    a = ['--tls', mode, '--cert', '%s/%s.pem' % (CERTS, who),
         '--key', '%s/%s-key.pem' % (CERTS, who), '--ca', '%s/ca.pem' % CERTS]
    return a + (['--name', 'localhost'] if role == 'send' else [])


def kill_all(procs):
    for p in procs:
        p.stop(signal.SIGKILL)
    for p in procs:
        p.reap(block=True)


def migrate(rep, wl, mode):
    tag = 'r%d-%s-%s' % (rep, wl, mode)
    pfile = os.path.join(WORK, tag + '.port')
    res = {'rep': rep, 'workload': wl, 'mode': mode, 'ok': False,
           'load': open('/proc/loadavg').read().split()[0]}
    recv = Proc('receiver', [XMIG, 'migrate-receive', '--listen', '127.0.0.1:0',
                             '--port-file', pfile, '--run', '0.2', '--json']
                + tls_args(mode, 'recv'), os.path.join(WORK, tag + '.recv'),
                sample=True)
    procs, stunnels = [recv], []
    try:
        wait_for(lambda: read_port(pfile) or recv.reap(), 10, 'receiver')
        if recv.rc is not None:
            raise RuntimeError('receiver exited: ' + recv.err())
        port = read_port(pfile)
        if mode == 'stunnel':
            port, stunnels = stunnel_pair(tag, port)
        send = Proc('sender', [XMIG, 'migrate', '--json', '--downtime',
                               str(DOWNTIME), '--sim-memory', str(MIB),
                               '--sim-vcpus', str(VCPUS), '--sim-fill',
                               str(FILL), '--warmup', str(WARMUP)]
                    + WL_ARGS[wl] + tls_args(mode, 'send')
                    + ['sim', '127.0.0.1:%d' % port],
                    os.path.join(WORK, tag + '.send'), sample=True)
        procs.append(send)
        done = run_until([send, recv], time.monotonic() + TIMEOUT)
        if not done:
            kill_all([send, recv])
            raise RuntimeError('timed out after %.0f s' % TIMEOUT)
        if stunnels:
            res['cipher'] = stunnel_cipher(stunnels)
            finish_stunnels(stunnels)
        if send.rc != 0 or recv.rc != 0:
            raise RuntimeError('sender rc %s (%s), receiver rc %s (%s)' %
                               (send.rc, send.err()[-300:], recv.rc,
                                recv.err()[-300:]))
        st = json.loads(send.text().strip().splitlines()[-1])
        rst = json.loads(recv.text().strip().splitlines()[-1])
        setup = send.setup if send.setup is not None else 0.0
        res.update({
            'ok': True, 'total_s': st['total_s'],
            'downtime_ms': st['downtime_ms'], 'bytes': st['bytes'],
            'paused_src_ms': sum(r['duration_s'] for r in st['rounds']
                                 if r.get('final')) * 1000.0,
            'iterations': st['iterations'], 'max_throttle': st['max_throttle'],
            'stop': st.get('stop_reason', ''), 'tls_mode': st['tls_mode'],
            'verified': bool(st['verified'] and rst['verified']),
            'mib_s': st['bytes'] / 1048576.0 / st['total_s'],
            'cpu_send': send.cpu - send.guest_cpu() - setup,
            'cpu_recv': recv.cpu - recv.guest_cpu(),
            'cpu_stunnel': sum(p.cpu for p in stunnels),
            'cpu_guest': send.guest_cpu(), 'cpu_setup': setup,
            'setup_seen': send.setup is not None,
            'cpu_send_all': send.cpu, 'cpu_recv_all': recv.cpu,
        })
        res['cpu_all'] = res['cpu_send'] + res['cpu_recv'] + res['cpu_stunnel']
    except (RuntimeError, ValueError, KeyError, IndexError) as e:
        res['error'] = str(e)
        kill_all(procs)
    finally:
        if stunnels:
            finish_stunnels(stunnels)
    return res


def raw(rep, mode, path, size):
    tag = 'r%d-raw-%s' % (rep, mode)
    pfile = os.path.join(WORK, tag + '.port')
    res = {'rep': rep, 'mode': mode, 'ok': False}
    recv = Proc('tls-pipe recv', [TLS_PIPE, 'recv', '--listen', '127.0.0.1:0',
                                  '--port-file', pfile]
                + tls_args(mode, 'recv') + ['-'],
                os.path.join(WORK, tag + '.recv'))
    procs, stunnels = [recv], []
    try:
        wait_for(lambda: read_port(pfile) or recv.reap(), 10, 'tls-pipe recv')
        if recv.rc is not None:
            raise RuntimeError('tls-pipe recv exited: ' + recv.err())
        port = read_port(pfile)
        if mode == 'stunnel':
            port, stunnels = stunnel_pair(tag, port)
        send = Proc('tls-pipe send', [TLS_PIPE, 'send', '--connect',
                                      '127.0.0.1:%d' % port]
                    + tls_args(mode, 'send') + [path],
                    os.path.join(WORK, tag + '.send'))
        procs.append(send)
        if not run_until([send, recv], time.monotonic() + TIMEOUT):
            kill_all([send, recv])
            raise RuntimeError('timed out after %.0f s' % TIMEOUT)
        if stunnels:
            res['cipher'] = stunnel_cipher(stunnels)
            finish_stunnels(stunnels)
        if send.rc != 0 or recv.rc != 0:
            raise RuntimeError('send rc %s (%s), recv rc %s (%s)' %
                               (send.rc, send.err(), recv.rc, recv.err()))
        kv = lambda t: dict(re.findall(r'(\w+)=(\S+)', t))
        s, r = kv(send.text()), kv(recv.text())
        if int(r['bytes']) != size or s['sum'] != r['sum']:
            raise RuntimeError('transfer damaged: %s bytes, sums %s / %s' %
                               (r['bytes'], s['sum'], r['sum']))
        # Before it connects, the sender FNV-sums the whole file with the
        # receiver's function: that time is the checksum's own cost.
        res.update({'ok': True, 'seconds': float(r['seconds']),
                    'sum_s': max(0.0, send.t1 - send.t0 - float(s['seconds'])),
                    'mib_s': size / 1048576.0 / float(r['seconds']),
                    'cipher': res.get('cipher') or
                    ('plain TCP' if r.get('cipher', '-') == '-' else
                     '%s %s' % (r.get('version'), r.get('cipher')))})
    except (RuntimeError, ValueError, KeyError) as e:
        res['error'] = str(e)
        kill_all(procs)
    finally:
        if stunnels:
            finish_stunnels(stunnels)
    return res


def warm_memory(mib):
    """Touch mib MiB of fresh anonymous memory, one write per page, and
    give it back: the host has then backed it.  Capped at three quarters
    of what the kernel says is available."""
    import mmap
    avail = int(first_line('/proc/meminfo', 'MemAvailable').split()[0]) >> 10
    mib = max(0, min(mib, avail * 3 // 4))
    t0 = time.monotonic()
    chunk = 256
    done = 0
    page = b'\x01' + b'\0' * 4095
    block = page * (chunk << 8)
    while done < mib:
        n = min(chunk, mib - done)
        m = mmap.mmap(-1, n << 20)
        m.write(block[:n << 20])
        m.close()
        done += n
    return mib, time.monotonic() - t0


def med(rs, key):
    v = [r[key] for r in rs if r.get('ok') and r.get(key) is not None]
    return statistics.median(v) if v else None


def fmt(v, f='%.2f'):
    return '-' if v is None else f % v


def main():
    info = sh(XMIG + ' tls-info')
    ktls = next((l for l in info.splitlines() if l.startswith('this kernel:')),
                'this kernel: (xmig tls-info did not say)')
    print('bench-migrate: live migration of a %d MiB sim guest (fill %d%%, %d '
          'vCPUs), %d repetitions interleaved, medians' % (MIB, FILL, VCPUS,
                                                          REPS))
    print('date: %s' % time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()))
    print('cpu: %s, %d cores online; RAM %s; load average at start: %s' % (
        first_line('/proc/cpuinfo', 'model name'), os.cpu_count(),
        first_line('/proc/meminfo', 'MemTotal'),
        ' '.join(open('/proc/loadavg').read().split()[:3])))
    print('kernel: %s; %s; stunnel: %s' % (
        os.uname().release, sh('openssl version'),
        (sh(STUNNEL + ' -version 2>&1 | grep -m1 "^stunnel"') or '?')))
    print('kTLS: ' + ktls + (' - no kTLS rows' if 'no TLS' in ktls else ''))
    print('workloads: idle; medium = mixed at %d pages/s; heavy = stress; '
          'downtime target %d ms' % (RATE, DOWNTIME))
    print('guest vCPU threads share the %d cores with the sender, the '
          'receiver and the stunnels' % os.cpu_count())
    print()
    sys.stdout.flush()

    # One migration with memory as found, reported apart; then the
    # machine's memory is warmed and the measured runs begin.
    cold = migrate(-1, 'idle', MODES[0]) if WARM_MIB else None
    if cold is not None:
        print('  first run, memory as found (not in the medians): idle %s %s'
              % (MODES[0], '%.2f s, %.0f MiB/s, CPU %.2f s' % (
                  cold['total_s'], cold['mib_s'], cold['cpu_all'])
                  if cold['ok'] else 'FAILED: ' + cold['error']))
        mib, secs = warm_memory(WARM_MIB)
        print('  warmed %d MiB of memory in %.1f s (%.2f s per GiB)' % (
            mib, secs, secs * 1024 / mib if mib else 0))
        sys.stdout.flush()
    size = MIB << 20
    rawfile = os.path.join(WORK, 'raw.bin')
    if RAW:
        with open(rawfile, 'wb') as f:
            for _ in range(MIB):
                f.write(os.urandom(1 << 20))
    runs, raws, failed = [], [], 0
    for rep in range(REPS):
        order = MODES[rep % len(MODES):] + MODES[:rep % len(MODES)]
        if RAW:
            for mode in order:
                r = raw(rep, mode, rawfile, size)
                raws.append(r)
                print('  rep %d raw       %-9s %s' % (rep + 1, mode,
                      '%.0f MiB/s' % r['mib_s'] if r['ok'] else
                      'FAILED: ' + r['error']))
                sys.stdout.flush()
                failed += not r['ok']
        for wl in WORKLOADS:
            for mode in order:
                r = migrate(rep, wl, mode)
                runs.append(r)
                if r['ok']:
                    print('  rep %d %-6s %-9s %6.2f s, downtime %6.1f ms (%5.1f '
                          'at the source), %2d rounds, throttle %2d%%, %4.0f '
                          'MiB/s, CPU %.2f s (setup %.2f%s, vCPUs %.2f), %s; %s;'
                          ' load %s'
                          % (rep + 1, wl, mode, r['total_s'], r['downtime_ms'],
                              r['paused_src_ms'],
                              r['iterations'], r['max_throttle'], r['mib_s'],
                              r['cpu_all'], r['cpu_setup'],
                              '' if r['setup_seen'] else ' not seen',
                              r['cpu_guest'],
                              'verified' if r['verified'] else 'NOT VERIFIED',
                              r['stop'], r['load']))
                else:
                    print('  rep %d %-6s %-9s FAILED: %s' % (rep + 1, wl, mode,
                                                             r['error']))
                sys.stdout.flush()
                failed += not r['ok'] or not r['verified']
    if RAW:
        os.unlink(rawfile)

    print()
    print('Medians of %d; CPU = seconds per GiB of guest (sender without guest '
          'setup and vCPU threads, receiver without vCPU threads, both '
          'stunnels); vCPU s = the source guest\'s vCPU threads, in all' % REPS)
    print()
    print('"of it src": the part of the downtime spent at the source (its '
          'last round: last pages, state, RAM digest)')
    print()
    print('workload  path       total s  downtime ms  of it src  rounds  max thr'
          '  MiB/s  CPU snd  rcv  stunnel  all   vCPU s  verified')
    for wl in WORKLOADS:
        for mode in MODES:
            rs = [r for r in runs if r['workload'] == wl and r['mode'] == mode]
            ok = [r for r in rs if r['ok']]
            c = lambda k: fmt(None if med(rs, k) is None else med(rs, k) / GIB)
            print('%-9s %-9s %8s %12s %10s %7s %7s%% %6s %8s %4s %8s %5s %7s'
                  '  %d/%d' % (
                wl, mode, fmt(med(rs, 'total_s')),
                fmt(med(rs, 'downtime_ms'), '%.1f'),
                fmt(med(rs, 'paused_src_ms'), '%.1f'),
                fmt(med(rs, 'iterations'), '%.0f'),
                fmt(med(rs, 'max_throttle'), '%.0f'),
                fmt(med(rs, 'mib_s'), '%.0f'), c('cpu_send'), c('cpu_recv'),
                c('cpu_stunnel'), c('cpu_all'), fmt(med(rs, 'cpu_guest')),
                sum(r['verified'] for r in ok), len(rs)))
    if RAW:
        print()
        print('raw transport (tls-pipe, %d MiB file, receiver clock; the '
              'receiver FNV-sums every octet)' % MIB)
        print('path       MiB/s   s        cipher')
        for mode in MODES:
            rs = [r for r in raws if r['mode'] == mode]
            ciphers = sorted({r.get('cipher', '?') for r in rs if r['ok']})
            print('%-9s %6s %6s   %s' % (mode, fmt(med(rs, 'mib_s'), '%.0f'),
                                        fmt(med(rs, 'seconds')),
                                        ', '.join(ciphers)))
        fs = med(raws, 'sum_s')
        if fs:
            print('tls-pipe\'s FNV checksum alone (the sender\'s pass over the '
                  'file before it connects): %.2f s, %.0f MiB/s - a ceiling for '
                  'every raw row' % (fs, MIB / fs))
    sc = sorted({r['cipher'] for r in runs if r.get('ok') and r.get('cipher')})
    if sc:
        print('stunnel negotiated: ' + ', '.join(sc))

    print()
    print('Targets (ratios of medians):')

    def m(wl, mode, key):
        return med([r for r in runs if r['workload'] == wl and
                    r['mode'] == mode], key)

    def verdict(ok):
        return 'met' if ok else 'NOT met'

    for wl, target in (('heavy', 2.0), ('medium', 1.5)):
        for tls in [x for x in MODES if x in ('userspace', 'ktls')]:
            a, b = m(wl, 'stunnel', 'total_s'), m(wl, tls, 'total_s')
            if a and b:
                print('  %-6s total time, stunnel pipeline / xmig %s TLS: '
                      '%.3fx (%.2f s / %.2f s; target >= %.1fx: %s)' % (
                          wl, tls, a / b, a, b, target, verdict(a / b >= target)))
    if RAW:
        for mode in MODES:
            a = m('idle', mode, 'mib_s')
            b = med([r for r in raws if r['mode'] == mode], 'mib_s')
            if a and b:
                print('  idle   throughput / raw transport, %-10s %.3fx (%.0f / '
                      '%.0f MiB/s; target >= 0.8x: %s)' % (
                          mode + ':', a / b, a, b, verdict(a / b >= 0.8)))
    for wl in ('idle', 'medium'):
        for mode in MODES:
            d = m(wl, mode, 'downtime_ms')
            rs = [r for r in runs if r['workload'] == wl and r['mode'] == mode
                  and r['ok']]
            if d is not None:
                print('  %-6s downtime, %-10s %6.1f ms (worst %.1f; target <= '
                      '%d ms: %s)' % (wl, mode + ':', d,
                                      max(r['downtime_ms'] for r in rs),
                                      DOWNTIME, verdict(d <= DOWNTIME)))
    for mode in MODES:
        rs = [r for r in runs if r['workload'] == 'heavy' and r['mode'] == mode]
        if not rs:
            continue
        ok = [r for r in rs if r['ok'] and r['verified']]
        how = sorted({('paused after max rounds' if 'rounds done' in r['stop']
                       else 'converged' + (' (auto-converge, throttle up to '
                                           '%d%%)' % r['max_throttle']
                                           if r['max_throttle'] else ''))
                      for r in ok})
        print('  heavy  finishes, %-10s %d/%d verified: %s' % (
            mode + ':', len(ok), len(rs), '; '.join(how) or '-'))
    print()
    print('load average at the end: %s' % ' '.join(
        open('/proc/loadavg').read().split()[:3]))
    print('bench-migrate: %s' % ('%d failures' % failed if failed else
                                 'all migrations and transfers verified'))
    return 1 if failed else 0


signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
try:
    sys.exit(main())
finally:
    for pid in list(live):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
PY
