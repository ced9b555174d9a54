"""How `./course check` reads what tests and compilers print: failure blocks whole,
each distinct compile error once, sanitizer reports trimmed to the student's files, and
the hints files it reads. Standard library only; runs in well under a second."""
import importlib.util
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("course_cli", ROOT / "cmake" / "course.py")
course = importlib.util.module_from_spec(spec)
spec.loader.exec_module(course)

CATCH_OUTPUT = """
-------------------------------------------------------------------------------
8 producers of 10000 items deliver exactly the items sent at capacities 0 1 7
and 1024
  capacity 7
-------------------------------------------------------------------------------
/src/tests/04-channels/test_channel.cpp:102
...............................................................................

/src/tests/04-channels/test_channel.cpp:120: FAILED:
  CHECK( received == sent )
with expansion:
  79999 == 80000
with message:
  capacity := 7

/src/tests/04-channels/test_channel.cpp:121: FAILED:
  CHECK( duplicates == 0 )
with expansion:
  1 == 0

===============================================================================
test cases: 1 | 1 failed
"""

COMPILE_LOG = """[1/3] Building CXX object a.o
FAILED: a.o
g++ -c a.cpp
In file included from /src/tests/04-channels/test_channel.cpp:3:
/src/exercises/04-channels/channel.hpp: In instantiation of 'void Channel<T>::push(T) [with T = int]':
/src/tests/04-channels/test_channel.cpp:50:20:   required from here
/src/exercises/04-channels/channel.hpp:54:45: error: conversion from 'int' to non-scalar type 'std::string' requested
   54 |     void push(T value) { std::string s = value; }
      |                                          ^~~~~
[2/3] Building CXX object b.o
FAILED: b.o
/src/exercises/04-channels/channel.hpp:54:45: error: conversion from 'int' to non-scalar type 'std::string' requested
   54 |     void push(T value) { std::string s = value; }
      |                                          ^~~~~
/src/exercises/04-channels/channel.hpp:60:5: error: 'undefined_name' was not declared in this scope
   60 |     undefined_name();
      |     ^~~~~~~~~~~~~~
"""

TSAN_OUTPUT = """==================
WARNING: ThreadSanitizer: data race (pid=1086)
  Write of size 8 at 0x7b0400000010 by thread T2:
    #0 operator() ../exercises/02-threads-vs-processes/tvp.cpp:42 (prog+0x33707)
    #1 std::thread::_M_run /usr/include/c++/12/bits/std_thread.h:210 (prog+0x1)

  Previous write of size 8 at 0x7b0400000010 by thread T1:
    #0 operator() /src/exercises/02-threads-vs-processes/tvp.cpp:42 (prog+0x32308)

  Location is heap block of size 8 at 0x7b0400000010 allocated by main thread:
    #0 operator new <null> (libtsan.so.2+0x1)

SUMMARY: ThreadSanitizer: data race ../exercises/02-threads-vs-processes/tvp.cpp:42 in operator()
"""


class FailureBlocks(unittest.TestCase):
    def test_every_block_whole_with_its_section(self):
        blocks = course.failure_blocks(CATCH_OUTPUT)
        self.assertEqual(len(blocks), 2)
        self.assertEqual(blocks[0].splitlines(), [
            "in section: capacity 7",
            "/src/tests/04-channels/test_channel.cpp:120: FAILED:",
            "  CHECK( received == sent )", "with expansion:", "  79999 == 80000",
            "with message:", "  capacity := 7"])
        self.assertIn("1 == 0", blocks[1])

    def test_a_wrapped_case_name_is_not_a_section(self):
        self.assertNotIn("and 1024", course.failure_blocks(CATCH_OUTPUT)[0])

    def test_a_hung_case_is_recognised(self):
        case = course.Case("t/exercise/x", "Failed", "course-hang-begin: ...\ncourse-hang-end\n")
        self.assertEqual(case.status, "Hung")


class CompileErrors(unittest.TestCase):
    def test_each_distinct_error_once_the_first_whole(self):
        errors = course.compile_errors(COMPILE_LOG)
        self.assertEqual([msg for (_, msg), _ in errors], [
            "conversion from 'int' to non-scalar type 'std::string' requested",
            "'undefined_name' was not declared in this scope"])
        first = errors[0][1]
        self.assertIn("In instantiation of", first)
        self.assertIn("required from here", first)
        self.assertIn("54 |     void push(T value)", first)
        self.assertIn("^~~~~", first)


class SanitizerReports(unittest.TestCase):
    def test_trimmed_to_the_students_frames(self):
        headline, lines = course.sanitizer_report(TSAN_OUTPUT, ["/exercises/02-threads-vs-processes/"])
        self.assertEqual(headline, "WARNING: ThreadSanitizer: data race (pid=1086)")
        self.assertEqual([l.strip() for l in lines], [
            "Write of size 8 at 0x7b0400000010 by thread T2:", "`a lambda (operator())` (tvp.cpp:42)",
            "Previous write of size 8 at 0x7b0400000010 by thread T1:", "`a lambda (operator())` (tvp.cpp:42)"])
        self.assertIn("same memory", course.sanitizer_meaning(headline))


class FunctionNames(unittest.TestCase):
    def test_short_names_a_student_can_read(self):
        cases = {
            "course::channels::Channel<int>::pop": "Channel<int>::pop",
            "C_A_T_C_H_T_E_S_T_12": "the test case",
            "CATCH2_INTERNAL_TEST_4": "the test case",
            "(anonymous namespace)::audit_then_transfer": "audit_then_transfer",
            "course::tvp::parallel_sum(std::span<unsigned long const, 18446744073709551615ul>, unsigned int)":
                "parallel_sum(…)",
            "channel_test::drain<course::channels::Channel<int> >(course::channels::Channel<int>&)"
            "::{lambda()#2}::operator()() const": "a lambda in channel_test::drain<…>",
        }
        for raw, short in cases.items():
            self.assertEqual(course.short_function(raw), short)


class Hints(unittest.TestCase):
    def test_every_topic_has_hints_and_no_readme_does(self):
        for topic in course.topics():
            hints = course.read_hints(topic)
            self.assertGreaterEqual(len(hints), 3, topic)
            for title, globs, text in hints:
                self.assertTrue(title.startswith("Hint"), title)
                self.assertTrue(text.strip(), title)
            readme = (ROOT / "exercises" / topic / "README.md").read_text()
            self.assertNotIn("## Hint", readme, f"exercises/{topic}/README.md shows a hint")

    def test_hints_name_their_cases(self):
        case = next(g for _, globs, _ in course.read_hints("04-channels") for g in globs)
        self.assertTrue(course.hints_about("04-channels", case.replace("*", "x")))


if __name__ == "__main__":
    unittest.main()
