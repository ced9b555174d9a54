"""The `course` command: lessons, exercises, hints, progress, self-test and grading.

NN is a topic number (4, 04) or name (04-channels). Everything builds into build/
(sanitizer builds into build-tsan/ and build-asan/). `./course COMMAND --help` explains
one command.
"""

import argparse
import fnmatch
import hashlib
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
from collections import OrderedDict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
STATE_DIR = ROOT / ".course"
STATE_FILE = STATE_DIR / "state.json"
TTY = sys.stdout.isatty()
SANITIZERS = {"tsan": ("thread", "ThreadSanitizer"), "asan": ("address", "AddressSanitizer+UBSan")}
SANITIZER_ENV = {"TSAN_OPTIONS": "halt_on_error=1:second_deadlock_stack=1",
                 "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=1",
                 "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"}


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


def indent(text, by="    "):
    return "\n".join(by + line if line else line for line in text.splitlines())


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


def exercise_files(topic):
    folder = ROOT / "exercises" / topic
    return sorted(p.relative_to(ROOT).as_posix() for p in folder.iterdir() if p.suffix in (".hpp", ".cpp", ".h"))


# --- state (hints shown, last results), git-ignored --------------------------------------
def load_state():
    try:
        return json.loads(STATE_FILE.read_text())
    except (OSError, ValueError):
        return {"hints": {}, "results": {}}


def save_state(state):
    STATE_DIR.mkdir(exist_ok=True)
    tmp = STATE_FILE.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    tmp.replace(STATE_FILE)


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
    """What the course needs, by the distribution's package names (docs/setup.md lists them).
    Only the Boost libraries the build uses: libboost-all-dev alone installs ~1 GB."""
    rel = os_release()
    # Boost headers (Asio, Beast, UUID, ...) plus the compiled libraries the build links and
    # their CMake packages; MPI and Serialization for topic 09. Debian 12's default Boost is
    # 1.74 and the course needs >= 1.81, so there the names carry the version.
    boost_libraries = ["program-options", "thread", "fiber", "context", "mpi", "serialization"]
    if rel.get("ID") == "debian" and rel.get("VERSION_ID") == "12":
        boost = ["libboost1.81-dev"] + [f"libboost-{name}1.81-dev" for name in boost_libraries]
    else:
        boost = ["libboost-dev"] + [f"libboost-{name}-dev" for name in boost_libraries]
    # Catch2 3 is libcatch2-dev where that exists (Debian 13: catch2 is a transitional package
    # there); Debian 12's Catch2 2.13 and Ubuntu 24.04's 3.4 are still called catch2. apt-cache
    # policy shows a "Candidate:" version for a package apt can install.
    policy = subprocess.run(["apt-cache", "policy", "libcatch2-dev"], capture_output=True, text=True).stdout \
        if shutil.which("apt-cache") else ""
    has_libcatch2 = any(line.strip().startswith("Candidate:") and "(none)" not in line for line in policy.splitlines())
    catch2 = "libcatch2-dev" if has_libcatch2 else "catch2"
    return ["g++", "cmake", "ninja-build", "ccache", "pkg-config", "git", *boost, "libcurl4-openssl-dev",
            "zlib1g-dev", "libssl-dev", "nlohmann-json3-dev", catch2, "libtbb-dev", "libsimdjson-dev",
            "libdeflate-dev", "openmpi-bin", "libopenmpi-dev", "gdb"]


BREW_PACKAGES = ["cmake", "ninja", "ccache", "boost", "boost-mpi", "curl", "zlib", "openssl@3", "nlohmann-json",
                 "catch2", "tbb", "simdjson", "libdeflate", "open-mpi"]


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
        install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing]

        def apt(cmd):
            done = subprocess.run(sudo + cmd, env=env, capture_output=True, text=True)
            if done.returncode != 0:   # apt's messages only when they matter (no debconf chatter)
                say(done.stderr[-3000:])
                fail("could not install: " + " ".join(missing), "see the apt-get message above; docs/setup.md lists the packages")
            return done.stdout

        apt(["apt-get", "update", "-qq"])
        # What it will download, from the URIs apt would fetch ('URL' name size hash).
        uris = [line.split() for line in apt(install + ["--print-uris"]).splitlines() if line.startswith("'")]
        size = sum(int(u[2]) for u in uris if len(u) > 2 and u[2].isdigit())
        say(f"  {len(uris)} packages with their dependencies, {size / 2**20:.0f} MiB to download ...")
        apt(install)
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
def build_dir(sanitizer=None):
    return ROOT / f"build-{sanitizer}" if sanitizer else BUILD


def configure(sanitizer=None):
    where = build_dir(sanitizer)
    if (where / "build.ninja").exists() or (where / "Makefile").exists():
        return
    if sanitizer:
        args = ["--preset", sanitizer]
    else:
        args = ["--preset", "dev"] if shutil.which("ninja") else ["-S", str(ROOT), "-B", str(where)]
    say(paint("configuring ", "dim") + f"{where.name}/ (first time only)")
    result = subprocess.run(["cmake", *args], cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        say(result.stdout[-3000:] + result.stderr[-3000:])
        fail("cmake could not configure the build", "read the message above; docs/setup.md lists what is needed")


def build(targets=(), keep_going=False, quiet=False, sanitizer=None):
    """Builds the targets (all when empty). Returns (ok, output when quiet)."""
    configure(sanitizer)
    where = build_dir(sanitizer)
    cmd = ["cmake", "--build", str(where)]
    for t in targets:
        cmd += ["--target", t]
    if keep_going:
        cmd += ["--", "-k", "0"] if (where / "build.ninja").exists() else ["--", "-k"]
    if quiet:
        result = subprocess.run(cmd, capture_output=True, text=True)
        return result.returncode == 0, result.stdout + result.stderr
    return subprocess.run(cmd).returncode == 0, ""


def versions_line():
    try:
        return (BUILD / "course-versions.txt").read_text().strip()
    except OSError:
        return "versions unknown (build/course-versions.txt is written when cmake configures)"


# --- ctest -------------------------------------------------------------------------------
STATUS_LINE = re.compile(r"^\s*\d+/\d+ Test\s+#\d+: (.+?) \.+\s*(\S.*?)\s+[\d.]+ sec\s*$")
HANG_BEGIN, HANG_END = "course-hang-begin:", "course-hang-end"


class Case:
    """One CTest entry's result: status is 'Passed', 'Failed', 'Hung', 'Timeout',
    'Exception: SegFault', 'Not Run', ... output is what the test printed."""

    def __init__(self, name, status, output="", seconds=0.0):
        self.name, self.status, self.output, self.seconds = name, status, output, seconds
        if HANG_BEGIN in output:
            self.status = "Hung"

    @property
    def passed(self):
        return self.status == "Passed"

    def short(self):
        return self.name.split("/", 2)[2] if self.name.count("/") >= 2 else self.name


def run_ctest(label=None, regex=None, jobs=2, sanitizer=None, repeat=None, env=None):
    """Runs ctest and returns {name: Case} in the order ctest reported them."""
    where = build_dir(sanitizer)
    junit = where / f"ctest-{os.getpid()}.xml"
    cmd = ["ctest", "--test-dir", str(where), "-j", str(jobs), "--no-tests=ignore", "--output-junit", str(junit)]
    if label:
        cmd += ["-L", f"^{label}$"]
    if regex:
        cmd += ["-R", regex]
    if repeat:
        cmd += ["--repeat", f"until-fail:{repeat}"]
    result = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, **(env or {})))
    outputs, times = {}, {}
    try:
        for case in ET.parse(junit).iter("testcase"):
            outputs[case.get("name")] = case.findtext("system-out") or ""
            times[case.get("name")] = float(case.get("time") or 0)
    except (OSError, ET.ParseError):
        pass
    junit.unlink(missing_ok=True)
    cases = OrderedDict()
    for line in result.stdout.splitlines():
        m = STATUS_LINE.match(line)
        if m:
            name = m.group(1)
            cases[name] = Case(name, m.group(2).replace("***", "").strip(), outputs.get(name, ""), times.get(name, 0.0))
    return cases


