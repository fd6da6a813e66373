"""workloads.py - the CPU work of the CPU twins, as workloads.c is for C.

The same four workloads, the same result for the same inputs:
  sumsq   task i: sum(j * j for j in range(size + i)); result: the sum.
  fib     fib(size) by naive recursion; result: the sum over the tasks.
  sha256  task i: a 32-byte block holding i (big-endian, last 8 bytes)
          replaced `size` times by its SHA-256 (hashlib); result: the XOR
          of the final blocks, in hex.
  prime   task i: is 2**(size + i) - 1 prime? Trial division; result: how
          many were.
Each long loop looks at lab.stop_signal now and then (in chunks, as
workloads.c does) and raises Stopped, so a signal ends a task quickly.
"""
import hashlib

import lab

DEFAULT_SIZES = {"sumsq": 5_000_000, "fib": 35, "sha256": 500_000, "prime": 42}
CHUNK = 1 << 18                 # sumsq and prime: about 20 ms of Python
SHA256_CHUNK = 1 << 12
FIB_LOOK_FROM = 20


class Stopped(Exception):
    """A signal cut the task short: it is not counted."""


def keep_going():
    if lab.stop_signal:
        raise Stopped


def prepare(o):
    """Check o.workload and o.size (0: the default); a problem, or None."""
    if o.workload not in DEFAULT_SIZES:
        return f"--workload: '{o.workload}' is not one of sumsq, fib, sha256, prime"
    o.size = o.size or DEFAULT_SIZES[o.workload]
    last = o.size + o.tasks - 1
    if o.workload == "sumsq" and o.tasks * last**3 / 3 >= 2.0**128:
        return (f"--size {o.size} with --tasks {o.tasks}: the sumsq total would "
                f"not fit in 128 bits")
    if o.workload == "fib" and o.size > 92:
        return f"--size {o.size}: fib({o.size}) does not fit in 64 bits (at most 92)"
    if o.workload == "prime" and last > 63:
        return (f"--size {o.size} with --tasks {o.tasks}: prime tests 2^(size+i)-1 "
                f"in 64 bits, so size + tasks - 1 must be at most 63")
    return None


def sum_of_squares(n):
    total = 0
    for start in range(0, n, CHUNK):
        total += sum(j * j for j in range(start, min(start + CHUNK, n)))
        keep_going()
    return total


def fib(n):
    if n < 2:
        return n
    if n >= FIB_LOOK_FROM:
        keep_going()
    return fib(n - 1) + fib(n - 2)


def sha256_chain(i, rounds):
    block = i.to_bytes(32, "big")
    for r in range(rounds):
        if r % SHA256_CHUNK == 0:
            keep_going()
        block = hashlib.sha256(block).digest()
    return int.from_bytes(block, "big")


def mersenne_is_prime(exponent):
    n = 2**exponent - 1
    if n < 2:
        return False
    for start in range(3, n, 2 * CHUNK):
        keep_going()
        for x in range(start, start + 2 * CHUNK, 2):
            if x * x > n:
                return True
            if n % x == 0:
                return False
    return True


def run_task(workload, size, i):
    """Task i of the workload: its part of the result (Stopped if cut short)."""
    if workload == "sumsq":
        return sum_of_squares(size + i)
    if workload == "fib":
        return fib(size)
    if workload == "sha256":
        return sha256_chain(i, size)
    return int(mersenne_is_prime(size + i))


def combine(workload, parts):
    """The record's result= from the tasks' parts, in any order."""
    if workload != "sha256":
        return str(sum(parts))
    total = 0
    for part in parts:
        total ^= part
    return f"{total:064x}"


def report(experiment, o, parts, seconds, workers, on="", failed=0, **extra):
    """The end of every CPU twin: "Ran D of N <workload> tasks (size S) on W
    <on> in S s: result R" (no "on" part for one thread), then the record
    line, `extra` (more key=value pairs) at its end; `failed`: the tasks lost
    with a worker that died."""
    result = combine(o.workload, parts)
    where = f" on {workers} {on}" if on else ""
    print(f"Ran {len(parts)} of {o.tasks} {o.workload} tasks (size {o.size}){where} "
          f"in {seconds:.3f} s: result {result}")
    lab.record(experiment=experiment, workload=o.workload, tasks=o.tasks, size=o.size,
               workers=workers, seconds=f"{seconds:.6f}", result=result, done=len(parts),
               failed=failed, **extra)
