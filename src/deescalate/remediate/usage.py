"""What a deny would break, from IAM access advisor's record of what the principal actually used.

With `collect --last-accessed` the snapshot knows, per principal at risk, when it last used each
service and (for the services IAM tracks at action level) each action, over a tracking period of
at least 400 days before the report. The planner uses it in two ways:

* the objective: a deny of an action the principal used within the period disrupts more
  (`penalty`): +30 for an action used (more than any resource pattern's 20, so a never-used
  workload action is denied before a hand-off the principal really uses), +10 when only the
  service is known to be used (the action is not tracked at action level); never used: +0.
* the plan text and `--fail-on-impact DAYS`: each deny says "last used: never / N days ago
  (tracked since …)" or "usage unknown".

Access advisor counts every attempt, allowed or denied, and reports per action, not per resource:
a PassRole used recently may have passed another role. That is why use only weighs the choice and
warns; it never removes a deny that an escalation needs.
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_last-accessed.html
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from deescalate.model import Snapshot

TRACKING_DAYS = 400  # IAM reports activity for at least the last 400 days
USED_ACTION_PENALTY = 30
USED_SERVICE_PENALTY = 10


class UsageLevel(StrEnum):
    ACTION = "action"  # the action is tracked: its own last use is known
    SERVICE = "service"  # only the service's last use is known
    UNKNOWN = "unknown"  # no report for the principal, or the service is not in it


@dataclass(frozen=True, slots=True, kw_only=True)
class Usage:
    level: UsageLevel
    last_used: dt.datetime | None = None  # None with a known level: not used within the period
    days_ago: int | None = None
    tracked_since: dt.date | None = None

    @property
    def used(self) -> bool:
        return self.last_used is not None

    def text(self) -> str:
        if self.level is UsageLevel.UNKNOWN:
            return "usage unknown"
        since = f" (tracked since {self.tracked_since.isoformat()})" if self.tracked_since else ""
        what = "last used" if self.level is UsageLevel.ACTION else "service last used (action not tracked)"
        if self.last_used is None:
            return f"{what}: never{since}"
        return f"{what}: {self.days_ago} day(s) ago{since}"


def _time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def usage_of(snapshot: Snapshot, principal: str, action: str) -> Usage:
    record = snapshot.last_accessed.get(principal)
    service, _, name = action.lower().partition(":")
    if record is None or not name or "*" in action or "?" in action:
        return Usage(level=UsageLevel.UNKNOWN)
    reported = _time(record.reported_at)
    since = (reported - dt.timedelta(days=TRACKING_DAYS)).date() if reported else None
    svc = record.services.get(service)
    if svc is None:
        return Usage(level=UsageLevel.UNKNOWN)
    if svc.actions is not None and name in svc.actions:
        last, level = _time(svc.actions[name]), UsageLevel.ACTION
    else:
        last, level = _time(svc.last_used), UsageLevel.SERVICE
    days = None
    if last is not None and reported is not None:
        days = max(0, (reported - last).days)
    return Usage(level=level, last_used=last, days_ago=days, tracked_since=since)


def penalty(usage: Usage) -> int:
    if not usage.used:
        return 0
    return USED_ACTION_PENALTY if usage.level is UsageLevel.ACTION else USED_SERVICE_PENALTY