def listed_tests(label, regex=None, sanitizer=None):
    """Names of the tests ctest knows for a label, in the test files' order (without running them).
    Entries labelled mpi-multihost (topic 09 across network namespaces, root only) are left
    out: they test the course's cluster, have no exercise twin and count in no score."""
    cmd = ["ctest", "--test-dir", str(build_dir(sanitizer)), "-N", "-L", f"^{label}$", "-LE", "^mpi-multihost$"]
    if regex:
        cmd += ["-R", regex]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    return [m.group(1) for m in re.finditer(r"Test\s+#\d+: (.+)$", out, re.M)]


def names_regex(names):
    return "^(" + "|".join(re.escape(n) for n in names) + ")$"


# --- reading what a test printed ----------------------------------------------------------
BLOCK_START = re.compile(r"FAILED:|due to unexpected exception|^\S.*:\d+: (error|fatal error)")
CONTINUATION = re.compile(r"^(\s|with expansion:|with message|with messages:|due to unexpected)")


def failure_blocks(output):
    """Every failing assertion of a Catch2 report, each block whole (the assertion, its
    expansion and its messages), with the section it was in."""
    lines = output.splitlines()
    blocks, section, i = [], [], 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("-----") and i + 1 < len(lines):
            # -----\n case\n   section\n -----: remember the section path
            j, names = i + 1, []
            while j < len(lines) and not lines[j].startswith("-----"):
                names.append(lines[j].strip())
                j += 1
            section = [n for n in lines[i + 1:j] if n.startswith(" ")]   # sections are indented
            section = [n.strip() for n in section]                        # (a long case name wraps unindented)
            i = j + 1
            continue
        if "FAILED:" in line or line.startswith(("due to unexpected exception", "HUNG:")):
            block = [line]
            j = i + 1
            while j < len(lines):
                nxt = lines[j]
                if nxt.strip() == "":
                    k = j + 1   # a blank line ends the block unless the block goes on after it
                    if k < len(lines) and CONTINUATION.match(lines[k]) and "FAILED:" not in lines[k]:
                        block.append("")
                        j += 1
                        continue
                    break
                if nxt.startswith("=====") or nxt.startswith("-----") or "FAILED:" in nxt:
                    break
                block.append(nxt)
                j += 1
            text = "\n".join(block).rstrip()
            if section:
                text = "in section: " + " / ".join(section) + "\n" + text
            blocks.append(text)
            i = j
            continue
        i += 1
    return blocks


def first_failure(case):
    """The first failing assertion of a case, whole; or what happened instead."""
    # Topic 09: a rank that met an exception printed "rank R of N: ... threw: ..." and
    # aborted the job (MPI_Abort); the other ranks were then stopped with SIGTERM, which
    # Catch2 reports as their failure: the rank's own message is the one that matters.
    ranks = re.findall(r"^rank \d+ of \d+: .*", case.output, re.M)
    if ranks:
        first = ranks[0]
        others = sum(1 for r in ranks[1:] if r.split(":", 1)[1] != first.split(":", 1)[1])
        same = len(ranks) - 1 - others
        more = (f" (and {same} other rank(s) the same)" if same else "") + \
               (f" (and {others} other rank(s) something else: --verbose shows all)" if others else "")
        return first + more + "\nthe job was aborted so that no rank waits forever for this one"
    if "this case expects" in case.output and "MPI ranks" in case.output:
        return next(l for l in case.output.splitlines() if "this case expects" in l)
    blocks = failure_blocks(case.output)
    if blocks:
        return blocks[0]
    if case.status == "Timeout":
        return "the test did not finish in time: a deadlock, or a wait that nobody wakes?"
    tail = [l for l in case.output.splitlines() if l.strip()][-8:]
    return "\n".join(tail) if tail else f"the test program ended with: {case.status}"


def one_line(text, limit=300):
    return re.sub(r"\s+", " ", text).strip()[:limit]


# --- where hung threads wait (the watchdog's gdb output) ----------------------------------
GDB_THREAD = re.compile(r"^Thread (\d+) \(.*\):\s*$")
GDB_FRAME = re.compile(r"^#\d+\s+(?:0x[0-9a-f]+ in )?(?P<func>.+?) \([^()]*\)"
                       r"(?: at (?P<file>\S+):(?P<line>\d+)| from \S+)?\s*$")
WAIT_KINDS = [(("pthread_cond_wait", "pthread_cond_timedwait", "pthread_cond_clockwait", "condition_variable"),
               "waits on a condition variable"),
              (("lll_lock_wait", "pthread_mutex_lock", "mutex::lock", "mutex_clocklock"), "waits for a mutex"),
              (("pthread_join", "thread::join", "clone3"), "waits for a thread to finish (join)"),
              (("nanosleep", "sleep_for", "sleep"), "sleeps"),
              (("waitpid", "wait4", "waitid"), "waits for a child process"),
              (("poll", "epoll_wait", "select", "read", "recv", "accept"), "waits for I/O"),
              (("latch", "barrier", "atomic_wait", "__atomic_wait", "futex"), "waits (latch, barrier or atomic)")]


