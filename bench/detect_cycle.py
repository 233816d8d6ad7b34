"""One `driftguard detect --once` cycle against moto seeded with N resources.

Reports wall time, client CPU (user + sys of driftguard's process), peak RSS, the number
of API calls counted at the emulator and the calls per resource, as one markdown table
row. Figures are
reported, never asserted. Usage: python bench/detect_cycle.py BINARY N [RUNS]
"""

import json
import os
import subprocess
import sys
import tempfile
import urllib.request

from benchlib import aws_policy, bench_env, measured

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def stats(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_driftguard/stats") as response:
        return json.load(response)


def main():
    binary, count = sys.argv[1], int(sys.argv[2])
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    work = tempfile.mkdtemp(prefix="dg-bench-")
    server = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests/support/moto_server.py")],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        port = json.loads(server.stdout.readline())["port"]
        endpoint = f"http://127.0.0.1:{port}"
        state = os.path.join(work, "terraform.tfstate")
        subprocess.run([sys.executable, os.path.join(ROOT, "tests/support/aws_fixture.py"), endpoint, "bulk", str(count), state], check=True)
        policy = os.path.join(work, "policy.yaml")
        with open(policy, "w") as handle:
            # The client-side rate limit (default 20/s, AWS's own refill rate) would
            # otherwise be what this measures.
            handle.write(aws_policy(work, endpoint, account_extra="      max_requests_per_second: 100000\n"))
        rows = []
        for _ in range(runs):
            before = stats(port).get("calls", 0)
            code, wall, cpu, rss = measured([binary, "detect", "--once", "--policy", policy, "--state", state], bench_env())
            if code not in (0, 2):
                sys.exit(f"detect failed ({code})")
            calls = stats(port).get("calls", 0) - before
            rows.append((wall, cpu, rss, calls))
        wall, cpu, rss, calls = sorted(rows)[len(rows) // 2]
        print(f"| {count} resources | {wall:.2f} s | {cpu:.2f} s | {rss:.1f} MiB | {calls} | {calls / count:.3f} |")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
