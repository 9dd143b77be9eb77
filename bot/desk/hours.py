"""Service-desk opening hours: `DESK_HOURS` rules evaluated in the `DESK_TIMEZONE` zone.

Grammar (case-insensitive, spaces allowed around every separator)::

    spec   := "always" | "never" | rule (";" rule)*
    rule   := days period ("," period)*
    days   := "daily" | day-item ("," day-item)*
    day-item := DAY | DAY "-" DAY          DAY = mon tue wed thu fri sat sun
    period := HH:MM "-" HH:MM              end may be 24:00; start < end

`always` is 24/7; `never` means no one is on duty (tickets still queue). Periods may not
overlap; periods that touch (12:00-13:00 and 13:00-14:00) are merged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "DeskHours",
    "DeskHoursError",
    "HoursOverlapError",
    "HoursSyntaxError",
    "NaiveDatetimeError",
    "UnknownTimezoneError",
]

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_INDEX = {name: index for index, name in enumerate(DAY_NAMES)}
_ZH_DAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
# Aliases of Asia/Shanghai in tzdata: users know all of them as Beijing time.
_BEIJING_ZONES = frozenset(
    {"Asia/Shanghai", "Asia/Chongqing", "Asia/Chungking", "Asia/Harbin", "PRC"}
)
_DAY_MINUTES = 24 * 60
# A weekly schedule repeats after 7 days; the extra week only matters when a DST gap swallows
# a whole period, so the search always ends.
_SEARCH_DAYS = 15
_PERIOD = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")
_EXAMPLE = "e.g. 'mon-fri 09:00-18:00; sat 10:00-16:00'"

Mode = Literal["rules", "always", "never"]
Period = tuple[int, int]
"""Minutes since local midnight, start inclusive, end exclusive (end may be 1440)."""


class DeskHoursError(ValueError):
    """Base class for every error about desk hours."""


class HoursSyntaxError(DeskHoursError):
    """`DESK_HOURS` does not follow the grammar or names an impossible time."""


class HoursOverlapError(DeskHoursError):
    """Two opening periods on the same day overlap."""


class UnknownTimezoneError(DeskHoursError):
    """`DESK_TIMEZONE` is not an IANA time zone name such as Asia/Shanghai."""


class NaiveDatetimeError(DeskHoursError):
    """A datetime without a time zone was given; desk hours need an instant."""


@dataclass(frozen=True)
class _Slot:
    """One parsed period, remembering where it came from for error messages."""

    day: int
    start: int
    end: int
    rule: int
    text: str


@dataclass(frozen=True)
class DeskHours:
    """When the service desk is staffed: weekly periods in one time zone."""

    week: tuple[tuple[Period, ...], ...]
    """Seven tuples of sorted, disjoint periods, Monday first."""
    zone: ZoneInfo
    mode: Mode = "rules"

    @classmethod
    def parse(cls, spec: str, tz: str) -> DeskHours:
        """Parse `DESK_HOURS` and `DESK_TIMEZONE`; raise DeskHoursError saying what is wrong."""
        zone = _zone(tz)
        whole = spec.strip().lower()
        if whole == "always":
            return cls(tuple(((0, _DAY_MINUTES),) for _ in DAY_NAMES), zone, "always")
        if whole == "never":
            return cls(tuple(() for _ in DAY_NAMES), zone, "never")
        rules = [(n, rule.strip()) for n, rule in enumerate(spec.split(";"), 1)]
        slots = [slot for n, rule in rules if rule for slot in _parse_rule(n, rule)]
        if not slots:
            raise HoursSyntaxError(
                f"DESK_HOURS is empty: give opening hours ({_EXAMPLE}), 'always' or 'never'"
            )
        return cls(tuple(_merge(day, slots) for day in range(len(DAY_NAMES))), zone)

    @property
    def timezone(self) -> str:
        """The IANA name of the desk's time zone."""
        return self.zone.key

    @property
    def zone_label(self) -> str:
        """How users are told the time zone: 北京时间 for Shanghai, else the IANA name."""
        return "北京时间" if self.zone.key in _BEIJING_ZONES else self.zone.key

    def is_open(self, at: datetime) -> bool:
        """Whether the desk is staffed at the instant `at` (an aware datetime, any zone)."""
        local = self._local(at)
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end for start, end in self.week[local.weekday()])

    def next_open(self, at: datetime) -> datetime | None:
        """When the desk next opens after `at`, in the desk's zone; None if open now or never."""
        if self.is_open(at):
            return None
        # Compare in UTC: aware datetimes sharing a tzinfo compare by wall clock, which is
        # wrong in the repeated hour when clocks go back.
        after = at.astimezone(UTC)
        local = self._local(at)
        for offset in range(_SEARCH_DAYS):
            day = local.date() + timedelta(days=offset)
            for start, _end in self.week[day.weekday()]:
                wall = datetime.combine(day, time(start // 60, start % 60))
                # The round trip through UTC moves a wall time inside a DST gap forward.
                candidate = wall.replace(tzinfo=self.zone).astimezone(UTC)
                if candidate <= after or not self.is_open(candidate):
                    continue
                if candidate.astimezone(self.zone).replace(tzinfo=None) != wall:
                    candidate = self._gap_opening(candidate, after)
                return candidate.astimezone(self.zone)
        return None

    def describe(self) -> str:
        """A short Simplified-Chinese description, e.g. 周一至周五 09:00–18:00（北京时间）."""
        if self.mode == "always":
            return "每天 24 小时"
        if self.mode == "never":
            return "暂无客服值班"
        groups: dict[tuple[Period, ...], list[int]] = {}
        for day, periods in enumerate(self.week):
            if periods:
                groups.setdefault(periods, []).append(day)
        parts = [_zh_rule(days, periods) for periods, days in groups.items()]
        return f"{'；'.join(parts)}（{self.zone_label}）"

    def closed_notice(self, at: datetime) -> str | None:
        """What to tell a user writing at `at`: None while open, else when an agent is back."""
        if self.is_open(at):
            return None
        if self.mode == "never":
            return "目前没有客服值班。您的留言已保存，客服上线后会尽快回复您。"
        notice = f"现在是非工作时间（客服工作时间：{self.describe()}）。"
        when = self.next_open(at)
        if when is None:
            return notice + "您的留言已保存，客服上线后会尽快回复您。"
        day = f"{when.month}月{when.day}日（{_ZH_DAYS[when.weekday()]}）"
        return notice + f"客服将于 {day}{when:%H:%M} 上线后回复您。"

    def _local(self, at: datetime) -> datetime:
        if at.tzinfo is None or at.utcoffset() is None:
            raise NaiveDatetimeError(
                f"desk hours need an aware datetime (with a time zone), got naive {at.isoformat()}"
            )
        return at.astimezone(self.zone)

    def _gap_opening(self, candidate: datetime, after: datetime) -> datetime:
        # The period starts at a wall time the clocks skip (spring forward), so the desk opens
        # the moment they jump past it. zoneinfo does not expose transitions; stepping back
        # minute by minute stays within the gap (an hour or two) because before it the desk
        # was closed.
        step = timedelta(minutes=1)
        while candidate - step > after and self.is_open(candidate - step):
            candidate -= step
        return candidate


def _zone(tz: str) -> ZoneInfo:
    name = tz.strip()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise UnknownTimezoneError(
            f"DESK_TIMEZONE {name!r} is not an IANA time zone name (e.g. Asia/Shanghai, "
            "Europe/Berlin; names are case-sensitive)"
        ) from exc


def _parse_rule(number: int, text: str) -> list[_Slot]:
    where = f"DESK_HOURS rule {number} ({text!r})"
    rule = text.lower()
    if rule in {"always", "never"}:
        raise HoursSyntaxError(f"{where}: {rule!r} must be the whole setting, not one rule")
    first_digit = re.search(r"\d", rule)
    if first_digit is None:
        raise HoursSyntaxError(f"{where}: no opening times; expected DAYS HH:MM-HH:MM, {_EXAMPLE}")
    days_text, periods_text = rule[: first_digit.start()].strip(), rule[first_digit.start() :]
    if not days_text:
        raise HoursSyntaxError(f"{where}: no days before the times; {_EXAMPLE}")
    days = _parse_days(days_text, where)
    periods = [_parse_period(piece.strip(), where) for piece in periods_text.split(",")]
    return [_Slot(day, start, end, number, text) for day in days for start, end in periods]


def _parse_days(text: str, where: str) -> list[int]:
    if text == "daily":
        return list(range(len(DAY_NAMES)))
    days: list[int] = []
    for item in text.split(","):
        first, dash, last = (part.strip() for part in item.partition("-"))
        if not dash:
            span = [_day(first, where)]
        else:
            begin, end = _day(first, where), _day(last, where)
            if begin == end:
                raise HoursSyntaxError(
                    f"{where}: the day range {item.strip()!r} is one day; name it once"
                )
            # A range may wrap past Sunday: fri-mon is fri, sat, sun, mon.
            span = [(begin + step) % 7 for step in range((end - begin) % 7 + 1)]
        for day in span:
            if day in days:
                raise HoursSyntaxError(f"{where}: {DAY_NAMES[day]} is listed twice")
            days.append(day)
    return days


def _day(name: str, where: str) -> int:
    if name == "daily":
        raise HoursSyntaxError(f"{where}: 'daily' must stand alone, not in a list or range")
    try:
        return _DAY_INDEX[name]
    except KeyError:
        if not name:
            raise HoursSyntaxError(f"{where}: a day is missing (a stray ',' or '-'?)") from None
        raise HoursSyntaxError(
            f"{where}: {name!r} is not a day; use {', '.join(DAY_NAMES)} or daily"
        ) from None


def _parse_period(piece: str, where: str) -> Period:
    if not piece:
        raise HoursSyntaxError(f"{where}: a time range is missing (a stray ','?)")
    match = _PERIOD.fullmatch(piece)
    if match is None:
        raise HoursSyntaxError(f"{where}: {piece!r} is not a time range HH:MM-HH:MM")
    start = _minutes(match[1], match[2], where, end=False)
    end = _minutes(match[3], match[4], where, end=True)
    if start == end:
        raise HoursSyntaxError(f"{where}: {piece!r} is empty (starts when it ends)")
    if start > end:
        raise HoursSyntaxError(
            f"{where}: {piece!r} ends before it starts; split a period past midnight into "
            "two rules, e.g. 'fri 22:00-24:00; sat 00:00-02:00'"
        )
    return start, end


def _minutes(hours: str, minutes: str, where: str, *, end: bool) -> int:
    hour, minute = int(hours), int(minutes)
    valid = minute < 60 and (hour < 24 or (end and hour == 24 and minute == 0))
    if not valid:
        limit = "00:00 to 24:00" if end else "00:00 to 23:59"
        raise HoursSyntaxError(f"{where}: {hours}:{minutes} is not a time from {limit}")
    return hour * 60 + minute


def _merge(day: int, slots: list[_Slot]) -> tuple[Period, ...]:
    """The day's periods, sorted, touching ones joined; overlapping ones are an error."""
    ordered = sorted((slot for slot in slots if slot.day == day), key=lambda s: s.start)
    merged: list[Period] = []
    for previous, slot in pairwise(ordered):
        if slot.start < previous.end:
            raise HoursOverlapError(_overlap_message(DAY_NAMES[day], previous, slot))
    for slot in ordered:
        if merged and merged[-1][1] == slot.start:
            merged[-1] = (merged[-1][0], slot.end)
        else:
            merged.append((slot.start, slot.end))
    return tuple(merged)


def _overlap_message(day: str, first: _Slot, second: _Slot) -> str:
    a, b = _hm_range(first.start, first.end), _hm_range(second.start, second.end)
    if first.rule == second.rule:
        return f"DESK_HOURS rule {first.rule} ({first.text!r}): {a} and {b} overlap on {day}"
    return (
        f"DESK_HOURS rule {second.rule} ({second.text!r}) overlaps rule {first.rule} "
        f"({first.text!r}) on {day}: {b} and {a}"
    )


def _hm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _hm_range(start: int, end: int) -> str:
    return f"{_hm(start)}-{_hm(end)}"


def _zh_days(days: list[int]) -> str:
    if len(days) == len(DAY_NAMES):
        return "每天"
    runs: list[list[int]] = []
    for day in days:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    # 至 only for three days or more: 周六、周日 reads better than 周六至周日.
    names = [
        f"{_ZH_DAYS[run[0]]}至{_ZH_DAYS[run[-1]]}"
        if len(run) > 2
        else "、".join(_ZH_DAYS[d] for d in run)
        for run in runs
    ]
    return "、".join(names)


def _zh_rule(days: list[int], periods: tuple[Period, ...]) -> str:
    if periods == ((0, _DAY_MINUTES),):
        return "每天 24 小时" if len(days) == len(DAY_NAMES) else f"{_zh_days(days)} 全天"
    return f"{_zh_days(days)} {_zh_periods(periods)}"


def _zh_periods(periods: tuple[Period, ...]) -> str:
    return "、".join(f"{_hm(start)}–{_hm(end)}" for start, end in periods)
