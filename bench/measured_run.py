"""Runs a command and writes its own resource usage as JSON to a file:
`python bench/measured_run.py OUT -- COMMAND...` writes {"code", "cpu", "rss_kib"} to OUT
and exits with the command's exit code.

Why a process in between: Linux records a process's peak RSS across exec, so a command
forked from a large parent (a benchmark driver holding boto3 and its seeded data) reports
the parent's resident set as its own peak (ru_maxrss counts the pages it shared between
fork and exec). Forked from this small process instead, the command's ru_maxrss is its own.
CPU is user + sys of the command and the descendants it reaped; stdio is inherited.
"""

import json
import os
import subprocess
import sys


def main():
    out, separator, command = sys.argv[1], sys.argv[2], sys.argv[3:]
    if separator != "--" or not command:
        sys.exit("usage: measured_run.py OUT -- COMMAND...")
    process = subprocess.Popen(command)
    _, status, usage = os.wait4(process.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    with open(out, "w") as handle:
        json.dump({"code": code, "cpu": usage.ru_utime + usage.ru_stime, "rss_kib": usage.ru_maxrss}, handle)
    sys.exit(code if code >= 0 else 128 - code)


if __name__ == "__main__":
    main()
