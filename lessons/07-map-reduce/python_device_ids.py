"""The original material's device ids in Python, for the figures lesson 07 quotes beside its own.

The original material's gen_device_ids, unchanged: sha1(str(uuid4())) for `count` ids. Run once in one
process, then as two halves on a multiprocessing Pool(2), and timed (wall clock, the ids
made and returned; the Pool's start included). Then the ids counted by first character,
as the original material's groupby('first') does, with collections.Counter.

    python3 python_device_ids.py            # 12,000,000 ids, as the original (about 95 s on 2 cores)
    python3 python_device_ids.py 1200000    # a tenth
"""
import sys
import time
from collections import Counter
from hashlib import sha1
from multiprocessing import Pool
from uuid import uuid4


def gen_device_ids(count: int = 20_000) -> list:
    device_ids = []
    for _ in range(count):
        device_ids.append(str(uuid4()))
    # hash
    return [sha1(x.encode()).hexdigest() for x in device_ids]


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 12_000_000

    start = time.perf_counter()
    ids = gen_device_ids(count)
    serial = time.perf_counter() - start

    start = time.perf_counter()
    with Pool(2) as pool:
        halves = pool.map(gen_device_ids, [count // 2, count - count // 2])
    pooled = time.perf_counter() - start

    start = time.perf_counter()
    counts = Counter(device_id[0] for device_id in ids)
    counting = time.perf_counter() - start

    assert len(ids) == count and sum(len(h) for h in halves) == count and sum(counts.values()) == count
    print(f"{count} ids: one process {serial:.1f} s, Pool(2) {pooled:.1f} s, "
          f"counted by first character in {counting:.2f} s")


if __name__ == "__main__":
    main()
