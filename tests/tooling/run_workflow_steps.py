#!/usr/bin/env python3
"""Runs a GitHub Actions workflow's `run:` steps, in order, in a checkout, the way a
GitHub-hosted runner would, then checks what the Classroom reporter step would read.

    python3 tests/tooling/run_workflow_steps.py .github/workflows/classroom.yml REPO_DIR

REPO_DIR is a fresh clone of the course (the steps change it: build/, grade/). For each
job, each step is printed; a `uses:` step is skipped (it is an action, not a command),
except classroom-resources/autograding-grading-reporter, which is emulated: its env
(`${{ steps.ID.outputs.NAME }}`) is resolved from what the earlier steps wrote to
GITHUB_OUTPUT, each runner's `<RUNNER>_RESULTS` is decoded from base64, checked against
tests/tooling/classroom-result.schema.json, and the points are printed as the reporter
computes them. A `run:` step runs with `bash --noprofile --norc -eo pipefail` (GitHub's
default shell), its timeout-minutes, and GITHUB_OUTPUT, GITHUB_STEP_SUMMARY,
GITHUB_WORKSPACE, GITHUB_ACTIONS and CI set. After a failed step only steps whose `if:`
says always() or !cancelled() run. Exit status 0 when every step ran and every result
is valid. Needs PyYAML (Debian: apt-get install python3-yaml).
"""

import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import schema_subset  # noqa: E402

SCHEMA = HERE / "classroom-result.schema.json"
REPORTER = "classroom-resources/autograding-grading-reporter"
EXPRESSION = re.compile(r"\$\{\{\s*steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)\s*\}\}")


def load_workflow(path):
    try:
        import yaml
    except ImportError:
        sys.exit("run_workflow_steps: needs PyYAML (Debian/Ubuntu: apt-get install python3-yaml)")
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def parse_output_file(text):
    """{name: value} from a GITHUB_OUTPUT file: `name=value` and `name<<DELIM` blocks."""
    values, lines, i = {}, text.splitlines(), 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            j = lines.index(delim, i + 1)
            values[name] = "\n".join(lines[i + 1:j])
            i = j + 1
            continue
        if "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
        i += 1
    return values


def reporter_points(results):
    """(points, max) as the reporter counts them: per runner, passed/len(tests)*max_score;
    and (score sum, max_score sum) as it notifies Classroom."""
    shown = sum(sum(1 for t in r["tests"] if t["status"] == "pass") / len(r["tests"]) * (r.get("max_score") or 0)
                for r in results)
    total = sum(r["max_score"] for r in results if r.get("max_score"))
    sent = sum(t["score"] for r in results if r.get("max_score") for t in r["tests"])
    return shown, sent, total


def check_reporter(step, outputs):
    """Emulates the reporter step: returns a list of problems (empty when all is well)."""
    schema = json.loads(SCHEMA.read_text())
    env = step.get("env") or {}
    runners = [r.strip() for r in str((step.get("with") or {}).get("runners", "")).split(",") if r.strip()]
    problems, results = [], []
    if not runners:
        return ["the reporter step has no runners"]
    if not re.fullmatch(r"([a-zA-Z0-9]+,)*[a-zA-Z0-9]+", ",".join(runners)):
        print("  note: runner ids with characters other than letters and digits confuse the reporter's error message")
    for runner in runners:
        key = f"{runner.upper()}_RESULTS"
        if key not in env:
            problems.append(f"runner {runner}: the reporter step has no env {key}")
            continue
        raw = str(env[key])
        m = EXPRESSION.search(raw)
        value = outputs.get(m.group(1), {}).get(m.group(2)) if m else raw
        if not value:
            problems.append(f"runner {runner}: {raw} is empty (no step wrote that output)")
            continue
        try:
            result = json.loads(base64.b64decode(value, validate=True).decode("utf-8"))
        except ValueError as e:
            problems.append(f"runner {runner}: not base64 JSON: {e}")
            continue
        found = schema_subset.errors(result, schema)
        problems += [f"runner {runner}: {e}" for e in found]
        if found:
            continue
        results.append(result)
        passed = sum(1 for t in result["tests"] if t["status"] == "pass")
        print(f"  {runner:<10} {passed}/{len(result['tests'])} cases pass, status {result['status']}, "
              f"{len(value)} base64 characters")
    if results:
        shown, sent, total = reporter_points(results)
        print(f"  reporter: Points {sent:g}/{total:g} (its table: {shown:g})")
    return problems


def run_step(step, repo, env, timeout_minutes):
    script = tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False)
    script.write(step["run"])
    script.close()
    cwd = Path(repo) / step.get("working-directory", ".")
    try:
        return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", script.name],
                              cwd=cwd, env=env, timeout=timeout_minutes * 60).returncode
    except subprocess.TimeoutExpired:
        print(f"  step timed out after {timeout_minutes} minutes")
        return 124
    finally:
        os.unlink(script.name)


def main(argv):
    if len(argv) != 2 or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    workflow, repo = load_workflow(argv[0]), Path(argv[1]).resolve()
    scratch = Path(tempfile.mkdtemp(prefix="workflow-steps-"))
    failed = False
    problems = []
    for job_name, job in (workflow.get("jobs") or {}).items():
        print(f"== job {job_name}")
        outputs = {}
        for n, step in enumerate(job.get("steps") or [], 1):
            title = step.get("name") or step.get("uses") or step.get("run", "").splitlines()[0]
            condition = str(step.get("if", ""))
            if failed and "always()" not in condition and "cancelled()" not in condition:
                print(f"-- step {n}: {title}: skipped (an earlier step failed)")
                continue
            if "uses" in step:
                if step["uses"].split("@")[0] == REPORTER:
                    print(f"-- step {n}: {title}: emulating the reporter")
                    problems += check_reporter(step, outputs)
                else:
                    print(f"-- step {n}: {title}: skipped (uses {step['uses']})")
                continue
            if "${{" in step["run"]:
                problems.append(f"step {n} ({title}): an expression in run: cannot run outside GitHub Actions")
                failed = True
                continue
            output_file = scratch / f"output-{n}"
            output_file.touch()
            summary_file = scratch / f"summary-{n}"
            env = dict(os.environ, CI="true", GITHUB_ACTIONS="true", GITHUB_WORKSPACE=str(repo),
                       GITHUB_OUTPUT=str(output_file), GITHUB_STEP_SUMMARY=str(summary_file))
            env.update({k: str(v) for k, v in (step.get("env") or {}).items()})
            print(f"-- step {n}: {title}\n$ {step['run'].strip()}", flush=True)
            started = time.time()
            code = run_step(step, repo, env, float(step.get("timeout-minutes", 360)))
            print(f"-- step {n}: exit {code} after {time.time() - started:.0f} s", flush=True)
            if step.get("id"):
                outputs[step["id"]] = parse_output_file(output_file.read_text(encoding="utf-8"))
                names = sorted(outputs[step["id"]])
                if names:
                    print(f"   outputs of {step['id']}: {', '.join(names)}")
            if code != 0 and not step.get("continue-on-error"):
                failed = True
                problems.append(f"step {n} ({title}) exited with {code}")
    for p in problems:
        print("problem: " + p)
    print("all steps ran, every result valid" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
