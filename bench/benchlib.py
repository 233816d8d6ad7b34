"""What the bench scripts share: the policy of one sandbox AWS account at an endpoint, the
environment driftguard runs in, and one measured run of it. Imported by the scripts next
to it (`python bench/x.py` puts this directory on the path)."""

import os
import subprocess
import time


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


def bench_env():
    """The caller's environment without its DRIFTGUARD_* variables (policy overrides, kept
    out of the measurement), with dummy credentials and no instance metadata lookup."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTGUARD_")}
    env.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_EC2_METADATA_DISABLED="true")
    return env


def measured(argv, env):
    """Runs argv to its end: (exit code, wall s, client CPU s, peak RSS MiB). wait4 gives the
    process's own usage (RUSAGE_CHILDREN would mix in other children, a fixture's)."""
    started = time.monotonic()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    return os.waitstatus_to_exitcode(status), wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024
