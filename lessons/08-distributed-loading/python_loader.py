"""A plain Python loader of lesson 08's corpus, for the comparison in docs/08-distributed-loading.md.

    /usr/bin/python3 lessons/08-distributed-loading/python_loader.py DIR [--take N] [--workers W]

It does per line what the exercise's parse_paper does (gzip, json.loads, the four fields,
the same records skipped, the abstract cut into sentences of tokens by the same rule) and
takes the first N papers: with --workers 0 (the default) in this one process, file after
file; with --workers W in W processes of a multiprocessing pool, each loading whole files
and sending their papers back pickled (Python's twin of the distributed loader). Prints
one JSON line: papers, seconds, papers per second, and the rates of gzip and json.loads
alone on the first file, so the C++ figures have Python's own stage rates beside them.

Lesson 09's mpi4py histogram imports parse_record and tokenize_abstract from here.
"""
import argparse
import glob
import gzip
import json
import multiprocessing
import os
import time

OPENING = "([{\"'"
CLOSING = ")]}\"'.,;:!?"
FULL_STOP = ".!?"


def tokenize_abstract(text):
    """Sentences of tokens, by topic 08's rule: words between spaces, leading ( [ { " ' and
    trailing ) ] } " ' . , ; : ! ? split off as tokens; a trailing . ! or ? ends a sentence."""
    sentences, tokens = [], []
    for word in text.split():
        core = word.lstrip(OPENING)
        tokens.extend(word[: len(word) - len(core)])
        body = core.rstrip(CLOSING)
        if body:
            tokens.append(body)
        tail = core[len(body):]
        if tail:
            tokens.extend(tail)
            if any(c in FULL_STOP for c in tail):
                sentences.append(tokens)
                tokens = []
    if tokens:
        sentences.append(tokens)
    return sentences


def parse_record(line):
    """One corpus line -> (title, author names, year, sentences), or None for a record the
    seed skips. Raises ValueError, KeyError or TypeError for a line parse_paper rejects."""
    record = json.loads(line)
    title, authors, year, abstract = (record.get(k) for k in ("title", "authors", "year", "paperAbstract"))
    if title is None or authors is None or year is None or abstract is None:
        return None
    names = [author["name"] for author in authors]
    sentences = tokenize_abstract(abstract)
    if not names or not sentences:
        return None
    return title, names, year, sentences


def load_file(name):
    """Every paper of one file, in order."""
    with gzip.open(name, "rt", encoding="utf-8") as lines:
        return [paper for paper in map(parse_record, lines) if paper is not None]


def take_serial(files, n):
    papers = []
    for name in files:
        with gzip.open(name, "rt", encoding="utf-8") as lines:
            for line in lines:
                paper = parse_record(line)
                if paper is not None:
                    papers.append(paper)
                    if len(papers) == n:
                        return papers
    return papers


def take_pool(files, n, workers):
    papers = []
    with multiprocessing.Pool(workers) as pool:   # leaving the block terminates the workers
        for file_papers in pool.imap(load_file, files):
            papers.extend(file_papers[: n - len(papers)])
            if len(papers) == n:
                break
    return papers


def stage_rates(name):
    """MB/s of gzip alone and of json.loads alone (lines in memory) on one file."""
    start = time.perf_counter()
    with gzip.open(name, "rt", encoding="utf-8") as f:
        lines = f.readlines()
    gzip_seconds = time.perf_counter() - start
    megabytes = sum(len(line.encode()) for line in lines) / 1e6
    start = time.perf_counter()
    for line in lines:
        json.loads(line)
    json_seconds = time.perf_counter() - start
    return megabytes / gzip_seconds, megabytes / json_seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", help="a folder of *.gz JSON-lines files")
    parser.add_argument("--take", type=int, default=100000, help="papers to take (default 100000)")
    parser.add_argument("--workers", type=int, default=0, help="pool processes (default 0: this process alone)")
    args = parser.parse_args()
    files = sorted(glob.glob(os.path.join(args.dir, "*.gz")))
    if not files:
        parser.error(f"{args.dir}: no *.gz files")
    gzip_rate, json_rate = stage_rates(files[0])
    start = time.perf_counter()
    papers = take_pool(files, args.take, args.workers) if args.workers else take_serial(files, args.take)
    seconds = time.perf_counter() - start
    print(json.dumps({"papers": len(papers), "workers": args.workers, "seconds": round(seconds, 3),
                      "papers_per_second": round(len(papers) / seconds),
                      "gzip_mb_per_second": round(gzip_rate), "json_loads_mb_per_second": round(json_rate)}))


if __name__ == "__main__":
    main()
