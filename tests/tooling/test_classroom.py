"""GitHub Classroom and dev container files: the result format of cmake/classroom.py,
.github/workflows/classroom.yml and .devcontainer/devcontainer.json.

    python3 -m unittest discover -s tests/tooling -v

Standard library only (the workflow's YAML is parsed when PyYAML is installed; without
it those tests are skipped and its key lines are still checked as text). Runs in well
under a second; nothing is built.
"""

import base64
import json
import os
import re
import shlex
import sys
import tempfile
import unittest
from pathlib import Path
from unittest import mock

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "cmake"))
sys.path.insert(0, str(HERE))

import classroom  # noqa: E402
import schema_subset  # noqa: E402
from run_workflow_steps import parse_output_file, reporter_points  # noqa: E402

try:
    import yaml
except ImportError:
    yaml = None

WORKFLOW = ROOT / ".github" / "workflows" / "classroom.yml"
DEVCONTAINER = ROOT / ".devcontainer" / "devcontainer.json"
SCHEMA = json.loads((HERE / "classroom-result.schema.json").read_text())
REPORTER = "classroom-resources/autograding-grading-reporter@v1"

CATCH_FAILURE = """\
-------------------------------------------------------------------------------
close wakes a consumer waiting in pop
-------------------------------------------------------------------------------
{root}/tests/04-channels/test_channel.cpp:143
...............................................................................

{root}/tests/04-channels/test_channel.cpp:150: FAILED:
  REQUIRE( popped == std::nullopt )
with expansion:
  42 == std::nullopt

===============================================================================
test cases: 1 | 1 failed
""".format(root=ROOT)

CASES = [
    ("04-channels/exercise/one producer's items arrive in order", None, "", 0.012),
    ("04-channels/exercise/close wakes a consumer waiting in pop", "failed", CATCH_FAILURE, 0.2),
    ("04-channels/exercise/8 producers deliver exactly the items sent", "timed out (hung?)",
     "Thread 2 (LWP 12):\n#0 futex_wait\n#1 course::chan::Channel<int>::pop() at exercises/04-channels/channel.hpp:40\n", 60.0),
    ("04-channels/exercise/capacity 0 is a rendezvous", "crashed (segfault)", "", 0.05),
]


def topics():
    return sorted(p.name for p in (ROOT / "lessons").iterdir() if p.is_dir() and re.match(r"\d\d-", p.name))


def strip_json_comments(text):
    """JSONC (devcontainer.json) -> JSON: drops // and /* */ comments outside strings."""
    out, i, in_string = [], 0, False
    while i < len(text):
        c = text[i]
        if in_string:
            out.append(c)
            if c == "\\":
                out.append(text[i + 1])
                i += 1
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
            out.append(c)
        elif text.startswith("//", i):
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        elif text.startswith("/*", i):
            i = text.index("*/", i) + 2
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


