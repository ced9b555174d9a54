"""The `course` command: run lessons, check exercises, hints, progress, self-test, grading.

    ./course run NN [--mine] [-- ARGS]   build and run lesson NN (the student's code with --mine)
    ./course check NN                    build exercise NN and run its tests
    ./course hint NN                     show the next hint of exercise NN
    ./course list                        every topic, its status, overall progress
    ./course test                        the repository's self-test (what CI runs)
    ./course grade [--out DIR]           grade every exercise: DIR/score.json, DIR/junit.xml
    ./course watch [NN]                  re-check on every save
    ./course datasets corpus|stocks ...  generate the course's datasets
    ./course serve [OPTIONS]             run the local HTTP server in the foreground

NN is a number (4, 04) or a topic name (04-channels). Everything builds into build/.
"""

import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
STATE_DIR = ROOT / ".course"
STATE_FILE = STATE_DIR / "state.json"
TTY = sys.stdout.isatty()


# --- output --------------------------------------------------------------------------
def paint(text, color):
    codes = {"green": "32", "red": "31", "yellow": "33", "bold": "1", "dim": "2"}
    return f"\033[{codes[color]}m{text}\033[0m" if TTY else text


def say(text=""):
    print(text, flush=True)


def fail(message, next_step=None, code=1):
    say(paint("error: ", "red") + message)
    if next_step:
        say("next: " + next_step)
    sys.exit(code)


# --- topics --------------------------------------------------------------------------
def topics():
    """Every topic, from the lesson folders: ['01-functional', ...]."""
    return sorted(p.name for p in (ROOT / "lessons").iterdir() if re.match(r"\d\d-", p.name) and p.is_dir())


def resolve_topic(arg):
    all_topics = topics()
    if arg in all_topics:
        return arg
    if arg.isdigit():
        for t in all_topics:
            if t[:2] == f"{int(arg):02d}":
                return t
    fail(f"no topic '{arg}'", "./course list shows the topics (use 1, 01 or 01-functional)", code=2)


# --- state (hints shown, last results), git-ignored --------------------------------------
def load_state():
    try:
        return json.loads(STATE_FILE.read_text())
    except (OSError, ValueError):
        return {"hints": {}, "results": {}}


def save_state(state):
    STATE_DIR.mkdir(exist_ok=True)
    STATE_FILE.write_text(json.dumps(state, indent=2) + "\n")


def remember_result(topic, passed, total):
    state = load_state()
    state.setdefault("results", {})[topic] = {"passed": passed, "total": total, "when": time.strftime("%Y-%m-%d %H:%M")}
    save_state(state)


# --- dependencies ----------------------------------------------------------------------
def os_release():
    info = {}
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            key, _, value = line.partition("=")
            info[key] = value.strip('"')
    except OSError:
        pass
    return info


def debian_packages():
    rel = os_release()
    # Debian 12's default Boost (libboost-all-dev) is 1.74; the course needs >= 1.81.
    boost = "libboost1.81-all-dev" if rel.get("ID") == "debian" and rel.get("VERSION_ID") == "12" else "libboost-all-dev"
    return ["g++", "cmake", "ninja-build", "ccache", "pkg-config", "git", boost, "libcurl4-openssl-dev",
            "zlib1g-dev", "nlohmann-json3-dev", "catch2", "libtbb-dev", "libsimdjson-dev", "openmpi-bin"]


BREW_PACKAGES = ["cmake", "ninja", "ccache", "boost", "curl", "zlib", "nlohmann-json", "catch2", "tbb",
                 "simdjson", "open-mpi"]


def missing_debian(packages):
    out = subprocess.run(["dpkg-query", "-W", "-f=${Package} ${Status}\n", *packages],
                         capture_output=True, text=True).stdout
    installed = {line.split()[0] for line in out.splitlines() if line.endswith("install ok installed")}
    return [p for p in packages if p not in installed]