def strip_long_templates(name, keep=20):
    """'within<drain<Channel<int> >(...)::{lambda()#2}>' -> 'within<…>': long template
    argument lists say little to a reader; short ones (Channel<int>) stay."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(name):
        if ch == "<" and not name[max(0, i - 8):i].endswith("operator"):
            if depth == 0:
                start = len(out)
            depth += 1
        out.append(ch)
        if ch == ">" and depth > 0:
            depth -= 1
            if depth == 0 and len(out) - start > keep:
                out[start:] = list("<…>")
    return "".join(out)


def short_function(name):
    if name.startswith(("C_A_T_C_H_T_E_S_T", "CATCH2_INTERNAL_TEST_")):   # Catch2 2, 3
        return "the test case"
    if name.startswith("_Z"):   # a symbol gdb could not demangle: a lambda's, usually
        return "a lambda"
    name = name.replace("(anonymous namespace)::", "")
    name = re.sub(r"^course::\w+::", "", name)
    name = strip_long_templates(name)
    lam = re.match(r"^(.*?)(?:\(.*?\))?(?: const)?::\{lambda\(.*$", name)   # X(...)::{lambda()#2}::operator()
    if lam:
        return "a lambda in " + short_function(lam.group(1))
    if name.endswith(")") and not name.endswith("()"):   # drop a long parameter list
        depth = 0
        for i in range(len(name) - 1, -1, -1):
            depth += {")": 1, "(": -1}.get(name[i], 0)
            if depth == 0:
                name = name[:i] + "(…)"
                break
    if name == "operator()":
        name = "a lambda (operator())"
    return name


def hang_threads(output, own_dirs):
    """[(thread number, what it waits on, [(function, file, line)] in own_dirs)] from the
    gdb output the hang watchdog printed."""
    text = output.split(HANG_BEGIN, 1)[1] if HANG_BEGIN in output else output
    text = text.split(HANG_END, 1)[0]
    threads, current = [], None
    for line in text.splitlines():
        m = GDB_THREAD.match(line)
        if m:
            current = [int(m.group(1)), [], []]   # number, all function names, own frames
            threads.append(current)
            continue
        if "<signal handler called>" in line and current is not None:
            current[1], current[2] = [], []   # the watchdog itself: the thread waited below it
            continue
        m = GDB_FRAME.match(line)
        if m and current is not None:
            func, file = m.group("func"), m.group("file")
            current[1].append(func)
            if file and any(d in file for d in own_dirs):
                current[2].append((short_function(func), Path(file).name, int(m.group("line"))))
    result = []
    for number, funcs, own in threads:
        top = funcs[:10]
        kind = next((label for keys, label in WAIT_KINDS if any(k in f for f in top for k in keys)), "runs")
        if any("stop_with_thread_stacks" in f for f in funcs):
            # The thread that gave up waiting and printed the stacks: only its test frames matter.
            kind = "is the test, which stopped waiting,"
            own = [f for f in own if not f[1].endswith((".hpp", ".h"))]
        result.append((number, kind, own))
    return result


def hang_summary(case, topic_dirs):
    """Lines saying where each stuck thread waits, in the given folders' files."""
    threads = hang_threads(case.output, topic_dirs)
    if not threads:
        return ["the test was stopped after it hung, but no stack could be taken "
                "(is gdb installed? ./course installs it on Debian and Ubuntu)"]
    lines, others = [], 0
    for number, kind, own in sorted(threads):
        if not own:
            others += 1
            continue
        top, rest = own[0], own[1:]
        chain = "".join(f" ← `{f}` ({file}:{line})" for f, file, line in rest[:4])
        lines.append(f"thread {number} {kind} in `{top[0]}` ({top[1]}:{top[2]}){chain}")
    if others:
        lines.append(f"({others} other thread{'s' if others > 1 else ''} outside your files and the test)")
    return lines


# --- sanitizer reports -----------------------------------------------------------------------
SAN_START = re.compile(r"^(WARNING: ThreadSanitizer: .*|=+\d+=+ERROR: AddressSanitizer: .*|.*runtime error: .*)$")
SAN_FRAME = re.compile(r"^\s+#\d+ (?:0x[0-9a-f]+ in )?(?P<func>.+?) (?P<file>\S+?):(?P<line>\d+)(?::\d+)?(?: \(.*\))?\s*$")
SAN_MEANING = {
    "data race": "two threads touched the same memory at the same time, at least one of them writing, "
                 "with no lock or atomic ordering them: the result depends on luck",
    "heap-use-after-free": "memory was used after it was freed: a thread or callback kept a pointer or "
                           "reference to something that had already been destroyed",
    "lock-order-inversion": "two mutexes are taken in opposite orders by two threads: "
                            "a deadlock waiting to happen",
    "stack-use-after-return": "a reference to a local variable outlived its function (often a lambda "
                              "that captured by reference and ran later on another thread)",
    "runtime error": "undefined behaviour (overflow, a bad cast, a misaligned access...)",
}


def sanitizer_report(output, own_dirs):
    """(headline, [lines]) of the first sanitizer report, trimmed to frames in own_dirs."""
    lines = output.splitlines()
    start = next((i for i, l in enumerate(lines) if SAN_START.match(l)), None)
    if start is None:
        return None, []
    headline = re.sub(r"^=+\d+=+ERROR: ", "", lines[start]).strip()
    trimmed = []
    for line in lines[start + 1:]:
        if line.startswith("SUMMARY:") or line.startswith("=================="):
            break
        m = SAN_FRAME.match(line)
        if m:
            if any(d in m.group("file") for d in own_dirs):
                trimmed.append(f"      `{short_function(m.group('func'))}` ({Path(m.group('file')).name}:{m.group('line')})")
        elif line.strip() and not line.startswith("    "):
            if trimmed and trimmed[-1].startswith("  ") and not trimmed[-1].startswith("      "):
                trimmed.pop()   # a heading with no frame of interest under it
            trimmed.append("  " + line.strip())
    if trimmed and not trimmed[-1].startswith("      "):
        trimmed.pop()
    return headline, trimmed


def sanitizer_meaning(headline):
    return next((text for key, text in SAN_MEANING.items() if key in headline), None)


# --- compile errors ----------------------------------------------------------------------------
DIAG = re.compile(r"^(?P<loc>[^\s:][^:]*:\d+:\d+): (?P<kind>error|fatal error): (?P<msg>.*)$")
CONTEXT = re.compile(r"^[^\s:][^:]*: (In (instantiation|function|member|constructor|destructor|lambda)|"
                     r"In static member)|^[^\s:][^:]*:\d+:\d+:\s+(required from|required by|in .*instantiat)|"
                     r"^In file included from|^\s+from ")


def compile_errors(log):
    """Distinct compiler errors, in order: [(key, first complete diagnostic text)].
    The same error in a header included by several files is printed once."""
    lines = log.splitlines()
    seen, errors, context = set(), [], []
    i = 0
    while i < len(lines):
        line = lines[i]
        m = DIAG.match(line)
        if m:
            key = (m.group("loc"), m.group("msg"))
            body = [line]
            j = i + 1
            while j < len(lines) and (lines[j].startswith(" ") or re.match(r"^\s*\d* \|", lines[j])
                                      or ": note: " in lines[j]) and not DIAG.match(lines[j]):
                body.append(lines[j])
                j += 1
            if key not in seen:
                seen.add(key)
                errors.append((key, "\n".join(context[-6:] + body[:20])))
            context = []
            i = j
            continue
        if CONTEXT.match(line):
            context.append(line)
        elif line.startswith("FAILED:") or line.startswith("["):
            context = []
        i += 1
    return errors


# --- hints -----------------------------------------------------------------------------------
def read_hints(topic):
    """[(title, [case globs], text)] from solutions/NN-name/HINTS.md: '## Hint K: title'
    sections, each optionally starting with a 'Cases: a*, b' line."""
    path = ROOT / "solutions" / topic / "HINTS.md"
    if not path.exists():
        return []
    hints = []
    for part in re.split(r"^(?=## Hint)", path.read_text(), flags=re.M)[1:]:
        title, _, body = part.partition("\n")
        body = body.strip("\n")
        globs = []
        m = re.match(r"Cases:\s*(.*)\n?", body)
        if m:
            globs = [g.strip() for g in m.group(1).split(",") if g.strip()]
            body = body[m.end():].strip("\n")
        hints.append((title.lstrip("# ").strip(), globs, body))
    return hints


