"""The date-sensitive tests (marked ``dates``), run again at awkward moments.

``make test`` runs the whole suite at the real time, then ``python -m tests.dates``: the tests
marked ``dates`` (reports, periods, reviews, reminders, the demo, the web journeys) once for each
moment below, each run with its clock moved there (``TIDE_TEST_NOW``, see ``tests/conftest.py``)
and running on from it. A failure names the moment; the command exits non-zero if any run failed.

``python -m tests.dates 2028-02-29T12:00:00+00:00`` runs one moment of your choosing; extra
arguments after ``--`` go to pytest.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime

#: Each moment (UTC) and why it is awkward, in London's terms.
MOMENTS: dict[str, str] = {
    "2027-02-01T00:20:00+00:00": "the first minutes of a month (GMT): the month has only just begun",
    "2027-03-31T23:30:00+00:00": "00:30 on 1 April in BST, still 31 March in UTC: a new month and financial year",
    "2027-06-30T22:40:00+00:00": "23:40 on the last day of a month (BST): the month's last minutes",
    "2026-12-31T23:40:00+00:00": "23:40 on 31 December: the last minutes of a month and a year",
    "2027-03-28T00:50:00+00:00": "00:50 on the last Sunday of March: clocks go forward at 01:00 during the run",
    "2027-10-31T00:50:00+00:00": "01:50 BST on the last Sunday of October: clocks go back at 02:00 BST during the run",
    "2028-02-29T12:00:00+00:00": "29 February of a leap year",
}


def run(moment: str, extra: list[str]) -> int:
    datetime.fromisoformat(moment)  # refuse a typing error before pytest starts
    env = {**os.environ, "TIDE_TEST_NOW": moment}
    command = [sys.executable, "-m", "pytest", "-m", "dates", "-p", "no:cacheprovider", "-q", *extra]
    return subprocess.run(command, env=env, check=False).returncode  # noqa: S603 - our own pytest


def main(argv: list[str]) -> int:
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    chosen = argv[: argv.index("--")] if "--" in argv else argv
    moments = dict.fromkeys(chosen, "chosen on the command line") if chosen else MOMENTS
    failed = []
    for moment, why in moments.items():
        print(f"\n=== The date-sensitive tests with the clock at {moment}: {why}", flush=True)  # noqa: T201
        if run(moment, extra) != 0:
            failed.append(f"{moment} ({why})")
    if failed:
        print("\nThe date-sensitive tests FAILED with the clock at:", *failed, sep="\n  ")  # noqa: T201
        return 1
    print(f"\nThe date-sensitive tests passed at all {len(moments)} moments.")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
