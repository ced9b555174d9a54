"""Topic 09's many hosts without root: the files `course-cluster up` writes (an Open MPI
hostfile and the launch agent that runs a command inside a host's network namespace),
build/course-mpirun's --hosts mode, and what `./course run` and `./course cluster` say
before doing anything. Nothing here makes a namespace (the CTest entry
`09-beyond-one-machine/solution/runs across two network namespaces [multihost]` does,
as root). Standard library only; runs in well under a second."""
import importlib.machinery
import importlib.util
import io
import os
import stat
import subprocess
import sys
import tempfile
import unittest
from contextlib import redirect_stdout
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[2]


def load(name, path):
    loader = importlib.machinery.SourceFileLoader(name, str(path))
    spec = importlib.util.spec_from_loader(name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


sys.dont_write_bytecode = True
cluster = load("course_cluster", ROOT / "cmake" / "course-cluster")
course = load("course_cli_cluster", ROOT / "cmake" / "course.py")


def script(path, text):
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


# Prints each argument on a line of its own: stands in for `ip` and for `mpiexec`.
ECHO_ARGS = '#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n'


class HostfileAndAgent(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)
        fake_ip = script(self.dir / "ip", ECHO_ARGS)
        with mock.patch.object(cluster, "IP", str(fake_ip)):
            self.hostfile = cluster.write_files(cluster.Names("t1", "10.77.5"), [1, 2], self.dir / "c",
                                                "course-cluster up 2")
        self.agent = self.dir / "c" / "netns-agent"

    def tearDown(self):
        self.tmp.cleanup()

    def test_the_hostfile_has_one_open_mpi_line_per_host(self):
        lines = [l.split("#", 1)[0].split() for l in self.hostfile.read_text().splitlines()]
        self.assertEqual([l for l in lines if l], [["10.77.5.11", "slots=1"], ["10.77.5.12", "slots=1"]])

    def test_the_hostfile_names_the_flags_mpirun_needs(self):
        flags = next(l for l in self.hostfile.read_text().splitlines() if l.startswith("# course-mpirun-flags:"))
        for expected in (f"--mca plm_rsh_agent {self.agent}", "--mca oob_tcp_if_include 10.77.5.0/24",
                         "--mca btl_tcp_if_include 10.77.5.0/24", "--mca btl tcp,self", "--mca pml ob1"):
            self.assertIn(expected, flags)

    def agent_run(self, *args):
        return subprocess.run([str(self.agent), *args], capture_output=True, text=True)

    def test_the_agent_runs_the_command_in_the_namespace_of_the_host(self):
        for host, ns in (("10.77.5.12", "t1-h2"), ("t1-h1", "t1-h1")):
            done = self.agent_run(host, "orted", "--mca", "x", '"1"')
            self.assertEqual(done.returncode, 0, done.stderr)
            args = done.stdout.splitlines()
            self.assertEqual(args[:3], ["netns", "exec", ns])
            self.assertIn("--uts", args)
            # As ssh does: the words of the command joined, for the remote shell to split.
            self.assertEqual(args[-2:], [ns, 'orted --mca x "1"'])

    def test_the_agent_refuses_a_host_of_no_namespace_as_ssh_would(self):
        done = self.agent_run("10.77.5.13", "orted")
        self.assertEqual(done.returncode, 255)
        self.assertIn("not a host of the cluster t1", done.stderr)


class Launcher(unittest.TestCase):
    """cmake/course-mpirun.in, configured with a stand-in mpiexec that prints its arguments."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        d = Path(self.tmp.name)
        fake = script(d / "mpiexec", ECHO_ARGS)
        text = (ROOT / "cmake" / "course-mpirun.in").read_text()
        for key, value in {"MPIEXEC_EXECUTABLE": str(fake), "MPIEXEC_NUMPROC_FLAG": "-n",
                           "COURSE_MPI_FLAGS": "--bind-to none", "MPIEXEC_PREFLAGS": ""}.items():
            text = text.replace(f"@{key}@", value)
        self.launcher = script(d / "course-mpirun", text)
        self.cluster_hosts = d / "hostfile"
        self.cluster_hosts.write_text("# course-mpirun-flags: --mca plm_rsh_agent /x/netns-agent --mca btl tcp,self\n"
                                      "10.77.0.11 slots=1   # course-h1\n")
        self.user_hosts = d / "myhosts"
        self.user_hosts.write_text("node1 slots=2\nnode2 slots=2\n")

    def tearDown(self):
        self.tmp.cleanup()

    def run_launcher(self, *args):
        done = subprocess.run([str(self.launcher), *args], capture_output=True, text=True)
        args = [a for a in done.stdout.splitlines() if a != "--allow-run-as-root"]
        return done, args

    def test_a_cluster_hostfile_brings_its_flags(self):
        done, args = self.run_launcher("-n", "3", "--hosts", str(self.cluster_hosts), "prog", "a b")
        self.assertEqual(args, ["-n", "3", "--bind-to", "none", "--hostfile", str(self.cluster_hosts), "--mca",
                                "plm_rsh_agent", "/x/netns-agent", "--mca", "btl", "tcp,self", "prog", "a b"])
        self.assertIn(f"--hostfile {self.cluster_hosts} --mca plm_rsh_agent /x/netns-agent", done.stderr)

    def test_a_users_hostfile_is_passed_as_it_is(self):
        _, args = self.run_launcher("--hosts", str(self.user_hosts), "-n", "4", "prog")
        self.assertEqual(args, ["-n", "4", "--bind-to", "none", "--hostfile", str(self.user_hosts), "prog"])

    def test_without_hosts_nothing_changes(self):
        _, args = self.run_launcher("-n", "2", "prog", "--quick")
        self.assertEqual(args, ["-n", "2", "--bind-to", "none", "prog", "--quick"])
        _, args = self.run_launcher("tests", "a case", "--ranks", "3")
        self.assertEqual(args, ["-n", "3", "--bind-to", "none", "tests", "a case", "--ranks", "3"])

    def test_a_missing_hostfile_is_named(self):
        done, _ = self.run_launcher("-n", "2", "--hosts", "/nonexistent/hosts", "prog")
        self.assertEqual(done.returncode, 2)
        self.assertIn("cannot read the hostfile /nonexistent/hosts", done.stderr)


def run_course(*argv):
    out = io.StringIO()
    with redirect_stdout(out), mock.patch.object(course, "ensure_dependencies",
                                                 side_effect=AssertionError("must not get that far")):
        try:
            course.main(list(argv))
            code = 0
        except SystemExit as e:
            code = e.code
    return code, out.getvalue()


class CommandLine(unittest.TestCase):
    def test_np_and_hosts_are_for_topic_09_only(self):
        for args in (["run", "04", "--np", "2"], ["run", "4", "--hosts", "cluster"]):
            code, out = run_course(*args)
            self.assertEqual(code, 2)
            self.assertIn("choose the MPI ranks of topic 09", out)

    def test_topic_09_is_the_mpi_topic(self):
        self.assertTrue(course.mpi_topic("09-beyond-one-machine"))
        self.assertFalse(course.mpi_topic("04-channels"))

    def test_hosts_cluster_needs_root_and_says_so(self):
        with tempfile.TemporaryDirectory() as d, mock.patch.object(course, "CLUSTER_DIR", Path(d)), \
                mock.patch.object(course.os, "geteuid", return_value=1000):
            (Path(d) / "hostfile").write_text("10.77.0.11 slots=1\n")
            code, out = run_course("run", "09", "--hosts", "cluster")
        self.assertEqual(code, 1)
        self.assertIn("needs root", out)
        self.assertIn("next: sudo ./course run 09 --hosts cluster", out)

    def test_hosts_cluster_without_a_cluster_says_how_to_make_one(self):
        with tempfile.TemporaryDirectory() as d, mock.patch.object(course, "CLUSTER_DIR", Path(d) / "cluster"):
            code, out = run_course("run", "09", "--hosts", "cluster")
        self.assertEqual(code, 1)
        self.assertIn("sudo ./course cluster up 3", out)

    def test_a_hostfiles_hosts_are_its_lines_without_comments(self):
        with tempfile.NamedTemporaryFile("w", suffix=".hosts") as f:
            f.write("# a comment\n\nnode1 slots=2   # the first\nnode2\n")
            f.flush()
            self.assertEqual(course.hostfile_hosts(f.name), ["node1 slots=2", "node2"])

    def test_cluster_up_needs_a_count_and_down_takes_none(self):
        self.assertEqual(run_course("cluster", "up")[0], 2)
        self.assertEqual(run_course("cluster", "down", "3")[0], 2)

    def test_the_multihost_entry_counts_in_no_exercise_score(self):
        with mock.patch.object(course.subprocess, "run") as run:
            run.return_value = subprocess.CompletedProcess([], 0, stdout="", stderr="")
            course.listed_tests("solution", "^09-")
        self.assertIn("^mpi-multihost$", run.call_args[0][0])


class ClusterCommand(unittest.TestCase):
    def test_up_and_down_need_root_and_say_so(self):
        for argv in (["up", "3", "--hint", "./course cluster up 3"], ["down", "--hint", "./course cluster down"]):
            opts = cluster.parser().parse_args(argv)
            out = io.StringIO()
            with redirect_stdout(out), mock.patch.object(cluster.os, "geteuid", return_value=1000), \
                    self.assertRaises(SystemExit) as stopped:
                opts.func(opts)
            self.assertEqual(stopped.exception.code, 1)
            self.assertIn("needs root", out.getvalue())
            self.assertIn(f"next: sudo {argv[-1]}", out.getvalue())

    def test_names_and_ranges(self):
        self.assertEqual(cluster.name_arg("c0912345"), "c0912345")
        for bad in ("Course", "9abc", "toolong99", "a-b"):
            with self.assertRaises(Exception):
                cluster.name_arg(bad)
        self.assertEqual(cluster.net_arg("10.78.0"), "10.78.0")
        for bad in ("8.8.8", "10.77", "10.77.0.1", "x"):
            with self.assertRaises(Exception):
                cluster.net_arg(bad)

    def test_interface_names_fit_in_linux_15_bytes(self):
        n = cluster.Names("c0912345", "10.77.1")
        for name in (n.bridge, n.veth(cluster.MAX_HOSTS), n.host(cluster.MAX_HOSTS)):
            self.assertLessEqual(len(name), 15, name)
        self.assertEqual(n.address(cluster.MAX_HOSTS), f"10.77.1.{10 + cluster.MAX_HOSTS}")


if __name__ == "__main__":
    unittest.main()