def hints_about(topic, case_name):
    return [k for k, (_, globs, _) in enumerate(read_hints(topic), 1)
            if any(fnmatch.fnmatchcase(case_name, g) for g in globs)]


# --- commands ----------------------------------------------------------------------------
def forward_signals_to(child):
    def handler(signum, _frame):
        try:
            child.send_signal(signum)
        except ProcessLookupError:
            pass
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, handler)


CLUSTER_TOOL = ROOT / "cmake" / "course-cluster"
CLUSTER_DIR = BUILD / "cluster"
MPI_PACKAGES = ("openmpi-bin libopenmpi-dev and Boost.MPI (libboost-mpi1.81-dev on Debian 12, "
                "libboost-mpi-dev elsewhere; brew: open-mpi boost-mpi)")


def mpi_topic(topic):
    """Whether the topic's lesson and tests run on MPI ranks (course_topic(... MPI ...))."""
    text = (ROOT / "CMakeLists.txt").read_text()
    return re.search(rf"course_topic\(\s*{re.escape(topic)}\b[^)]*\bMPI\b", text) is not None


def shown(path):
    """A path as the student reads it: relative to the course's folder when inside it."""
    try:
        return Path(path).relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def hostfile_hosts(path):
    """The host lines of an Open MPI hostfile (comments and blank lines left out)."""
    lines = (line.split("#", 1)[0].strip() for line in Path(path).read_text().splitlines())
    return [line for line in lines if line]


def refresh_build_system():
    """Re-runs CMake when the build's inputs changed (what a build would do first), so
    that what it generates (build/course-mpirun, the topics' targets) is current."""
    configure()
    target = "build.ninja" if (BUILD / "build.ninja").exists() else "cmake_check_build_system"
    result = subprocess.run(["cmake", "--build", str(BUILD), "--target", target], capture_output=True, text=True)
    if result.returncode != 0:
        say(result.stdout[-3000:] + result.stderr[-3000:])
        fail("cmake could not configure the build", "read the message above; docs/setup.md lists what is needed")


def mpi_hosts(opts):
    """(hostfile, default rank count) for --hosts cluster|FILE, or (None, 2)."""
    if not opts.hosts:
        return None, 2
    if opts.hosts == "cluster":
        hostfile = CLUSTER_DIR / "hostfile"
        if not hostfile.exists():
            fail("no cluster is up: --hosts cluster runs on the hosts of `./course cluster up N` "
                 f"({shown(hostfile)} is missing)",
                 "sudo ./course cluster up 3, then ./course run 09 --hosts cluster")
        if os.geteuid() != 0:
            fail("--hosts cluster starts the ranks inside the cluster's network namespaces, which needs root",
                 "sudo ./course run 09 --hosts cluster")
        named = re.search(r"^# course-cluster: \S+ (.*)$", hostfile.read_text(), re.M)
        missing = [h for h in (named.group(1).split() if named else []) if not Path("/run/netns", h).exists()]
        if missing:
            fail(f"the cluster of {shown(hostfile)} is not up (no network namespace {missing[0]}): "
                 "the machine restarted, or something removed it",
                 f"sudo ./course cluster up {len(hostfile_hosts(hostfile))}")
    else:
        hostfile = Path(opts.hosts).resolve()
        if not hostfile.is_file():
            fail(f"no hostfile {opts.hosts}", "--hosts takes `cluster` or an Open MPI hostfile (docs/setup.md, "
                 "\"Running on several hosts\")", code=2)
    hosts = hostfile_hosts(hostfile)
    if not hosts:
        fail(f"{hostfile} names no host", "one line per host: `HOST slots=1`", code=2)
    return hostfile, len(hosts)


def cmd_run(opts):
    topic = resolve_topic(opts.topic)
    mpi = mpi_topic(topic)
    if not mpi and (opts.np is not None or opts.hosts):
        fail(f"--np and --hosts choose the MPI ranks of topic 09; lesson {topic} runs as one process",
             f"./course run {topic[:2]} [-- lesson options]", code=2)
    if opts.np is not None and opts.np < 1:
        fail("--np needs at least 1 rank", code=2)
    hostfile, ranks = mpi_hosts(opts) if mpi else (None, None)
    ensure_dependencies()
    launcher, placement = [], None
    if mpi:
        refresh_build_system()
        if not (BUILD / "course-mpirun").exists():   # MPI installed since build/ was configured?
            say(paint("configuring build/ again: looking for MPI", "dim"))
            subprocess.run(["cmake", str(BUILD)], capture_output=True)
        if not (BUILD / "course-mpirun").exists():
            fail(f"lesson {topic} needs MPI, which was not found when build/ was configured",
                 f"install {MPI_PACKAGES}, then run this again (if this message stays: delete build/)")
        ranks = opts.np or ranks
        launcher = [str(BUILD / "course-mpirun"), "-n", str(ranks)]
        if hostfile:
            launcher += ["--hosts", str(hostfile)]
            named = re.search(r"^# course-cluster: \S+ (.*)$", hostfile.read_text(), re.M)
            hosts = named.group(1).split() if named else [h.split()[0] for h in hostfile_hosts(hostfile)]
            where = "the cluster's hosts (network namespaces)" if named else f"the hosts of {hostfile}"
            placement = f"{ranks} MPI rank(s) on {where}: " + ", ".join(hosts[:8]) + (" ..." if len(hosts) > 8 else "")
    target = f"{topic}-lesson-mine" if opts.mine else f"{topic}-lesson"
    ok, _ = build([target])
    if not ok:
        where = f"exercises/{topic}" if opts.mine else "the build"
        fail(f"lesson {topic} did not build", f"fix the compiler errors above (in {where})")
    if opts.mine:
        say(paint(f"lesson {topic} on YOUR code: ", "bold") + ", ".join(exercise_files(topic)))
        say(paint("(rows the lesson labels as demonstrations of a mistake are its own code, not yours)", "dim"))
    if placement:
        say(paint(placement, "dim"))
    # The lesson runs as our child (under mpiexec for topic 09, which prints its command);
    # a signal sent to ./course reaches it too.
    child = subprocess.Popen([*launcher, str(BUILD / target), *opts.args])
    forward_signals_to(child)
    code = child.wait()
    if code != 0 and opts.mine:
        say(f"next: ./course check {topic[:2]} tests your exercise piece by piece")
    sys.exit(code if code >= 0 else 128 - code)


def cmd_cluster(opts):
    """Runs cmake/course-cluster for the course's own cluster (name course, files in build/cluster)."""
    if opts.action == "up":
        if opts.hosts is None:
            fail("how many hosts? ./course cluster up N (for example 3)", code=2)
        args = ["up", str(opts.hosts), "--dir", str(CLUSTER_DIR), "--hint", f"./course cluster up {opts.hosts}",
                "--next", "./course run 09 --hosts cluster (as root); ./course cluster down removes it all"]
        if opts.net:
            args += ["--net", opts.net]
    elif opts.hosts is not None or opts.net:
        fail(f"cluster {opts.action} takes no N or --net", code=2)
    elif opts.action == "down":
        args = ["down", "--dir", str(CLUSTER_DIR), "--hint", "./course cluster down"]
    else:
        args = ["status", "--hint", "./course cluster status"]
    if opts.verbose:
        args.append("--verbose")
    sys.stdout.flush()
    sys.exit(subprocess.run([sys.executable, str(CLUSTER_TOOL), *args]).returncode)


