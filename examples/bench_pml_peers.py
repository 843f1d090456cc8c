"""Peer readers on the same PML, for examples/bench_pml.rs: prints one JSON line per run.

usage: bench_pml_peers.py PATH TOOL MAX_EVENTS   (TOOL: reader | reader-filter | parser)
The same columns as bsodwb's index: time, process name, PID, TID, operation, path, result.
"""
import json
import sys
import time

path, tool, max_events = sys.argv[1], sys.argv[2], int(sys.argv[3])
FIELDS = ["timestamp", "process_name", "pid", "tid", "operation", "path", "result"]
t0 = time.perf_counter()
n = 0
if tool == "reader":
    from procmon_reader import ProcmonReader
    r = ProcmonReader(path)
    r.apply_filters(None, select_fields=FIELDS)
    for ev in r:
        n += 1
        if n >= max_events:
            break
elif tool == "reader-filter":
    from procmon_reader import ProcmonReader
    r = ProcmonReader(path)
    r.apply_filters([["path", "contains", "filecrypt", "include"]], select_fields=["path"])
    n = len(r)  # runs the filter over the whole file
elif tool == "parser":
    from procmon_parser import ProcmonLogsReader
    with open(path, "rb") as f:
        r = ProcmonLogsReader(f, should_get_stacktrace=False, should_get_details=False)
        for ev in r:
            _ = (ev.date_filetime, ev.process.process_name, ev.process.pid, ev.tid,
                 ev.operation, ev.path, ev.result)
            n += 1
            if n >= max_events:
                break
else:
    raise SystemExit(f"unknown tool {tool}")
dt = time.perf_counter() - t0
print(json.dumps({"tool": tool, "events": n, "seconds": dt, "events_per_s": n / dt if dt else 0}))
