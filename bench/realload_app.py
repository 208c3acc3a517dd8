"""The measured app of bench_realload: runs what it is told, as its own children.

Started in its own session, it reads one JSON request per line on stdin and answers one JSON line
on stdout. Everything it starts is its child, in its session and process group, like an IDE's
build task or a shell's foreground command: the measures (cyclictest, the waker, a launch) and,
in the "child" topology, the compile storm itself.

  {"op": "run", "argv": [...]}            -> {"rc": 0, "out": "...", "err": "...", "seconds": 0.1}
  {"op": "spawn", "argv": [...], "cwd": d} -> {"pid": 123}
  {"op": "reap"}                           -> {"reaped": [123]}
"""

from __future__ import annotations

import json
import subprocess
import sys
import time


def main() -> None:
    children: list[subprocess.Popen[bytes]] = []
    for line in sys.stdin:
        req = json.loads(line)
        reply: dict[str, object]
        if req["op"] == "run":
            start = time.perf_counter()
            done = subprocess.run(req["argv"], capture_output=True, text=True, check=False)
            reply = {
                "rc": done.returncode,
                "out": done.stdout,
                "err": done.stderr,
                "seconds": time.perf_counter() - start,
            }
        elif req["op"] == "spawn":
            child = subprocess.Popen(req["argv"], cwd=req.get("cwd"), stdin=subprocess.DEVNULL)
            children.append(child)
            reply = {"pid": child.pid}
        elif req["op"] == "reap":
            reaped = [c.pid for c in children if c.poll() is not None]
            children = [c for c in children if c.returncode is None]
            reply = {"reaped": reaped}
        else:
            reply = {"error": f"unknown op {req['op']!r}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