def exercise_hash(topic):
    h = hashlib.sha256()
    for path in sorted((ROOT / "exercises" / topic).rglob("*")):
        if path.is_file():
            h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()[:16]


def show_compile_errors(topic, log, sanitizer=None):
    logs = build_dir(sanitizer) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    saved = logs / f"check-{topic}-compile.txt"
    saved.write_text(log)
    errors = compile_errors(log)
    if errors:
        say(paint("the first error, whole:", "bold"))
        say(indent(errors[0][1], "  "))
        if len(errors) > 1:
            say(paint(f"\n{len(errors) - 1} more distinct error(s):", "bold"))
            for (loc, msg), _ in errors[1:8]:
                say(f"  {loc}: {msg}")
            if len(errors) > 8:
                say(f"  ... and {len(errors) - 8} more")
    else:
        say("\n".join(log.splitlines()[-30:]))
    say(paint(f"✗ {topic}: your code does not compile yet", "red"))
    say(f"the full compiler output: {saved.relative_to(ROOT)}")
    say(f"next: fix the first error above (in exercises/{topic}/), then ./course check {topic[:2]} again")


def select_cases(topic, pattern, sanitizer=None):
    """The exercise cases of a topic in the test files' order, filtered by a --case glob."""
    names = listed_tests("exercise", f"^{re.escape(topic)}/exercise/", sanitizer)
    if pattern:
        prefix = f"{topic}/exercise/"
        names = [n for n in names if fnmatch.fnmatchcase(n[len(prefix):], pattern)]
    return names


def print_case_lines(topic, cases, order, counts=None, runs=1):
    for name in sorted(cases, key=lambda n: order.index(n) if n in order else len(order)):
        case = cases[name]
        mark = paint("✓", "green") if case.passed else paint("✗", "red")
        reason = "" if case.status in ("Passed", "Failed") else f"  ({case.status.lower()})"
        count = f"  [{counts[name]}/{runs} passed]" if counts is not None else ""
        say(f"  {mark} {case.short()}{reason}{count}")


def explain_failures(topic, failed, verbose, sanitizer=None, limit=6):
    own = [f"/exercises/{topic}/"]
    own_and_tests = own + [f"/tests/{topic}/"]
    for case in failed[:limit if not verbose else len(failed)]:
        say("")
        say(paint("✗ " + case.short(), "bold") + (f"  ({case.status.lower()})" if case.status not in ("Failed",) else ""))
        if sanitizer:
            headline, frames = sanitizer_report(case.output, own_and_tests)
            if headline:
                say("  " + paint(headline, "red"))
                meaning = sanitizer_meaning(headline)
                if meaning:
                    say("  what it means: " + meaning)
                if frames:
                    say("\n".join(frames))
                else:
                    say("  (no frame in your files: see the full report)")
                report = build_dir(sanitizer) / "logs" / (re.sub(r"[^\w.-]+", "_", case.short())[:80] + ".txt")
                report.parent.mkdir(parents=True, exist_ok=True)
                report.write_text(case.output)
                say(f"  full report: {report.relative_to(ROOT)}")
                if not verbose:
                    continue
        if case.status == "Hung":
            blocks = failure_blocks(case.output)
            if blocks:
                say(indent(blocks[0], "  "))
            say("  it hung: where each thread was waiting when it was stopped:")
            for line in hang_summary(case, own_and_tests):
                say("    " + line)
        elif verbose:
            say(indent(case.output, "  "))
            continue
        else:
            blocks = failure_blocks(case.output)
            say(indent(blocks[0] if blocks else first_failure(case), "  "))
            if len(blocks) > 1:
                say(paint(f"  (and {len(blocks) - 1} more failing assertion(s) in this case: --verbose shows them)", "dim"))
        about = hints_about(topic, case.short())
        if about:
            which = f"hint {about[0]} is" if len(about) == 1 else \
                f"hints {', '.join(map(str, about[:-1]))} and {about[-1]} are"
            say(paint(f"  {which} about this case: ./course hint {topic[:2]} {about[0]}", "dim"))
    if len(failed) > limit and not verbose:
        say(paint(f"\n({len(failed) - limit} more failing case(s): ./course check {topic[:2]} --verbose, "
                  f"or --case 'NAME' for one)", "dim"))


def check_topic(topic, pattern=None, verbose=False, repeat=1, sanitizer=None, quiet=False):
    """Builds the student's exercise and runs its tests; prints what happened.
    Returns (passed, total, {name: Case} of the last run, varied)."""
    ok, log = build([f"{topic}-tests-exercise"], quiet=True, sanitizer=sanitizer)
    if not ok:
        if not quiet:
            show_compile_errors(topic, log, sanitizer)
        # The solution's list of cases is the count (the exercise's own list only exists
        # once it has compiled).
        build([f"{topic}-tests-solution"], quiet=True, sanitizer=sanitizer)
        total = len(listed_tests("solution", f"^{re.escape(topic)}/solution/", sanitizer))
        return 0, total, {}, False
    names = select_cases(topic, pattern, sanitizer)
    if not names:
        fail(f"no test case of {topic} matches '{pattern}'",
             f"./course check {topic[:2]} lists the cases; patterns use * and ?", code=2)
    env = SANITIZER_ENV if sanitizer else None
    counts, cases = {n: 0 for n in names}, {}
    for run in range(repeat):
        if repeat > 1 and TTY:
            print(f"\r  run {run + 1}/{repeat} ...", end="", flush=True)
        cases = run_ctest("exercise", names_regex(names), sanitizer=sanitizer, env=env)
        for n, c in cases.items():
            counts[n] += c.passed
    if repeat > 1 and TTY:
        print("\r" + " " * 30 + "\r", end="")
    order = names
    varied = any(0 < counts[n] < repeat for n in names)
    if not quiet:
        print_case_lines(topic, cases, order, counts if repeat > 1 else None, repeat)
        failed = [cases[n] for n in order if n in cases and not cases[n].passed]
        if varied:
            say(paint("\nresults vary between runs: that is a race in your code, not bad luck. "
                      f"./course check {topic[:2]} --tsan shows where.", "yellow"))
        explain_failures(topic, failed, verbose, sanitizer)
    passed = sum(1 for c in cases.values() if c.passed)
    return passed, len(names), cases, varied


def note_varying_results(topic, cases, repeat_varied):
    """Says once, unprompted, when two checks of the same code disagree."""
    state = load_state()
    digest = exercise_hash(topic)
    last = state.setdefault("last_check", {}).get(topic)
    now = {c.short(): c.passed for c in cases.values()}
    if last and last.get("hash") == digest and not repeat_varied:
        differ = sorted(n for n, p in now.items() if n in last["cases"] and last["cases"][n] != p)
        if differ and state.setdefault("told_varies", {}).get(topic) != digest:
            say(paint("\nyour unchanged code gave a different result than at the last check, for: " + ", ".join(differ), "yellow"))
            say(paint("that is a race in your code, not bad luck: "
                      f"./course check {topic[:2]} --repeat 20 counts, --tsan shows where", "yellow"))
            state["told_varies"][topic] = digest
    state["last_check"][topic] = {"hash": digest, "cases": now}
    save_state(state)


