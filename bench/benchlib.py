"""What the bench scripts share: the policy of one sandbox AWS account at an endpoint, the
environment driftguard runs in, and one measured run of it. Imported by the scripts next
to it (`python bench/x.py` puts this directory on the path)."""

import json
import os
import subprocess
import sys
import tempfile
import time

LAUNCHER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "measured_run.py")


def aws_policy(work, endpoint, account_extra="", extra=""):
    """The policy text: dry-run, its store and JSON logs under `work`, one sandbox account
    in us-east-1 at `endpoint`. `account_extra`: more lines of the account (indented six
    spaces), `extra`: more top-level YAML."""
    return f"""dry_run: true
store: {{path: {work}/state.db}}
logging: {{format: json}}
providers:
  aws:
    - account: "123456789012"
      environment: sandbox
      regions: [us-east-1]
      endpoint: {endpoint}
{account_extra}flows:
  - name: all
    steps: [classify, plan, report]
{extra}"""


def idle_policy(work):
    """The policy of a daemon at rest: one AWS account at 127.0.0.1:9 (never called while
    idle), one detect schedule that does not fire (once a year), metrics on a free port.
    Written to `work`/policy.yaml; returns its path."""
    path = os.path.join(work, "policy.yaml")
    with open(path, "w") as handle:
        handle.write(aws_policy(work, "http://127.0.0.1:9", extra=f"""schedules:
  detect:
    cron: "0 0 0 1 1 *"
daemon:
  metrics_listen: 127.0.0.1:0
  report_path: {work}/report.json
"""))
    return path


def wait_ready(process, timeout):
    """Reads a `driftguard run` process's JSON log until its `daemon.lifecycle started`
    event names the metrics address, then waits for /readyz to answer. Exits the script
    if the daemon stops or says nothing within `timeout` seconds."""
    import urllib.request
    address = None
    deadline = time.monotonic() + timeout
    while address is None and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            sys.exit("the daemon stopped before it was ready")
        try:
            event = json.loads(line)
        except ValueError:
            continue
        reason = event.get("reason") or ""
        if event.get("event") == "daemon.lifecycle" and event.get("action") == "started" \
                and "metrics on http://" in reason:
            address = reason.split("metrics on http://")[1].split()[0].rstrip(",;)")
    if address is None:
        sys.exit(f"no metrics address within {timeout} s")
    with urllib.request.urlopen(f"http://{address}/readyz") as response:
        assert response.status == 200


def bench_env():
    """The caller's environment without its DRIFTGUARD_* variables (policy overrides, kept
    out of the measurement), with dummy credentials and no instance metadata lookup."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTGUARD_")}
    env.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_EC2_METADATA_DISABLED="true")
    return env


def launched(argv, usage_file):
    """argv run through measured_run.py, which writes the command's own usage to
    usage_file (see there why the process in between)."""
    return [sys.executable, LAUNCHER, usage_file, "--"] + list(argv)


def usage_of(usage_file):
    """(exit code, client CPU s, peak RSS MiB) as measured_run.py wrote them."""
    with open(usage_file) as handle:
        usage = json.load(handle)
    return usage["code"], usage["cpu"], usage["rss_kib"] / 1024


def measured(argv, env):
    """Runs argv to its end: (exit code, wall s, client CPU s, peak RSS MiB), the command's
    own usage (not a fixture's, not this process's)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as usage_file:
        started = time.monotonic()
        subprocess.run(launched(argv, usage_file.name), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.monotonic() - started
        code, cpu, rss = usage_of(usage_file.name)
    return code, wall, cpu, rss
