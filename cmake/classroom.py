"""GitHub Classroom results for `./course grade --classroom`.

GitHub Classroom's autograding reporter (the action
classroom-resources/autograding-grading-reporter@v1) adds up points from "runners": for
each id in its `runners` input it reads the environment variable `<ID>_RESULTS` (the id
in capitals), which holds a result object encoded in base64. The object is the one
classroom-resources/autograding-command-grader@v1 writes as its step output `result`:

    {"version": 1, "status": "pass" | "fail" | "error", "max_score": N,
     "tests": [{"name", "status", "score", "message", "test_code", "filename",
                "line_no", "duration"}]}

The reporter counts a runner's points as (tests with status "pass") / len(tests) *
max_score, prints "Error: <message>" for a test whose status is "error" and
"Test code: <test_code>" for any test with a non-empty test_code; the points sent to
Classroom are the sum of the tests' `score` over the sum of `max_score`.

Here each topic is one runner, and each of its test cases one test worth one point:

    result_for_topic(topic, cases, max_score=None) -> dict
        cases: [(case_name, reason_or_None, output_text, seconds), ...] in the test
        file's order (seconds may be None or left out). reason None means passed;
        "failed: ..." is a failed assertion (status "fail"); anything else, such as
        "timed out (hung?)", "crashed", "did not compile", means the case could not
        give a verdict (status "error", as the grader reports a command that timed out
        or could not run). max_score defaults to the number of cases.
    encode(result) -> str
        the base64 text of the compact JSON, as the grader writes it.
    runner_id(topic) -> str
        '04-channels' -> 'topic04': the step output name and the reporter's runner id.
    write_outputs(results_by_topic, out_dir) -> [Path]
        writes OUT_DIR/classroom/<topic>.json (plain JSON, every message whole). When
        GITHUB_OUTPUT names a file (GitHub Actions sets it for every step), appends one
        output per topic, `topic04=<base64>`, and `result=<base64>`, every topic as one
        runner; when GITHUB_STEP_SUMMARY names a file, appends a table of points.

One `./course grade --classroom` step thus reports every topic: the workflow passes
`TOPIC04_RESULTS: ${{ steps.grade.outputs.topic04 }}` (one line per topic) to the
reporter with `runners: topic01,topic02,...` (see .github/workflows/classroom.yml).
Standard library only.
"""

import base64
import json
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# An encoded result becomes one environment variable of the reporter's process; Linux
# refuses a single variable over 128 KiB, so messages are shortened to stay below this.
OUTPUT_LIMIT = 100_000
MESSAGE_LIMIT = 1500      # characters of one case's message in the result
EXCERPT_LINES = 12        # lines of a case's output kept in its message

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_LOCATION = re.compile(r"^(.*?\.(?:cpp|hpp|cc|h)):(\d+)(?::|\)).*FAILED", re.M)


def runner_id(topic):
    """'04-channels' -> 'topic04' (letters and digits only: a valid step output name, and
    what the reporter's check of its `runners` input accepts)."""
    return "topic" + topic[:2]


def case_status(reason):
    """'pass' when reason is None, 'fail' for a failed assertion, 'error' otherwise."""
    if reason is None:
        return "pass"
    return "fail" if reason.lower().startswith("failed") else "error"


def _relative(text):
    return text.replace(str(ROOT) + os.sep, "")


def _excerpt(output):
    """The first failure of a Catch2 report (or the end of the output), a few lines."""
    lines = [l.rstrip() for l in _relative(_ANSI.sub("", output or "")).splitlines()]
    start = next((i for i, l in enumerate(lines)
                  if "FAILED" in l or "due to unexpected exception" in l), None)
    if start is None:
        picked = [l for l in lines if l.strip()][-EXCERPT_LINES:]
    else:
        picked = []
        for line in lines[start:start + EXCERPT_LINES]:
            if picked and re.match(r"^(={10,}|-{10,})$", line):
                break
            picked.append(line)
    return "\n".join(picked).strip()


