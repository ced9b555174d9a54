"""Lesson 09's year histogram in Python with mpi4py, for the figure the lesson prints beside its own.

The lesson runs it under the same launcher, one Python process per rank:

    build/course-mpirun -n 2 /usr/bin/python3 lessons/09-beyond-one-machine/python_histogram.py DIR

Every rank reads every file i with i % size == rank and does what topic 08's parse_paper
does for each line (gzip, JSON, the authors' names, the abstract cut into sentences of
tokens, the same records skipped), counts papers per year in a Counter, and one allreduce
adds the Counters up (mpi4py pickles them and combines them with +). Rank 0 prints one JSON
line: the histogram, the wall time from a common start to the answer, the CPU of every rank.
"""
import glob
import gzip
import json
import os
import sys
import time
import traceback
import zlib
from collections import Counter

from mpi4py import MPI


# Topic 08's parse_paper in Python: one copy, in lesson 08's plain Python loader.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "08-distributed-loading"))
from python_loader import parse_record  # noqa: E402


def year_of_valid_paper(line):
    """The year of a record parse_paper keeps (its abstract tokenized, as the C++ ranks do), else None."""
    paper = parse_record(line)
    return None if paper is None else paper[2]


def count_file(name, years):
    """Adds one file's papers to years. A broken file stops at the bad spot, its papers
    before it counted, as topic 08's reader does; the error names the file (and line)."""
    with gzip.open(name, "rt", encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            try:
                year = year_of_valid_paper(line)
            except (ValueError, KeyError, TypeError, AttributeError) as e:
                raise ValueError(f"{name}, line {number}: {e}") from e
            if year is not None:
                years[year] += 1


def main():
    comm = MPI.COMM_WORLD
    files = sorted(glob.glob(os.path.join(sys.argv[1], "*.gz")))
    comm.Barrier()
    start, cpu = time.perf_counter(), time.process_time()
    years, errors = Counter(), []
    for name in files[comm.rank::comm.size]:
        try:
            count_file(name, years)
        except (OSError, EOFError, ValueError, zlib.error) as e:
            errors.append(f"{name}: {e}" if name not in str(e) else str(e))
    my_cpu = time.process_time() - cpu
    total = comm.allreduce(years, op=MPI.SUM)
    seconds = time.perf_counter() - start
    cpu_seconds = comm.reduce(my_cpu, op=MPI.SUM, root=0)
    all_errors = comm.gather(errors, root=0)
    if comm.rank == 0:
        print(json.dumps({"ranks": comm.size, "seconds": seconds, "cpu_seconds": cpu_seconds,
                          "papers": sum(total.values()),
                          "histogram": {str(year): count for year, count in sorted(total.items())},
                          "errors": [e for rank_errors in all_errors for e in rank_errors]}))


if __name__ == "__main__":
    # A rank that fails must end the whole job: the others would wait for it in allreduce.
    try:
        main()
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        MPI.COMM_WORLD.Abort(1)
