#!/usr/bin/env python3
"""An agent's loop over berth, with no sleeps and nothing but the standard library.

It starts a Python REPL session and a bash session (ad hoc, like
`tmux new -d`; berthd must run), evaluates statements in the REPL and
reads each result, runs shell commands and reads their exit codes, then
removes both sessions. Every step waits on berth, never on the clock:

  send --json     the line number the keys were typed on
  wait --since    output after that line, even if it came in microseconds
  capture --since exactly the lines in between: the result
  run --json      a shell command's output and exit status (OSC 133)

Usage: agent_loop.py [PREFIX]   (sessions PREFIX-py and PREFIX-sh)
The berth binary is $BERTH, else `berth` on PATH, else the one the README's
quick start built (target/release or target/debug beside this directory).
"""

import json
import os
import shutil
import subprocess
import sys


def find_berth():
    """$BERTH, `berth` on PATH, or the quick start's build of it."""
    if os.environ.get("BERTH"):
        return os.environ["BERTH"]
    if shutil.which("berth"):
        return "berth"
    here = os.path.dirname(os.path.abspath(__file__))
    for build in ("release", "debug"):
        built = os.path.join(here, "..", "target", build, "berth")
        if os.access(built, os.X_OK):
            return os.path.normpath(built)
    sys.exit("agent_loop.py: no berth found: put it on PATH, set BERTH=/path/to/berth, "
             "or build it first (cargo build --release)")


BERTH = find_berth()
TIMEOUT = "30s"


def berth(*args, check=True):
    """Runs berth; a failure ends the loop with berth's one-line message."""
    done = subprocess.run([BERTH, *args], capture_output=True, text=True)
    if check and done.returncode != 0:
        sys.exit(f"berth {' '.join(args)}: exit {done.returncode}: {done.stderr.strip()}")
    return done


def berth_json(verb, name, *args, check=True):
    """Runs `berth VERB NAME --json ARGS...` and reads its JSON."""
    return json.loads(berth(verb, name, "--json", *args, check=check).stdout)


class Repl:
    """A Python REPL in a berth session."""

    def __init__(self, name):
        self.name = name
        berth("new", name, "--", "python3", "-i", "-q")
        berth("wait", name, "--screen", "--match", r"^>>>$", "--timeout", TIMEOUT)

    def evaluate(self, statement):
        """Types one statement; returns what it printed, once the next prompt shows."""
        typed = berth_json("send", self.name, "--literal", statement + "\r")["seq"]
        prompt = berth_json(
            "wait", self.name, "--since", str(typed), "--match", r"^>>>$", "--timeout", TIMEOUT
        )
        lines = berth_json("capture", self.name, "--since", str(typed))["lines"]
        return "\n".join(l["text"] for l in lines if l["seq"] < prompt["seq"])


def main():
    prefix = sys.argv[1] if len(sys.argv) > 1 else "agent"
    repl = Repl(f"{prefix}-py")
    shell = f"{prefix}-sh"
    berth("new", shell, "--", "bash")
    try:
        for statement, expected in [
            ("6 * 7", "42"),
            ("words = 'berth keeps sessions'.split()", ""),
            ("len(words), words[-1]", "(3, 'sessions')"),
            ("1 / 0", "ZeroDivisionError"),
        ]:
            result = repl.evaluate(statement)
            print(f"py> {statement}\n{result}")
            if expected not in result:
                sys.exit(f"expected {expected!r} from {statement!r}, got {result!r}")

        # The shell session is ready when its prompt is marked.
        berth("wait", shell, "--screen", "--match", r"[$#]$", "--timeout", TIMEOUT)
        for command, status in [("echo hello from $0", 0), ("test -d /nonexistent", 1),
                                ("python3 -c 'import sys; sys.exit(3)'", 3)]:
            ran = berth_json("run", shell, "--timeout", TIMEOUT, "--", command, check=False)
            print(f"sh$ {command}\n{ran['output']}[exit {ran['status']}]")
            if ran["status"] != status:
                sys.exit(f"expected exit {status} from {command!r}, got {ran['status']}")
    finally:
        berth("kill", repl.name, check=False)
        berth("kill", shell, check=False)
    print("agent loop: all results and exit codes as expected")


if __name__ == "__main__":
    main()