def ensure_dependencies():
    """Installs what the course needs, once; says what it installs."""
    if shutil.which("apt-get") and shutil.which("dpkg-query"):
        missing = missing_debian(debian_packages())
        if not missing:
            return
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        if sudo and not shutil.which("sudo"):
            fail("missing packages: " + " ".join(missing), "install them as root (apt-get install ...), then run ./course again")
        say(paint("installing: ", "bold") + " ".join(missing) + ("  (with sudo)" if sudo else ""))
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        for cmd in (sudo + ["apt-get", "update", "-qq"],
                    sudo + ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing]):
            if subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL).returncode != 0:
                fail("could not install: " + " ".join(missing), "see the apt-get message above; docs/setup.md lists the packages")
        say(paint("installed.", "green"))
    elif platform.system() == "Darwin" and shutil.which("brew"):
        listed = subprocess.run(["brew", "list", "--formula", "-1"], capture_output=True, text=True).stdout.split()
        missing = [p for p in BREW_PACKAGES if p not in listed]
        if missing:
            say(paint("installing: ", "bold") + " ".join(missing))
            if subprocess.run(["brew", "install", *missing]).returncode != 0:
                fail("brew could not install: " + " ".join(missing), "see docs/setup.md")
    elif not shutil.which("cmake"):
        fail("cmake is missing and this system has neither apt-get nor brew", "see docs/setup.md for the packages to install")


