"""The hang watchdog's own test: runs a program that deadlocks on purpose
(deadlock_fixture.cpp) with a 2-second COURSE_HANG_SECONDS, then reads its output the
way `./course check` does and requires both stuck functions, their lines and what they
wait for to be named.

    python3 check_hang_stacks.py path/to/hang-fixture
"""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

root = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("course", root / "cmake" / "course.py")
course = importlib.util.module_from_spec(spec)
spec.loader.exec_module(course)

run = subprocess.run([sys.argv[1]], capture_output=True, text=True, timeout=45,
                     env=dict(os.environ, COURSE_HANG_SECONDS="2"))
output = run.stdout + run.stderr
case = course.Case("common/fixture", "Failed", output)
lines = course.hang_summary(case, ["/tests/common/"])
print("\n".join(lines))
fixture = (root / "tests" / "common" / "deadlock_fixture.cpp").read_text().splitlines()
expected = []
for function in ("transfer_then_audit", "audit_then_transfer"):
    # the line of that function's second lock_guard, where it waits for ever
    start = next(i for i, l in enumerate(fixture) if l.startswith(f"void {function}"))
    line = next(i for i in range(start, len(fixture)) if "second" in fixture[i]) + 1
    expected.append(f"waits for a mutex in `{function}` (deadlock_fixture.cpp:{line})")
expected.append("waits for a thread to finish (join) in `the test case`")
missing = [e for e in expected if not any(e in l for l in lines)]
if case.status != "Hung" or missing:
    print(f"FAILED: status {case.status}; not found in the summary: {missing}\n--- raw output ---\n{output[-4000:]}")
    sys.exit(1)
print("ok: both stuck threads and the waiting test are named")
