"""The daemon at rest: `driftguard run` with one detect schedule that does not fire
during the measurement (once a year), its resident memory once it is ready.

Starts `driftguard run` with a generated policy (one AWS account pointing at 127.0.0.1:9,
never called while idle), waits until /readyz answers, waits SETTLE seconds, then reads
VmRSS and VmHWM from /proc and stops it with SIGTERM. Figures are reported, never
asserted. Usage: python bench/idle_rss.py BINARY [SETTLE_SECONDS]
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

from benchlib import aws_policy, bench_env


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
    policy = os.path.join(work, "policy.yaml")
    with open(policy, "w") as handle:
        handle.write(aws_policy(work, "http://127.0.0.1:9", extra=f"""schedules:
  detect:
    cron: "0 0 0 1 1 *"
daemon:
  metrics_listen: 127.0.0.1:0
  report_path: {work}/report.json
"""))
    env = bench_env()
    process = subprocess.Popen([binary, "run", "--policy", policy], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    try:
        address = None
        deadline = time.monotonic() + 60
        while address is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                sys.exit("the daemon stopped before it was ready")
            try:
                event = json.loads(line)
            except ValueError:
                continue
            reason = event.get("reason") or ""
            if event.get("event") == "daemon.lifecycle" and event.get("action") == "started" and "metrics on http://" in reason:
                address = reason.split("metrics on http://")[1].split()[0].rstrip(",;)")
        if address is None:
            sys.exit("no metrics address within 60 s")
        with urllib.request.urlopen(f"http://{address}/readyz") as response:
            assert response.status == 200
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
