"""Not a subcommand: `collect --last-accessed`'s second step, after the snapshot is written.

The principals at risk are only known after analysis, so the access-advisor report is fetched
once the snapshot is in place: load it, analyse it, ask IAM for the report of every principal that
has a finding, and add the reports (and the calls made) to the snapshot directory.
"""

from __future__ import annotations

import sys
from pathlib import Path

from deescalate.analysis.analyze import analyze
from deescalate.collect.last_accessed import fetch_last_accessed, write_last_accessed
from deescalate.collect.session import Aws
from deescalate.snapshot import load_snapshot


def add_last_accessed(out: Path, *, profile: str | None, endpoint_url: str | None, max_attempts: int) -> None:
    report = analyze(load_snapshot(out))
    at_risk = sorted({f.principal for f in report.findings})
    aws = Aws(profile=profile, endpoint_url=endpoint_url, max_attempts=max_attempts)
    result = fetch_last_accessed(aws, at_risk)
    write_last_accessed(out, result, aws)
    print(f"access advisor: {len(result.reports)} of {len(at_risk)} principal(s) at risk reported, "
          f"{len(result.failures)} failed call(s)", file=sys.stderr)
    for f in result.failures[:20]:
        print(f"  failed: iam {f.operation}: {f.summary()}", file=sys.stderr)
