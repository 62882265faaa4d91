"""The service with its request log on (rate 1.0) against off, side by side.

Two `python -m serving` over the same champion, one with REQUEST_LOG_DIR set (every answered
request logged), one without; `wrk` drives each with single-record POSTs of the holdout's raw
rows at concurrency 1 and 32, in slices taken in turn (bench/serving.py's method). Run after
`make run` (it needs a champion).

    python -m bench.request_log --seconds 20
"""

from __future__ import annotations

import argparse
import os
import sys

from bench.measure import verdict
from bench.serving import combine, holdout_for_champion, load, start, stop, write_bodies
from pipeline.io.request_log import entries
from tests.helpers import free_port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20, help="per side and concurrency")
    parser.add_argument("--rounds", type=int, default=4, help="slices the seconds are cut into")
    args = parser.parse_args()

    folder, served, _, rows = holdout_for_champion("bench-request-log-")
    bodies = write_bodies(folder / "bodies.jsonl", rows)
    log = folder / "log"
    sides = {"log off": {}, "log on (rate 1.0)": {"REQUEST_LOG_DIR": str(log)}}
    running = {}
    try:
        for label, extra in sides.items():
            port = free_port()
            os.environ.pop("REQUEST_LOG_DIR", None)  # the server inherits this process's environment
            os.environ.update(extra)
            process = start(
                [sys.executable, "-m", "serving", "--port", str(port)],
                f"http://127.0.0.1:{port}/readyz",
                folder / f"{port}.log",
            )
            os.environ.pop("REQUEST_LOG_DIR", None)
            running[label] = (process, f"http://127.0.0.1:{port}/predict")
            load(running[label][1], bodies, 4, 3)  # warm-up
        slices: dict[tuple[str, int], list[dict]] = {}
        for _ in range(args.rounds):
            for concurrency in (1, 32):
                for label, (_, url) in running.items():
                    slices.setdefault((label, concurrency), []).append(
                        load(url, bodies, concurrency, args.seconds / args.rounds)
                    )
    finally:
        for process, _ in running.values():
            stop(process)
    results = {key: combine(parts) for key, parts in slices.items()}
    logged = sum(1 for _ in entries(log))
    answered = sum(r["n"] for (label, _), r in results.items() if label != "log off")
    off, on = list(sides)
    lines = [
        "## Serving with the request log on and off (bench/request_log.py)",
        "",
        f"`python -m bench.request_log --seconds {args.seconds:g} --rounds {args.rounds}`: two services "
        "over the champion, one logging every answered request (REQUEST_LOG_DIR, rate 1.0), one not; "
        f"single-record POSTs by `wrk`, {args.seconds:g} s per side and concurrency in {args.rounds} slices "
        f"taken in turn. Logged: {logged} lines for {answered} answered requests (warm-up included in the "
        "lines).",
        "",
        "| side | concurrency | req/s | p50 ms | p99 ms | errors | on / off |",
        "|---|---|---|---|---|---|---|",
    ]
    for concurrency in (1, 32):
        for label in sides:
            r = results[label, concurrency]
            lines.append(
                f"| {label} | {concurrency} | {r['req_s']:.0f} | {r['p50']:.1f} | {r['p99']:.1f} "
                f"| {r['errors']} | {r['req_s'] / results[off, concurrency]['req_s']:.2f}x |"
            )
    ratios = {c: results[on, c]["req_s"] / results[off, c]["req_s"] for c in (1, 32)}
    errors = sum(r["errors"] for r in results.values())
    lines += [
        "",
        f"Target: throughput with the log >= 0.9x without, at 1 and 32, 0 errors: {ratios[1]:.2f}x, "
        f"{ratios[32]:.2f}x, {errors} errors: {verdict(min(ratios.values()) >= 0.9 and errors == 0)}.",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