def cmd_check(opts):
    topic = resolve_topic(opts.topic)
    if opts.repeat < 1:
        fail("--repeat needs a number of runs of at least 1", code=2)
    if opts.tsan and mpi_topic(topic):
        fail(f"{topic}'s tests do not run under ThreadSanitizer: Open MPI's libraries are not instrumented, "
             "so every case would report races inside them",
             f"./course check {topic[:2]} --asan (AddressSanitizer+UBSan) works with MPI", code=2)
    ensure_dependencies()
    sanitizer = "tsan" if opts.tsan else "asan" if opts.asan else None
    if sanitizer:
        say(paint(f"building your {topic} with {SANITIZERS[sanitizer][1]} in {build_dir(sanitizer).name}/ "
                  "(slower; the first time takes a few minutes) ...", "dim"))
    passed, total, cases, varied = check_topic(topic, opts.case, opts.verbose, opts.repeat, sanitizer)
    if not sanitizer and not opts.case:
        remember_result(topic, passed, total)
        if cases:
            note_varying_results(topic, cases, varied)
    what = f"{SANITIZERS[sanitizer][1]}: " if sanitizer else ""
    if total and passed == total and not varied:
        runs = f", {opts.repeat} times each" if opts.repeat > 1 else ""
        if sanitizer:
            say(paint(f"✓ {topic}: {what}all {total} tests pass, no report{runs}", "green"))
        elif opts.case:
            say(paint(f"✓ {topic}: the {total} selected test case(s) pass{runs}", "green"))
        else:
            say(paint(f"✓ {topic}: all {total} tests pass{runs}. Well done!", "green"))
            check = "--asan looks for memory errors" if mpi_topic(topic) else "--tsan looks for data races"
            say(f"next: ./course check {topic[:2]} {check}; "
                f"./course run {topic[:2]} --mine runs the lesson on your code")
        sys.exit(0)
    say(paint(f"\n✗ {topic}: {what}{passed}/{total} tests pass", "red"))
    say(f"next: ./course hint {topic[:2]} for a hint; ./course watch {topic[:2]} re-checks on every save")
    sys.exit(1)


def cmd_hint(opts):
    topic = resolve_topic(opts.topic)
    hints = read_hints(topic)
    if not hints:
        fail(f"exercise {topic} has no hints", code=1)
    state = load_state()
    shown = state.setdefault("hints", {}).get(topic, 0)
    if opts.reset:
        state["hints"][topic] = 0
        save_state(state)
        say(f"hints for {topic} hidden again")
        return
    if opts.number is not None:
        if not 1 <= opts.number <= len(hints):
            fail(f"{topic} has hints 1 to {len(hints)}", code=2)
        k = opts.number
    elif shown >= len(hints):
        say(f"All {len(hints)} hints of {topic} are shown; here is the last one again:\n")
        k = len(hints)
    else:
        k = shown + 1
    # Save before printing: `./course hint 01 | head` must not lose the advance.
    state["hints"][topic] = max(shown, k)
    save_state(state)
    title, globs, text = hints[k - 1]
    say(paint(f"{topic}: hint {k} of {len(hints)}: {title.split(':', 1)[-1].strip()}", "bold"))
    if globs:
        say(paint("(about the test cases: " + ", ".join(globs) + ")", "dim"))
    say(text)
    if k < len(hints):
        say(f"\n(./course hint {topic[:2]} for the next one, ./course hint {topic[:2]} {k + 1} for hint {k + 1})")
    else:
        say(f"\n(that was the last hint; ./course hint {topic[:2]} --reset hides them again)")


def cmd_list(opts):
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


def cmd_test(opts):
    """Solution cases pass, stub cases fail, lessons run with --quick: one line per topic."""
    ensure_dependencies()
    started = time.time()
    configure()
    if not (BUILD / "course-versions.txt").exists():   # a build/ configured by an older course
        subprocess.run(["cmake", str(BUILD)], capture_output=True)
    say(paint("course self-test with ", "bold") + versions_line())
    ok, _ = build()
    if not ok:
        fail("the course does not build", "fix the first compiler error above")
    # In a student's copy, exercises they changed are their work, not stubs: stub-check
    # skips those (./course check grades them). CI and --all check every stub.
    skip = set() if (os.environ.get("CI") or opts.all) else modified_exercises()
    repeat = opts.repeat if opts.repeat and opts.repeat > 1 else None
    if repeat:
        say(f"every solution and stub-check case runs up to {repeat} times (until it fails)")
    groups = [("common", r"^common/")] + [(t, f"^{re.escape(t)}/") for t in topics()]
    problems, counted, flaky = [], 0, []
    for group, prefix in groups:
        t0 = time.time()
        solution = run_ctest("solution", prefix, repeat=repeat)
        stubs = {} if group in skip else run_ctest("stub-check", prefix, repeat=repeat)
        lesson = {} if repeat or group == "common" else run_ctest("lesson-smoke", prefix, jobs=1)
        bad, skipped = [], [c for c in solution.values() if c.status == "Skipped"]
        for c in solution.values():
            if not c.passed and c not in skipped:
                bad.append((f"solution case failed ({c.status})", c))
        for c in stubs.values():
            if not c.passed:   # WILL_FAIL: 'Passed' means the case failed on the stub
                why = ("passes on the stub (a test without teeth)" if c.status == "Failed"
                       else f"{c.status} on the stub (a stub must fail fast)")
                bad.append((f"stub case {why}", c))
        for c in lesson.values():
            if not c.passed:
                bad.append((f"lesson failed ({c.status})", c))
        counted += len(solution) - len(skipped) + len(stubs) + len(lesson)
        parts = [f"solution {sum(c.passed for c in solution.values())}/{len(solution) - len(skipped)} pass"
                 + (f" ({len(skipped)} skipped)" if skipped else "")]
        if group != "common":
            parts.append("stub-check skipped (your modified exercise)" if group in skip else
                         f"stub {sum(c.passed for c in stubs.values())}/{len(stubs)} fail as they must")
            if lesson:
                parts.append("lesson runs" if all(c.passed for c in lesson.values()) else "lesson FAILED")
        mark = paint("✓", "green") if not bad else paint("✗", "red")
        say(f"{mark} {group:<28} {' · '.join(parts)}  ({time.time() - t0:.0f} s)")
        for c in skipped:   # a case that cannot run here says why (SKIP_RETURN_CODE)
            why = next((l for l in c.output.splitlines() if l.startswith("skipped:")), "skipped")
            say(paint(f"    {c.short()}: {why}", "dim"))
        for why, c in bad:
            say(paint(f"    {why}: {c.name}", "red"))
            detail = first_failure(c) if c.status != "Hung" else "\n".join(
                hang_summary(c, [f"/solutions/{group}/", f"/tests/{group}/", f"/exercises/{group}/", "/lessons/"]))
            say(indent(detail, "      "))
        problems += bad
    if counted == 0:
        problems.append(("no test ran at all", Case("-", "Not Run")))
    say(f"self-test took {time.time() - started:.0f} s" + (f" ({repeat} runs per case)" if repeat else ""))
    if problems:
        say("next: ctest --test-dir build --output-on-failure -R '<name>' shows a case's whole output")
    say(f"{counted - len(problems)} passed, {len(problems)} failed")
    sys.exit(1 if problems else 0)