def _short_name(topic, name):
    """'04-channels/exercise/close wakes ...' -> 'close wakes ...'."""
    for kind in ("exercise", "solution", "stub-check"):
        prefix = f"{topic}/{kind}/"
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def _test(topic, case, points):
    name, reason, output = case[0], case[1], case[2] if len(case) > 2 else ""
    seconds = case[3] if len(case) > 3 else None
    name = _short_name(topic, name)
    status = case_status(reason)
    message, test_code, filename, line_no = "", "", "", 0
    if status != "pass":
        message = f"{name}: {reason}"
        detail = _excerpt(output)
        if detail and detail not in message:
            message += "\n" + detail
        if len(message) > MESSAGE_LIMIT:
            message = message[:MESSAGE_LIMIT - 4].rstrip() + "\n..."
        test_code = f"./course check {topic[:2]}"
        where = _LOCATION.search(_relative(_ANSI.sub("", output or "")))
        if where:
            filename, line_no = where.group(1).strip(), int(where.group(2))
    return {
        "name": name,
        "status": status,
        "score": points if status == "pass" else 0,
        "message": message,
        "test_code": test_code,
        "filename": filename,
        "line_no": line_no,
        "duration": int(round((seconds or 0) * 1000)),   # milliseconds, as the grader
    }


def _overall(tests):
    statuses = {t["status"] for t in tests}
    if "fail" in statuses:
        return "fail"
    return "error" if "error" in statuses else "pass"


def result_for_topic(topic, cases, max_score=None):
    """The command grader's result object for one topic: one test per case."""
    cases = list(cases)
    if not cases:
        # The reporter divides by the number of tests: never hand it none.
        return {"version": 1, "status": "error", "max_score": 0 if max_score is None else max_score,
                "tests": [{"name": f"{topic}: no test cases", "status": "error", "score": 0,
                           "message": f"{topic}: no test cases were found (did the topic's tests build?)",
                           "test_code": f"./course check {topic[:2]}", "filename": "", "line_no": 0,
                           "duration": 0}]}
    total = len(cases) if max_score is None else max_score
    points = total / len(cases)
    if points == int(points):
        points = int(points)
    tests = [_test(topic, case, points) for case in cases]
    return {"version": 1, "status": _overall(tests), "max_score": total, "tests": tests}


def combined(results_by_topic):
    """Every topic as one runner (the step output `result`): test names get the topic."""
    tests = []
    for topic, result in results_by_topic.items():
        for t in result["tests"]:
            name = t["name"] if t["name"].startswith(topic) else f"{topic}: {t['name']}"
            tests.append(dict(t, name=name))
    if not tests:
        return result_for_topic("course", [])
    return {"version": 1, "status": _overall(tests),
            "max_score": sum(r["max_score"] for r in results_by_topic.values()), "tests": tests}


def encode(result):
    """base64 of the compact JSON text (UTF-8), no line breaks: what the grader outputs."""
    text = json.dumps(result, ensure_ascii=False, separators=(",", ":"))
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _fitted(result, limit=OUTPUT_LIMIT):
    """encode(result), with messages shortened until it is at most `limit` characters."""
    for cap in (None, 400, 120, 0):
        trimmed = result if cap is None else dict(result, tests=[
            dict(t, message=(t["message"][:cap] + "...") if len(t["message"]) > cap else t["message"])
            for t in result["tests"]])
        text = encode(trimmed)
        if len(text) <= limit:
            return text
    return text


def _summary(results_by_topic):
    lines = ["### Points per topic", "", "| topic | passed | points |", "|---|---|---|"]
    for topic, r in results_by_topic.items():
        passed = sum(1 for t in r["tests"] if t["status"] == "pass")
        score = sum(t["score"] for t in r["tests"])
        lines.append(f"| {topic} | {passed}/{len(r['tests'])} | {score:g}/{r['max_score']:g} |")
    failing = [(topic, t) for topic, r in results_by_topic.items() for t in r["tests"] if t["status"] != "pass"]
    if failing:
        lines += ["", "Not passing yet (`./course check NN` shows the first failure):", ""]
        for topic, t in failing[:200]:
            reason = t["message"].splitlines()[0] if t["message"] else t["status"]
            lines.append(f"- {topic}: {reason}".replace("|", "\\|"))
    return "\n".join(lines) + "\n"


def write_outputs(results_by_topic, out_dir):
    """Writes OUT_DIR/classroom/<topic>.json, and the step outputs and summary on GitHub
    Actions. Returns the paths written."""
    folder = Path(out_dir) / "classroom"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for topic, result in results_by_topic.items():
        path = folder / f"{topic}.json"
        path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    output = os.environ.get("GITHUB_OUTPUT")
    if output:
        lines = [f"{runner_id(topic)}={_fitted(result)}" for topic, result in results_by_topic.items()]
        lines.append(f"result={_fitted(combined(results_by_topic))}")
        with open(output, "a", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        written.append(Path(output))
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as f:
            f.write(_summary(results_by_topic))
        written.append(Path(summary))
    return written
