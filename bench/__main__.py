"""`make bench`: run every benchmark in turn; each writes its own files under bench/results/."""

from __future__ import annotations

import subprocess
import sys
import time

# Each entry is one module with its own report; quality before speed, cheapest first.
SUITES: list[tuple[str, list[str]]] = [
    ("bench.retrieval", []),
    ("bench.nlu", ["--reuse-model"]),
    ("bench.load", []),
]


def main() -> int:
    """Run the suites; stop at the first failure and say which."""
    for module, args in SUITES:
        started = time.monotonic()
        print(f"==> {module} {' '.join(args)}", flush=True)
        result = subprocess.run([sys.executable, "-m", module, *args], check=False)
        print(f"<== {module}: exit {result.returncode} in {time.monotonic() - started:.0f}s")
        if result.returncode != 0:
            return result.returncode
    print("Results are in bench/results/.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
