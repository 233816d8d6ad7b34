"""The daemon at rest: `driftguard run` with one detect schedule that does not fire
during the measurement (once a year), its resident memory once it is ready.

Starts `driftguard run` with a generated policy (one AWS account pointing at 127.0.0.1:9,
never called while idle), waits until /readyz answers, waits SETTLE seconds, then reads
VmRSS and VmHWM from /proc and stops it with SIGTERM. Figures are reported, never
asserted. Usage: python bench/idle_rss.py BINARY [SETTLE_SECONDS]
"""

import signal
import subprocess
import sys
import tempfile
import time

from benchlib import bench_env, idle_policy, wait_ready


def status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def main():
    binary = sys.argv[1]
    settle = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
    work = tempfile.mkdtemp(prefix="dg-idle-")
    policy = idle_policy(work)
    env = bench_env()
    process = subprocess.Popen([binary, "run", "--policy", policy], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    try:
        wait_ready(process, 60)
        time.sleep(settle)
        fields = status(process.pid)
        rss, hwm, threads = fields["VmRSS"], fields["VmHWM"], fields["Threads"]
        print(f"| idle daemon ({settle:g} s after ready) | VmRSS {rss} | VmHWM {hwm} | {threads} threads |")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


if __name__ == "__main__":
    main()