def course_commands():
    """The commands of cmake/course.py and every option of any of them, from its parser."""
    import argparse
    import importlib.util
    spec = importlib.util.spec_from_file_location("course_cli", ROOT / "cmake" / "course.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sub = next(a for a in module.parser()._actions if isinstance(a, argparse._SubParsersAction))
    options = {o for p in sub.choices.values() for a in p._actions for o in a.option_strings}
    return set(sub.choices), options


class ResultFormat(unittest.TestCase):
    def setUp(self):
        self.result = classroom.result_for_topic("04-channels", CASES)

    def test_matches_the_schema(self):
        self.assertEqual(schema_subset.errors(self.result, SCHEMA), [])

    def test_one_point_per_case_and_statuses(self):
        r = self.result
        self.assertEqual((r["version"], r["max_score"], r["status"]), (1, 4, "fail"))
        self.assertEqual([t["status"] for t in r["tests"]], ["pass", "fail", "error", "error"])
        self.assertEqual([t["score"] for t in r["tests"]], [1, 0, 0, 0])
        self.assertEqual(r["tests"][0]["name"], "one producer's items arrive in order")

    def test_failure_message_location_and_rerun_command(self):
        failed = self.result["tests"][1]
        self.assertTrue(failed["message"].startswith("close wakes a consumer waiting in pop: failed\n"))
        self.assertIn("REQUIRE( popped == std::nullopt )", failed["message"])
        self.assertIn("42 == std::nullopt", failed["message"])
        self.assertNotIn("=====", failed["message"])
        self.assertNotIn(str(ROOT), failed["message"])
        self.assertEqual((failed["filename"], failed["line_no"]), ("tests/04-channels/test_channel.cpp", 150))
        self.assertEqual(failed["test_code"], "./course check 04")
        self.assertEqual(failed["duration"], 200)
        passed = self.result["tests"][0]
        self.assertEqual((passed["message"], passed["test_code"], passed["line_no"]), ("", "", 0))

    def test_hung_and_crashed_cases_say_why(self):
        hung, crashed = self.result["tests"][2], self.result["tests"][3]
        self.assertIn("timed out (hung?)", hung["message"])
        self.assertIn("channel.hpp:40", hung["message"])
        self.assertEqual(hung["duration"], 60000)
        self.assertEqual(crashed["message"], "capacity 0 is a rendezvous: crashed (segfault)")

    def test_overall_status(self):
        self.assertEqual(classroom.result_for_topic("01-functional", [("a", None, "", 1)])["status"], "pass")
        self.assertEqual(classroom.result_for_topic("01-functional", [("a", None, "", 1), ("b", "did not compile", "", None)])["status"], "error")

    def test_three_field_cases_and_custom_max_score(self):
        r = classroom.result_for_topic("01-functional", [("a", None, ""), ("b", "failed", "")], max_score=10)
        self.assertEqual(schema_subset.errors(r, SCHEMA), [])
        self.assertEqual((r["max_score"], [t["score"] for t in r["tests"]]), (10, [5, 0]))

    def test_no_cases_still_valid_for_the_reporter(self):
        r = classroom.result_for_topic("09-mpi", [])
        self.assertEqual(schema_subset.errors(r, SCHEMA), [])
        self.assertEqual(r["status"], "error")

    def test_reporter_arithmetic_gives_one_point_per_passing_case(self):
        other = classroom.result_for_topic("01-functional", [("a", None, "", 1), ("b", None, "", 1)])
        shown, sent, total = reporter_points([self.result, other])
        self.assertEqual((shown, sent, total), (3, 3, 6))

    def test_encode_is_base64_of_the_json(self):
        text = classroom.encode(self.result)
        self.assertNotIn("\n", text)
        self.assertEqual(json.loads(base64.b64decode(text, validate=True)), self.result)

    def test_runner_ids_are_letters_and_digits(self):
        for topic in topics():
            self.assertRegex(classroom.runner_id(topic), r"^[a-z][a-z0-9]*$")


class Outputs(unittest.TestCase):
    def test_files_step_outputs_and_summary(self):
        results = {"01-functional": classroom.result_for_topic("01-functional", [("01-functional/exercise/a", None, "", 1)]),
                   "04-channels": classroom.result_for_topic("04-channels", CASES)}
        with tempfile.TemporaryDirectory() as tmp:
            output, summary = Path(tmp) / "out", Path(tmp) / "summary"
            output.write_text("earlier=1\n")
            with mock.patch.dict(os.environ, {"GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)}):
                classroom.write_outputs(results, Path(tmp) / "grade")
            self.assertEqual(json.loads((Path(tmp) / "grade/classroom/04-channels.json").read_text()), results["04-channels"])
            values = parse_output_file(output.read_text())
            self.assertEqual(set(values), {"earlier", "topic01", "topic04", "result"})
            for name in ("topic01", "topic04", "result"):
                decoded = json.loads(base64.b64decode(values[name]))
                self.assertEqual(schema_subset.errors(decoded, SCHEMA), [], name)
            self.assertEqual(json.loads(base64.b64decode(values["topic04"])), results["04-channels"])
            whole = json.loads(base64.b64decode(values["result"]))
            self.assertEqual((whole["max_score"], len(whole["tests"]), whole["status"]), (5, 5, "fail"))
            self.assertEqual(whole["tests"][0]["name"], "01-functional: a")
            self.assertIn("| 04-channels | 1/4 | 1/4 |", summary.read_text())

    def test_without_github_actions_only_files(self):
        results = {"01-functional": classroom.result_for_topic("01-functional", [("a", None, "", 1)])}
        with tempfile.TemporaryDirectory() as tmp, mock.patch.dict(os.environ, {}, clear=False):
            os.environ.pop("GITHUB_OUTPUT", None)
            os.environ.pop("GITHUB_STEP_SUMMARY", None)
            written = classroom.write_outputs(results, tmp)
            self.assertEqual(written, [Path(tmp) / "classroom" / "01-functional.json"])

    def test_huge_output_is_shortened_below_the_environment_limit(self):
        cases = [(f"case {i}", "failed", "FAILED:\n" + "x" * 5000 + "\n" + "y" * 5000, 1) for i in range(200)]
        result = classroom.result_for_topic("08-distributed-loading", cases)
        text = classroom._fitted(result)
        self.assertLessEqual(len(text), classroom.OUTPUT_LIMIT)
        self.assertEqual(schema_subset.errors(json.loads(base64.b64decode(text)), SCHEMA), [])


class SchemaValidator(unittest.TestCase):
    def test_catches_what_the_reporter_would_choke_on(self):
        good = classroom.result_for_topic("01-functional", [("a", None, "", 1)])
        bad = json.loads(json.dumps(good))
        bad["tests"][0]["status"] = "passed"
        del bad["tests"][0]["line_no"]
        bad["max_score"] = -1
        found = "\n".join(schema_subset.errors(bad, SCHEMA))
        self.assertIn("$.tests[0].status", found)
        self.assertIn("missing required 'line_no'", found)
        self.assertIn("$.max_score", found)
        self.assertTrue(schema_subset.errors(dict(good, tests=[]), SCHEMA))
        self.assertTrue(schema_subset.errors(dict(good, version=True), SCHEMA))


class Workflow(unittest.TestCase):
    text = WORKFLOW.read_text()

    def test_key_lines(self):
        for line in ("uses: actions/checkout@v4", f"uses: {REPORTER}", "id: grade",
                     "./course grade --classroom", "checks: write", "repository_dispatch",
                     "github.actor != 'github-classroom[bot]'"):
            self.assertIn(line, self.text)
        self.assertNotIn("\t", self.text)

    def test_reporter_env_and_runners_cover_every_topic(self):
        runners = re.search(r"runners:\s*(\S+)", self.text).group(1).split(",")
        self.assertEqual(runners, [classroom.runner_id(t) for t in topics()])
        for r in runners:
            self.assertRegex(self.text, rf'{r.upper()}_RESULTS: "\$\{{\{{ steps\.grade\.outputs\.{r} \}}\}}"')

    def run_steps(self):
        if yaml is None:
            self.skipTest("PyYAML is not installed (apt-get install python3-yaml): YAML structure not checked")
        workflow = yaml.safe_load(self.text)
        self.assertIn("on", workflow, "quote the 'on' key: YAML 1.1 reads a bare on as true")
        (job,) = workflow["jobs"].values()
        return workflow, job, job["steps"]

    def test_parses_with_the_classroom_shape(self):
        workflow, job, steps = self.run_steps()
        self.assertEqual(set(workflow["on"]), {"push", "repository_dispatch", "workflow_dispatch"})
        self.assertEqual(workflow["permissions"], {"checks": "write", "actions": "read", "contents": "read"})
        self.assertIn("timeout-minutes", job)
        self.assertEqual(steps[0]["uses"], "actions/checkout@v4")
        reporter = steps[-1]
        self.assertEqual(reporter["uses"], REPORTER)
        self.assertIn("!cancelled()", reporter["if"])
        runners = reporter["with"]["runners"].split(",")
        self.assertEqual(set(reporter["env"]), {f"{r.upper()}_RESULTS" for r in runners})

    def test_run_steps_use_existing_course_commands(self):
        _, _, steps = self.run_steps()
        names, options = course_commands()
        runs = [s for s in steps if "run" in s]
        self.assertTrue(runs)
        for step in runs:
            self.assertIn("timeout-minutes", step, step["run"])
            self.assertNotIn("${{", step["run"], "run: steps must work outside GitHub Actions too")
            for line in step["run"].splitlines():
                words = shlex.split(line, comments=True)
                if words and words[0] == "./course":
                    self.assertIn(words[1], names, line)
                    for w in words[2:]:
                        if w.startswith("--"):
                            self.assertIn(w, options, f"{line}: cmake/course.py does not know {w}")

    def test_outputs_used_are_the_grade_steps(self):
        _, _, steps = self.run_steps()
        ids = {s.get("id") for s in steps}
        for value in steps[-1]["env"].values():
            m = re.fullmatch(r"\$\{\{ steps\.([a-z0-9-]+)\.outputs\.([a-z0-9]+) \}\}", value)
            self.assertTrue(m, value)
            self.assertIn(m.group(1), ids)


class StepRunner(unittest.TestCase):
    """run_workflow_steps.py on the real workflow, in a scratch folder whose ./course only
    writes results (the real grade builds everything: the lead's fresh-clone run)."""

    def test_runs_steps_and_emulates_the_reporter(self):
        if yaml is None:
            self.skipTest("PyYAML is not installed (apt-get install python3-yaml)")
        import contextlib
        import io
        import run_workflow_steps
        fake = (
            "#!/usr/bin/env python3\n"
            "import sys\n"
            f"sys.path.insert(0, {str(ROOT / 'cmake')!r})\n"
            "import classroom\n"
            f"topics = {topics()!r}\n"
            "assert sys.argv[1:4] == ['grade', '--classroom', '--out'], sys.argv\n"
            "classroom.write_outputs({t: classroom.result_for_topic(t, [('a', None, '', 1), ('b', 'crashed', '', 1)])\n"
            "                         for t in topics}, sys.argv[4])\n")
        with tempfile.TemporaryDirectory() as repo:
            course = Path(repo) / "course"
            course.write_text(fake)
            course.chmod(0o755)
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                code = run_workflow_steps.main([str(WORKFLOW), repo])
            self.assertEqual(code, 0, printed.getvalue())
            n = len(topics())
            self.assertIn(f"reporter: Points {n}/{2 * n}", printed.getvalue())
            self.assertTrue((Path(repo) / "grade" / "classroom" / f"{topics()[0]}.json").exists())


class DevContainer(unittest.TestCase):
    def test_valid_and_complete(self):
        config = json.loads(strip_json_comments(DEVCONTAINER.read_text()))
        self.assertRegex(config["image"], r"debian-12|bookworm")
        self.assertIn("SYS_PTRACE", config["capAdd"])
        self.assertIn("seccomp=unconfined", config["securityOpt"])
        command = config["postCreateCommand"]
        self.assertTrue(command.startswith("./course "), command)
        self.assertIn(shlex.split(command)[1], course_commands()[0])
        extensions = config["customizations"]["vscode"]["extensions"]
        self.assertIn("ms-vscode.cpptools", extensions)
        self.assertIn("ms-vscode.cmake-tools", extensions)

    def test_comment_stripper_keeps_strings(self):
        text = '// top\n{"a": "http://x/*y*/", /* c */ "b": "q\\"//"} // end\n'
        self.assertEqual(json.loads(strip_json_comments(text)), {"a": "http://x/*y*/", "b": 'q"//'})


if __name__ == "__main__":
    unittest.main()