# --- build -----------------------------------------------------------------------------
def configure():
    if (BUILD / "build.ninja").exists() or (BUILD / "Makefile").exists():
        return
    generator = ["--preset", "dev"] if shutil.which("ninja") else ["-S", str(ROOT), "-B", str(BUILD)]
    say(paint("configuring ", "dim") + "build/ (first time only)")
    result = subprocess.run(["cmake", *generator], cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        say(result.stdout[-3000:] + result.stderr[-3000:])
        fail("cmake could not configure the build", "read the message above; docs/setup.md lists what is needed")


def build(targets=(), keep_going=False, quiet=False):
    """Builds the targets (all when empty). Returns True on success."""
    configure()
    cmd = ["cmake", "--build", str(BUILD)]
    for t in targets:
        cmd += ["--target", t]
    if keep_going:
        cmd += ["--", "-k", "0"] if (BUILD / "build.ninja").exists() else ["--", "-k"]
    if quiet:
        result = subprocess.run(cmd, capture_output=True, text=True)
        return result.returncode == 0, result.stdout + result.stderr
    return subprocess.run(cmd).returncode == 0, ""


# --- ctest -------------------------------------------------------------------------------
STATUS_LINE = re.compile(r"^\s*\d+/\d+ Test\s+#\d+: (.+?) \.+\s*(\S.*?)\s+[\d.]+ sec\s*$")


def ctest(label=None, regex=None, junit=None, jobs=2):
    """Runs ctest; returns {test name: status} with status 'Passed', 'Failed', 'Timeout',
    'Exception: SegFault', 'Not Run' ... and the console output."""
    cmd = ["ctest", "--test-dir", str(BUILD), "-j", str(jobs), "--no-tests=ignore"]
    if label:
        cmd += ["-L", f"^{label}$"]
    if regex:
        cmd += ["-R", regex]
    if junit:
        cmd += ["--output-junit", str(junit)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    statuses = {}
    for line in result.stdout.splitlines():
        m = STATUS_LINE.match(line)
        if m:
            statuses[m.group(1)] = m.group(2).replace("***", "").strip()
    return statuses, result.stdout


def listed_tests(label, regex=None):
    """Names of the tests ctest knows for a label (without running them)."""
    cmd = ["ctest", "--test-dir", str(BUILD), "-N", "-L", f"^{label}$"]
    if regex:
        cmd += ["-R", regex]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    return [m.group(1) for m in re.finditer(r"Test\s+#\d+: (.+)$", out, re.M)]


def junit_outputs(path):
    """{test name: captured output} from a ctest JUnit file."""
    try:
        tree = ET.parse(path)
    except (OSError, ET.ParseError):
        return {}
    return {case.get("name"): (case.findtext("system-out") or "") for case in tree.iter("testcase")}


def first_failure(output):
    """The first FAILED block of a Catch2 report, a few lines long."""
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if "FAILED" in line or "due to unexpected exception" in line:
            return "\n".join(lines[i:i + 6]).rstrip()
    return "\n".join(lines[-6:]).rstrip()


# --- commands ----------------------------------------------------------------------------
def cmd_run(args):
    mine = "--mine" in args
    rest = [a for a in args if a != "--mine"]
    if not rest or rest[0] == "--":
        fail("which lesson?", "./course run 01 (./course list shows them)", code=2)
    topic = resolve_topic(rest[0])
    lesson_args = rest[1:]
    if lesson_args and lesson_args[0] == "--":
        lesson_args = lesson_args[1:]
    ensure_dependencies()
    target = f"{topic}-lesson-mine" if mine else f"{topic}-lesson"
    ok, _ = build([target])
    if not ok:
        where = f"exercises/{topic}" if mine else "the build"
        fail(f"lesson {topic} did not build", f"fix the compiler errors above (in {where})")
    code = subprocess.run([str(BUILD / target), *lesson_args]).returncode
    if code != 0 and mine:
        say(f"next: ./course check {topic[:2]} tests your exercise piece by piece")
    sys.exit(code)


def check_topic(topic):
    """Builds and tests the student's exercise; prints a short summary; returns (passed, total)."""
    ok, log = build([f"{topic}-tests-exercise"], quiet=True)
    if not ok:
        errors = [l for l in log.splitlines() if "error" in l or "required from" in l]
        say("\n".join((errors or log.splitlines())[:25]))
        say(paint(f"✗ {topic}: your code does not compile yet", "red"))
        say(f"next: fix the first error above (in exercises/{topic}/), or ./course hint {topic[:2]}")
        # The solution's list of cases is the count (the exercise's own list only exists
        # once it has compiled).
        build([f"{topic}-tests-solution"], quiet=True)
        total = len(listed_tests("solution", f"^{re.escape(topic)}/solution/"))
        return 0, total
    junit = BUILD / "check-junit.xml"
    statuses, _ = ctest("exercise", f"^{re.escape(topic)}/exercise/", junit=junit)
    outputs = junit_outputs(junit)
    prefix = f"{topic}/exercise/"
    passed = [n for n, s in statuses.items() if s == "Passed"]
    failed = [n for n, s in statuses.items() if s != "Passed"]
    order = listed_tests("exercise", f"^{re.escape(topic)}/exercise/")   # the test file's order
    for name in sorted(statuses, key=lambda n: order.index(n) if n in order else len(order)):
        mark = paint("✓", "green") if statuses[name] == "Passed" else paint("✗", "red")
        reason = "" if statuses[name] in ("Passed", "Failed") else f"  ({statuses[name].lower()})"
        say(f"  {mark} {name[len(prefix):]}{reason}")
    if failed:
        first = min(failed, key=lambda n: order.index(n) if n in order else len(order))
        say("")
        say(paint("first failure: ", "bold") + first[len(prefix):])
        detail = first_failure(outputs.get(first, ""))
        if statuses[first] == "Timeout":
            detail = "the test did not finish in time: a deadlock, or a wait that nobody wakes?"
        say("  " + detail.replace("\n", "\n  "))
    return len(passed), len(statuses)


def cmd_check(args):
    if not args:
        fail("which exercise?", "./course check 01", code=2)
    topic = resolve_topic(args[0])
    ensure_dependencies()
    passed, total = check_topic(topic)
    remember_result(topic, passed, total)
    if total and passed == total:
        say(paint(f"✓ {topic}: all {total} tests pass. Well done!", "green"))
        say(f"next: ./course run {topic[:2]} --mine runs the lesson on your code; ./course list shows what is next")
        sys.exit(0)
    say(paint(f"✗ {topic}: {passed}/{total} tests pass", "red"))
    say(f"next: ./course hint {topic[:2]} for a hint; ./course watch {topic[:2]} re-checks on every save")
    sys.exit(1)


def read_hints(topic):
    """(task text, [hint texts]) from the exercise README: each hint is a '## Hint ...' section."""
    readme = ROOT / "exercises" / topic / "README.md"
    if not readme.exists():
        return "", []
    parts = re.split(r"^(?=## Hint)", readme.read_text(), flags=re.M)
    return parts[0], [p.strip() for p in parts[1:]]


def cmd_hint(args):
    if not args:
        fail("which exercise?", "./course hint 01", code=2)
    topic = resolve_topic(args[0])
    _, hints = read_hints(topic)
    if not hints:
        fail(f"exercises/{topic}/README.md has no hints", code=1)
    state = load_state()
    shown = state.setdefault("hints", {}).get(topic, 0)
    if "--reset" in args:
        state["hints"][topic] = 0
        save_state(state)
        say(f"hints for {topic} hidden again")
        return
    if shown >= len(hints):
        say(f"All {len(hints)} hints of {topic} are shown; here is the last one again:\n")
        say(hints[-1])
        say(f"\n(./course hint {topic[:2]} --reset hides them again; solutions/{topic}/ has the reference answer)")
        return
    say(paint(f"{topic}: hint {shown + 1} of {len(hints)}", "bold"))
    say(hints[shown])
    state["hints"][topic] = shown + 1
    save_state(state)
    if shown + 1 < len(hints):
        say(f"\n(./course hint {topic[:2]} again for the next one)")


def cmd_list(args):
    state = load_state()
    results = state.get("results", {})
    done = 0
    say(paint("topic                          exercise", "bold"))
    for topic in topics():
        r = results.get(topic)
        if r and r["total"] and r["passed"] == r["total"]:
            status, done = paint("done", "green"), done + 1
        elif r:
            status = paint(f"{r['passed']}/{r['total']} tests pass", "yellow") + paint(f"  (checked {r['when']})", "dim")
        else:
            status = paint("not started", "dim")
        hints = state.get("hints", {}).get(topic, 0)
        say(f"  {topic:<28} {status}" + (paint(f"  {hints} hint(s) seen", "dim") if hints else ""))
    n = len(topics())
    bar = "#" * round(20 * done / max(n, 1))
    say(f"\nprogress [{bar:<20}] {done}/{n} exercises done")
    nxt = next((t for t in topics() if not (results.get(t) and results[t]["total"]
                                          and results[t]["passed"] == results[t]["total"])), None)
    if nxt:
        say(f"next: ./course check {nxt[:2]} (read exercises/{nxt}/README.md first)")


def modified_exercises():
    """Topics whose exercise folder differs from the committed one (the student's work)."""
    if not (ROOT / ".git").exists() or not shutil.which("git"):
        return set()
    out = subprocess.run(["git", "status", "--porcelain", "--", "exercises"], cwd=ROOT,
                         capture_output=True, text=True).stdout
    return {m.group(1) for m in re.finditer(r"exercises/(\d\d-[^/\s]+)", out)}


def cmd_test(args):
    """solution tests pass, stub cases fail, lessons run with --quick."""
    ensure_dependencies()
    started = time.time()
    ok, _ = build()
    if not ok:
        fail("the course does not build", "fix the first compiler error above")
    # In a student's copy, exercises they changed are their work, not stubs: stub-check
    # skips those (./course check grades them). CI and --all check every stub.
    skip = set() if (os.environ.get("CI") or "--all" in args) else modified_exercises()
    summary, bad = [], []
    counted = 0   # every case run and judged, across the three labels

    statuses, _ = ctest("solution")
    failed = sorted(n for n, s in statuses.items() if s != "Passed")
    counted += len(statuses)
    summary.append(("solution", f"{len(statuses) - len(failed)}/{len(statuses)} test cases pass", not failed))
    bad += [f"solution case failed ({statuses[n]}): {n}" for n in failed]

    statuses, _ = ctest("stub-check")
    skipped = {n for n in statuses if n.split("/")[0] in skip}
    checked = {n: s for n, s in statuses.items() if n not in skipped}
    wrong = sorted(n for n, s in checked.items() if s != "Passed")
    text = f"{len(checked) - len(wrong)}/{len(checked)} exercise cases fail on the stub, as they must"
    if skip:
        text += f" (skipped your modified exercises: {', '.join(sorted(skip))})"
    counted += len(checked)
    summary.append(("stub-check", text, not wrong))
    for n in wrong:
        why = "passes on the stub (a test without teeth)" if statuses[n] == "Failed" else f"{statuses[n]} on the stub (a stub must fail fast)"
        bad.append(f"stub case {why}: {n}")

    statuses, _ = ctest("lesson-smoke", jobs=1)
    failed = sorted(n for n, s in statuses.items() if s != "Passed")
    counted += len(statuses)
    summary.append(("lesson-smoke", f"{len(statuses) - len(failed)}/{len(statuses)} lessons run with --quick", not failed))
    bad += [f"lesson failed ({statuses[n]}): {n}" for n in failed]

    if counted == 0:
        bad.append("no test ran at all")
    say("")
    for label, text, good in summary:
        say(f"{paint('✓', 'green') if good else paint('✗', 'red')} {label:<13} {text}")
    for line in bad:
        say(paint("  " + line, "red"))
    say(f"self-test took {time.time() - started:.0f} s")
    if bad:
        say("next: ctest --test-dir build --output-on-failure -R '<name>' shows a case's output")
    say(f"{counted - len(bad)} passed, {len(bad)} failed")
    sys.exit(1 if bad else 0)


def cmd_grade(args):
    out = Path(args[args.index("--out") + 1]) if "--out" in args else Path("grade")
    out.mkdir(parents=True, exist_ok=True)
    ensure_dependencies()
    # The solution's test list is the denominator of each topic's score.
    build([f"{t}-tests-solution" for t in topics()], keep_going=True, quiet=True)
    # Each exercise is built on its own: one that does not compile scores 0 (its stale
    # test program from an earlier build must not be run) and the others are graded.
    statuses, outputs = {}, {}
    for topic in topics():
        built, _ = build([f"{topic}-tests-exercise"], quiet=True)
        if not built:
            continue
        junit = out / "ctest-junit.xml"
        found, _ = ctest("exercise", f"^{re.escape(topic)}/exercise/", junit=junit)
        statuses.update(found)
        outputs.update(junit_outputs(junit))
        junit.unlink(missing_ok=True)
    report = {"topics": [], "passed": 0, "total": 0}
    suites = []
    for topic in topics():
        # The solution's list of cases is the denominator, so a topic whose exercise does
        # not compile (no cases discovered) still counts every case, as failed.
        expected = [n.replace("/solution/", "/exercise/", 1) for n in listed_tests("solution", f"^{re.escape(topic)}/solution/")]
        cases = []
        for name in expected:
            status = statuses.get(name, "Not built")
            reason = {"Passed": None, "Failed": "failed", "Timeout": "timed out (hung?)",
                      "Not built": "did not compile"}.get(status, status.lower())
            cases.append((name, reason, outputs.get(name, "")))
        passed = sum(1 for _, reason, _ in cases if reason is None)
        report["topics"].append({"id": topic, "passed": passed, "total": len(cases)})
        report["passed"] += passed
        report["total"] += len(cases)
        suites.append((topic, cases))
    (out / "score.json").write_text(json.dumps(report, indent=2) + "\n")
    write_junit(out / "junit.xml", suites)

    say(paint("topic                          score", "bold"))
    for t in report["topics"]:
        color = "green" if t["total"] and t["passed"] == t["total"] else "yellow"
        say(f"  {t['id']:<28} {paint(str(t['passed']) + '/' + str(t['total']), color)}")
        for name, reason, _ in next(c for s, c in suites if s == t["id"]):
            if reason and reason != "failed":
                say(paint(f"      {name.split('/', 2)[2]}: {reason}", "dim"))
    say(f"  {'total':<28} {report['passed']}/{report['total']}")
    say(f"wrote {out / 'score.json'} and {out / 'junit.xml'}")


def write_junit(path, suites):
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<testsuites>"]
    for topic, cases in suites:
        failures = sum(1 for _, reason, _ in cases if reason)
        lines.append(f'  <testsuite name="{escape(topic)}" tests="{len(cases)}" failures="{failures}">')
        for name, reason, output in cases:
            case = escape(name.split("/", 2)[2], {'"': "&quot;"})
            if reason is None:
                lines.append(f'    <testcase classname="{escape(topic)}" name="{case}"/>')
            else:
                lines.append(f'    <testcase classname="{escape(topic)}" name="{case}">')
                lines.append(f'      <failure message="{escape(reason, {chr(34): "&quot;"})}">{escape(output[-4000:])}</failure>')
                lines.append("    </testcase>")
        lines.append("  </testsuite>")
    lines.append("</testsuites>")
    path.write_text("\n".join(lines) + "\n")


def snapshot(folder):
    return {p: p.stat().st_mtime for p in folder.rglob("*") if p.is_file()}


def cmd_watch(args):
    ensure_dependencies()
    if args:
        topic = resolve_topic(args[0])
    else:
        results = load_state().get("results", {})
        topic = next((t for t in topics() if not (results.get(t) and results[t]["total"]
                                                 and results[t]["passed"] == results[t]["total"])), topics()[0])
    folder = ROOT / "exercises" / topic
    say(paint(f"watching exercises/{topic}/ (Ctrl-C to stop)", "bold"))
    seen = None
    try:
        while True:
            now = snapshot(folder)
            if now != seen:
                seen = now
                if TTY:
                    print("\033[2J\033[H", end="")
                say(paint(time.strftime("%H:%M:%S "), "dim") + f"checking {topic} ...")
                # check runs in a child process: a compile error or a hung test (stopped
                # by its CTest timeout) ends that run, never the watch.
                subprocess.run([sys.executable, __file__, "check", topic])
                say(paint("\nwaiting for you to save a file ...", "dim"))
            time.sleep(1)
    except KeyboardInterrupt:
        say("\nstopped watching.")


def cmd_tool(target, args):
    ensure_dependencies()
    ok, log = build([target], quiet=True)
    if not ok:
        say(log[-3000:])
        fail(f"{target} did not build")
    program = next((p for p in BUILD.rglob(target) if p.is_file() and os.access(p, os.X_OK)), None)
    if program is None:
        fail(f"built {target} but cannot find it under build/")
    sys.exit(subprocess.run([str(program), *args]).returncode)


def main(argv):
    if not argv or argv[0] in ("-h", "--help", "help"):
        say(__doc__.strip())
        return
    command, args = argv[0], argv[1:]
    commands = {"run": cmd_run, "check": cmd_check, "hint": cmd_hint, "list": cmd_list, "test": cmd_test,
                "grade": cmd_grade, "watch": cmd_watch,
                "datasets": lambda a: cmd_tool("course-datasets", a),
                "serve": lambda a: cmd_tool("course-serve", a)}
    if command not in commands:
        fail(f"unknown command '{command}'", "./course --help lists the commands", code=2)
    commands[command](args)


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)   # `./course list | head` ends quietly
    main(sys.argv[1:])