def grade_topic(topic, sanitizer=None):
    """[(case name, reason or None, output, seconds, first failure)] for one topic's exercise,
    against the solution's list of cases (a case that did not compile or run is failed)."""
    expected = [n.replace("/solution/", "/exercise/", 1)
                for n in listed_tests("solution", f"^{re.escape(topic)}/solution/", sanitizer)]
    built, _ = build([f"{topic}-tests-exercise"], quiet=True, sanitizer=sanitizer)
    cases = run_ctest("exercise", f"^{re.escape(topic)}/exercise/", sanitizer=sanitizer,
                      env=SANITIZER_ENV if sanitizer else None) if built else {}
    own = [f"/exercises/{topic}/", f"/tests/{topic}/"]
    rows = []
    for name in expected:
        case = cases.get(name)
        if case is None:
            rows.append((name, "did not compile" if not built else "did not run", "", 0.0, ""))
            continue
        if case.passed:
            rows.append((name, None, case.output, case.seconds, ""))
            continue
        if case.status == "Hung":
            first = "hung: " + "; ".join(hang_summary(case, own))
            reason = "timed out (hung)"
        elif sanitizer and sanitizer_report(case.output, own)[0]:
            headline, frames = sanitizer_report(case.output, own)
            first = headline + "; " + "; ".join(f.strip() for f in frames[:6])
            reason = "sanitizer report"
        else:
            first = first_failure(case)
            reason = {"Failed": "failed", "Timeout": "timed out (hung?)"}.get(
                case.status, f"crashed ({case.status.split(':', 1)[-1].strip()})")
        rows.append((name, reason, case.output, case.seconds, first))
    return rows


def cmd_grade(opts):
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    ensure_dependencies()
    started = time.time()
    chosen = [resolve_topic(t) for t in opts.topic] if opts.topic else topics()
    say(paint("grading ", "bold") + ", ".join(chosen) + (" (and under ThreadSanitizer)" if opts.sanitize else ""))
    # The solution's test list is the denominator of each topic's score.
    build([f"{t}-tests-solution" for t in chosen], keep_going=True, quiet=True)
    if opts.sanitize:
        build([f"{t}-tests-solution" for t in chosen], keep_going=True, quiet=True, sanitizer="tsan")
    report = {"topics": [], "passed": 0, "total": 0}
    suites = []
    for topic in chosen:
        # Each exercise is built on its own: one that does not compile scores 0 (its stale
        # test program from an earlier build must not be run) and the others are graded.
        t0 = time.time()
        rows = grade_topic(topic)
        passed = sum(1 for r in rows if r[1] is None)
        entry = {"id": topic, "passed": passed, "total": len(rows)}
        line = f"  {topic:<28} {paint(f'{passed}/{len(rows)}', 'green' if rows and passed == len(rows) else 'yellow')}"
        if opts.sanitize:
            tsan_rows = grade_topic(topic, "tsan")
            tsan_passed = sum(1 for r in tsan_rows if r[1] is None)
            entry["tsan"] = {"passed": tsan_passed, "total": len(tsan_rows)}
            line += f"   tsan {tsan_passed}/{len(tsan_rows)}"
            suites.append((f"{topic}/tsan", tsan_rows))
        say(line + paint(f"  ({time.time() - t0:.0f} s)", "dim"))
        for name, reason, _, _, first in rows:
            if reason and reason != "failed":
                say(paint(f"      {name.split('/', 2)[2]}: {reason}", "dim"))
        report["topics"].append(entry)
        report["passed"] += passed
        report["total"] += len(rows)
        suites.append((topic, rows))
    (out / "score.json").write_text(json.dumps(report, indent=2) + "\n")
    write_junit(out / "junit.xml", suites)
    written = [out / "score.json", out / "junit.xml"]
    if opts.classroom:
        sys.path.insert(0, str(ROOT / "cmake"))
        sys.dont_write_bytecode = True   # no __pycache__ in the student's copy
        import classroom   # cmake/classroom.py: GitHub Classroom's reporter format
        written += classroom_outputs(classroom, suites, out)
    say(f"  {'total':<28} {report['passed']}/{report['total']}   ({time.time() - started:.0f} s)")
    say("wrote " + ", ".join(str(p) for p in written))


def classroom_outputs(classroom, suites, out):
    """Hands every topic's cases to cmake/classroom.py; returns the files it wrote."""
    results = {}
    for topic, rows in suites:
        if topic.endswith("/tsan"):
            continue
        cases = [(name.split("/", 2)[2], None if reason is None else f"{reason}: {one_line(first)}" if first else reason,
                  output, seconds) for name, reason, output, seconds, first in rows]
        results[topic] = classroom.result_for_topic(topic, cases)
    return classroom.write_outputs(results, out) or []


def write_junit(path, suites):
    """The JUnit file CI dashboards read: a suite per topic, a case per test case with its
    time; a failure's message is its first failing assertion."""
    root = ET.Element("testsuites")
    for topic, rows in suites:
        suite = ET.SubElement(root, "testsuite", name=topic, tests=str(len(rows)),
                              failures=str(sum(1 for r in rows if r[1])), time=f"{sum(r[3] for r in rows):.3f}")
        for name, reason, output, seconds, first in rows:
            case = ET.SubElement(suite, "testcase", classname=topic, name=name.split("/", 2)[2], time=f"{seconds:.3f}")
            if reason is not None:
                failure = ET.SubElement(case, "failure", message=one_line(f"{reason}: {first}" if first else reason, 500))
                failure.text = (first + "\n\n" if first else "") + output[-4000:]
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="UTF-8", xml_declaration=True)


def snapshot(folder):
    return {p: p.stat().st_mtime for p in folder.rglob("*") if p.is_file()}


def cmd_watch(opts):
    ensure_dependencies()
    if opts.topic:
        topic = resolve_topic(opts.topic)
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
    """Builds one of the course's programs and becomes it (exec): a signal sent to
    ./course reaches the program itself, and nothing is left running after it."""
    ensure_dependencies()
    ok, log = build([target], quiet=True)
    if not ok:
        say(log[-3000:])
        fail(f"{target} did not build")
    program = next((p for p in BUILD.rglob(target) if p.is_file() and os.access(p, os.X_OK)), None)
    if program is None:
        fail(f"built {target} but cannot find it under build/")
    sys.stdout.flush()
    os.execv(str(program), [str(program), *args])


