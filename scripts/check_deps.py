"""Fail the install if pip resolved a pinned dependency to something else, or left conflicts.

bullmq 3.x and purgatory[redis] pull redis-py in opposite directions; pip resolves that by
quietly downgrading bullmq (research/deps.md). This makes such a downgrade loud.
"""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

from packaging.specifiers import SpecifierSet

PINS = {"bullmq": "==3.4.4", "redis": ">=7.4,<9"}


def main() -> int:
    problems = [
        f"{name} {version(name)} does not satisfy {spec}"
        for name, spec in PINS.items()
        if version(name) not in SpecifierSet(spec)
    ]
    check = subprocess.run(
        [sys.executable, "-m", "pip", "check"], capture_output=True, text=True, check=False
    )
    if check.returncode != 0:
        problems.append(check.stdout.strip() or check.stderr.strip())
    for problem in problems:
        print(f"dependency check: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