# --- the command line ---------------------------------------------------------------------------
def parser():
    top = argparse.ArgumentParser(
        prog="./course", description=__doc__.split("\n\n")[0],
        epilog="NN is a topic number (4, 04) or name (04-channels). ./course COMMAND --help explains one command.")
    sub = top.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("run", help="build and run lesson NN",
                       description="Build and run lesson NN (on the reference solution, or on your exercise with "
                                   "--mine).\nLesson 09 runs on MPI ranks under build/course-mpirun (mpiexec), which "
                                   "prints the command\nit runs, so you can type it yourself.",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="""Lesson options go after --: ./course run 04 -- --quick --json r.json
Each lesson lists its own: ./course run 08 -- --help

Topic 08 (loading):
  ./course run 08                      every loader with the exercise's parser (dom), then the fastest
  ./course run 08 -- --parser sax      every loader with one parser: dom, sax or simdjson

Topic 09 (MPI):
  ./course run 09                      2 ranks on this machine
  ./course run 09 --np 4 -- --quick    4 ranks, the lesson's --quick
  sudo ./course cluster up 3           3 hosts on this machine: network namespaces on a bridge
  sudo ./course run 09 --hosts cluster one rank per host of that cluster (--np N for more),
                                       started in each namespace by Open MPI's own launcher
  sudo ./course cluster down           removes the cluster, its processes and files
  ./course run 09 --hosts myhosts      real machines: an Open MPI hostfile (one `HOST slots=N`
                                       line per machine), reached with passwordless ssh; the
                                       course built at the same path on every machine
                                       (docs/setup.md, "Running on several hosts")""")
    p.add_argument("topic", metavar="NN")
    p.add_argument("--mine", action="store_true", help="run the lesson on your exercise code")
    p.add_argument("--np", type=int, metavar="N",
                   help="topic 09: the number of MPI ranks (default 2; with --hosts, one per host)")
    p.add_argument("--hosts", metavar="cluster|FILE",
                   help="topic 09: run the ranks on the hosts of `./course cluster up` (cluster, as root) "
                        "or of an Open MPI hostfile (FILE, over ssh)")
    p.add_argument("args", nargs="*", metavar="-- ARGS", help="options for the lesson, after --")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("check", help="build your exercise NN and run its tests",
                       description="Build your exercise NN and run its tests: every failing case with its first "
                                   "failing assertion, a hung case with where each thread waits.")
    p.add_argument("topic", metavar="NN")
    p.add_argument("--case", metavar="PATTERN", help="only the test cases whose name matches (glob: 'close*')")
    p.add_argument("--verbose", "-v", action="store_true", help="print every failing case's whole output")
    p.add_argument("--repeat", type=int, default=1, metavar="N", help="run the cases N times and count passes")
    san = p.add_mutually_exclusive_group()
    san.add_argument("--tsan", action="store_true", help="build and run under ThreadSanitizer (data races)")
    san.add_argument("--asan", action="store_true", help="build and run under AddressSanitizer+UBSan")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("hint", help="show the next hint (or hint K) for exercise NN",
                       description="Hints are shown one at a time; each says which test cases it is about.")
    p.add_argument("topic", metavar="NN")
    p.add_argument("number", nargs="?", type=int, metavar="K", help="show hint K")
    p.add_argument("--reset", action="store_true", help="hide the hints again")
    p.set_defaults(func=cmd_hint)

    p = sub.add_parser("list", help="every topic, its exercise status, your progress",
                       description="Every topic with the result of your last check of it.")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("test", help="the course's self-test (what CI runs)",
                       description="Solution tests pass, every shipped exercise stub fails its tests, every lesson "
                                   "runs with --quick. Prints one line per topic.")
    p.add_argument("--all", action="store_true", help="check every stub, also of exercises you modified")
    p.add_argument("--repeat", type=int, metavar="N",
                   help="run each solution and stub-check case up to N times, report any that failed once")
    p.set_defaults(func=cmd_test)

    p = sub.add_parser("grade", help="grade every exercise: score.json, junit.xml",
                       description="Build and test every exercise; write DIR/score.json and DIR/junit.xml.")
    p.add_argument("--out", default="grade", metavar="DIR", help="where to write the results (default: grade)")
    p.add_argument("--topic", action="append", metavar="NN", help="grade only this topic (repeatable)")
    p.add_argument("--sanitize", action="store_true", help="also run each exercise under ThreadSanitizer")
    p.add_argument("--classroom", action="store_true", help="also write GitHub Classroom's reporter results")
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("watch", help="re-check on every save", description="Re-run check NN on every save.")
    p.add_argument("topic", nargs="?", metavar="NN", help="default: the first topic not done")
    p.set_defaults(func=cmd_watch)

    p = sub.add_parser("cluster", help="(root) N network namespaces as hosts for topic 09",
                       description="""Several hosts on one machine, for topic 09's MPI runs.
  up N    makes N network namespaces, course-h1 ... course-hN, each a host with its own
          interface, address (10.77.0.11, .12, ...) and network stack, joined by the
          bridge course-br0 (10.77.0.1 is the machine itself there), and
          build/cluster/hostfile with the launch agent mpirun uses to start ranks in
          them. Again with another N it resizes the cluster (up is idempotent).
  down    ends any MPI job still running on the cluster, stops every process left in
          the hosts and removes the namespaces, links, bridge and files.
  status  the hosts, their addresses and network namespace ids.
up and down need root. Nothing is routed off the machine: the range lives on that
bridge only (no default route, no NAT, no forwarding).""",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="""  sudo ./course cluster up 3
  sudo ./course run 09 --hosts cluster
  ./course cluster status
  sudo ./course cluster down""")
    p.add_argument("action", choices=["up", "down", "status"])
    p.add_argument("hosts", nargs="?", type=int, metavar="N", help="up: the number of hosts (1 to 64)")
    p.add_argument("--net", metavar="A.B.C", help="up: the hosts' /24 range instead of 10.77.0 "
                                                  "(when that one is taken on this machine)")
    p.add_argument("--verbose", "-v", action="store_true", help="print every ip command it runs")
    p.set_defaults(func=cmd_cluster)

    p = sub.add_parser("datasets", help="generate the course's datasets (course-datasets --help)", add_help=False)
    p.add_argument("args", nargs=argparse.REMAINDER)
    p.set_defaults(func=lambda o: cmd_tool("course-datasets", o.args))

    p = sub.add_parser("serve", help="run the local HTTP server (course-serve --help)", add_help=False)
    p.add_argument("args", nargs=argparse.REMAINDER)
    p.set_defaults(func=lambda o: cmd_tool("course-serve", o.args))
    return top


def main(argv):
    # datasets and serve hand every argument (--help too) to their program.
    tools = {"datasets": "course-datasets", "serve": "course-serve"}
    if argv and argv[0] in tools:
        cmd_tool(tools[argv[0]], argv[1:])
    args = parser()
    # Everything after `--` belongs to the lesson (./course run 05 --mine -- --quick).
    lesson_args = argv[argv.index("--") + 1:] if "--" in argv else []
    ours = argv[:argv.index("--")] if "--" in argv else argv
    opts = args.parse_args(ours)
    if not getattr(opts, "func", None):
        args.print_help()
        return
    if opts.command == "run":
        opts.args = opts.args + lesson_args
    elif lesson_args:
        args.error(f"{opts.command} takes no arguments after --")
    opts.func(opts)


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)   # `./course list | head` ends quietly
    main(sys.argv[1:])
