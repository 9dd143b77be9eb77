"""Desk opening hours: the DESK_HOURS grammar, open/closed, the next opening, user texts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.desk.hours import (
    DeskHours,
    DeskHoursError,
    HoursOverlapError,
    HoursSyntaxError,
    NaiveDatetimeError,
    UnknownTimezoneError,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
DEFAULT = "mon-fri 09:00-18:00"


def sh(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A time in Shanghai in the week of Monday 2025-11-24 (day 21 is the Friday before)."""
    return datetime(2025, 11, day, hour, minute, second, tzinfo=SHANGHAI)


@pytest.fixture
def weekdays() -> DeskHours:
    return DeskHours.parse(DEFAULT, "Asia/Shanghai")


@pytest.mark.parametrize(
    ("at", "is_open"),
    [
        (sh(24, 8, 59, 59), False),  # Monday, a second before opening
        (sh(24, 9), True),
        (sh(26, 12), True),
        (sh(28, 17, 59, 59), True),  # Friday, last second
        (sh(28, 18), False),  # closing time itself is closed
        (sh(29, 12), False),  # Saturday
        (sh(30, 23, 59, 59), False),  # Sunday, last second of the week
    ],
)
def test_default_hours_are_open_from_nine_until_just_before_six_on_weekdays(
    weekdays: DeskHours, at: datetime, is_open: bool
) -> None:
    assert weekdays.is_open(at) is is_open


def test_friday_evening_next_opens_monday_at_nine_in_the_desk_zone(weekdays: DeskHours) -> None:
    opens = weekdays.next_open(sh(21, 19, 30))
    assert opens == sh(24, 9)
    assert opens is not None
    assert opens.tzinfo == SHANGHAI


@pytest.mark.parametrize("at", [sh(22, 0), sh(23, 23, 59, 59), sh(24, 0), sh(24, 8, 59)])
def test_weekend_and_early_monday_next_open_monday_at_nine(
    weekdays: DeskHours, at: datetime
) -> None:
    assert weekdays.next_open(at) == sh(24, 9)


def test_monday_evening_next_opens_tuesday_morning(weekdays: DeskHours) -> None:
    assert weekdays.next_open(sh(24, 18)) == sh(25, 9)


def test_next_open_is_none_while_the_desk_is_open(weekdays: DeskHours) -> None:
    assert weekdays.next_open(sh(25, 10)) is None


def test_a_lunch_break_reopens_the_same_afternoon() -> None:
    hours = DeskHours.parse("mon-fri 09:00-12:00, 13:30-18:00", "Asia/Shanghai")
    assert not hours.is_open(sh(24, 12, 30))
    assert hours.next_open(sh(24, 12, 30)) == sh(24, 13, 30)


def test_instants_in_other_zones_are_judged_by_the_desk_clock(weekdays: DeskHours) -> None:
    # Sunday 17:00 UTC is Monday 01:00 in Shanghai; Monday 01:00 UTC is Monday 09:00 there.
    assert not weekdays.is_open(datetime(2025, 11, 23, 17, tzinfo=UTC))
    assert weekdays.is_open(datetime(2025, 11, 24, 1, tzinfo=UTC))
    assert weekdays.next_open(datetime(2025, 11, 23, 17, tzinfo=UTC)) == sh(24, 9)
    # Friday 09:30 in New York is already Saturday in Shanghai.
    assert not weekdays.is_open(datetime(2025, 11, 28, 9, 30, tzinfo=ZoneInfo("America/New_York")))


def test_24_00_keeps_the_desk_open_through_midnight_into_the_next_week() -> None:
    hours = DeskHours.parse("sun 22:00-24:00; mon 00:00-02:00", "Asia/Shanghai")
    assert hours.is_open(sh(30, 23, 59, 59))
    assert hours.is_open(datetime(2025, 12, 1, 1, 59, tzinfo=SHANGHAI))
    assert not hours.is_open(datetime(2025, 12, 1, 2, tzinfo=SHANGHAI))
    # From Monday 03:00 the next opening is six days and 19 hours later.
    assert hours.next_open(datetime(2025, 12, 1, 3, tzinfo=SHANGHAI)) == datetime(
        2025, 12, 7, 22, tzinfo=SHANGHAI
    )


def test_berlin_hours_follow_summer_and_winter_time() -> None:
    hours = DeskHours.parse(DEFAULT, "Europe/Berlin")
    # 09:00 is 07:00 UTC in summer (CEST) and 08:00 UTC in winter (CET).
    assert hours.is_open(datetime(2025, 6, 2, 7, tzinfo=UTC))
    assert not hours.is_open(datetime(2025, 6, 2, 6, 59, tzinfo=UTC))
    assert not hours.is_open(datetime(2025, 12, 1, 7, 59, tzinfo=UTC))
    assert hours.is_open(datetime(2025, 12, 1, 8, tzinfo=UTC))


@pytest.mark.parametrize(
    ("friday", "offset"),
    [
        (datetime(2025, 3, 28, 19, tzinfo=BERLIN), timedelta(hours=2)),  # clocks go forward
        (datetime(2025, 10, 24, 19, tzinfo=BERLIN), timedelta(hours=1)),  # clocks go back
    ],
)
def test_berlin_weekend_across_a_dst_change_reopens_monday_at_nine_local(
    friday: datetime, offset: timedelta
) -> None:
    opens = DeskHours.parse(DEFAULT, "Europe/Berlin").next_open(friday)
    assert opens is not None
    assert (opens.weekday(), opens.hour, opens.minute) == (0, 9, 0)
    assert opens.utcoffset() == offset


def test_an_opening_time_skipped_by_spring_forward_opens_when_clocks_jump() -> None:
    # 2025-03-30 02:00 CET jumps to 03:00 CEST: 02:30 never happens, 03:00 is already inside.
    hours = DeskHours.parse("sun 02:30-04:00", "Europe/Berlin")
    opens = hours.next_open(datetime(2025, 3, 29, 12, tzinfo=BERLIN))
    assert opens == datetime(2025, 3, 30, 1, tzinfo=UTC)
    assert opens is not None
    assert hours.is_open(opens)
    # Step back in UTC: arithmetic on a Berlin datetime would land on the skipped wall time.
    assert not hours.is_open(opens.astimezone(UTC) - timedelta(seconds=1))


def test_always_is_open_at_every_hour_of_the_week() -> None:
    hours = DeskHours.parse("  ALWAYS ", "Asia/Shanghai")
    for hour in range(7 * 24):
        at = sh(24, 0) + timedelta(hours=hour, minutes=59)
        assert hours.is_open(at)
        assert hours.closed_notice(at) is None
    assert hours.describe() == "每天 24 小时"


def test_never_is_always_closed_and_says_the_message_is_kept() -> None:
    hours = DeskHours.parse("never", "Asia/Shanghai")
    assert not hours.is_open(sh(24, 10))
    assert hours.next_open(sh(24, 10)) is None
    notice = hours.closed_notice(sh(24, 10))
    assert notice is not None
    assert "没有客服值班" in notice
    assert "留言已保存" in notice


def test_closed_notice_is_none_while_open_and_names_the_next_opening_when_closed(
    weekdays: DeskHours,
) -> None:
    assert weekdays.closed_notice(sh(24, 10)) is None
    assert weekdays.closed_notice(sh(21, 19)) == (
        "现在是非工作时间（客服工作时间：周一至周五 09:00–18:00（北京时间））。"
        "客服将于 11月24日（周一）09:00 上线后回复您。"
    )


def test_closed_notice_uses_the_desk_date_not_the_users() -> None:
    # Sunday 20:00 in Berlin is already Monday 03:00 in Shanghai: opening is "today" there.
    hours = DeskHours.parse(DEFAULT, "Asia/Shanghai")
    notice = hours.closed_notice(datetime(2025, 11, 23, 20, tzinfo=BERLIN))
    assert notice is not None
    assert notice.endswith("客服将于 11月24日（周一）09:00 上线后回复您。")


@pytest.mark.parametrize(
    ("spec", "tz", "text"),
    [
        (DEFAULT, "Asia/Shanghai", "周一至周五 09:00–18:00（北京时间）"),
        (
            "Mon-Fri 09:00-12:00, 13:30-18:00; Sat,Sun 10:00-16:00",
            "Asia/Shanghai",
            "周一至周五 09:00–12:00、13:30–18:00；周六、周日 10:00–16:00（北京时间）",
        ),
        ("daily 08:00-20:00", "Europe/Berlin", "每天 08:00–20:00（Europe/Berlin）"),
        ("daily 00:00-24:00", "UTC", "每天 24 小时（UTC）"),
        ("mon,wed,fri 09:00-17:00", "UTC", "周一、周三、周五 09:00–17:00（UTC）"),
        ("fri-mon 10:00-12:00", "UTC", "周一、周五至周日 10:00–12:00（UTC）"),
        ("sat 00:00-24:00", "UTC", "周六 全天（UTC）"),
        # Touching periods are one period.
        ("mon 09:00-12:00; mon 12:00-18:00", "UTC", "周一 09:00–18:00（UTC）"),
    ],
)
def test_describe_gives_short_chinese_hours_with_the_zone(spec: str, tz: str, text: str) -> None:
    assert DeskHours.parse(spec, tz).describe() == text


def test_parse_tolerates_case_spaces_and_empty_rules() -> None:
    loose = DeskHours.parse("  MON - FRI   9:00 - 18:00 ;; ", " Asia/Shanghai ")
    assert loose == DeskHours.parse(DEFAULT, "Asia/Shanghai")
    assert loose.timezone == "Asia/Shanghai"


@pytest.mark.parametrize(
    ("spec", "error", "words"),
    [
        ("", HoursSyntaxError, ["empty"]),
        (" ; ", HoursSyntaxError, ["empty"]),
        ("mon-fri", HoursSyntaxError, ["rule 1", "no opening times"]),
        ("09:00-18:00", HoursSyntaxError, ["rule 1", "no days"]),
        ("mon-fri 09:00-18:00; funday 10:00-12:00", HoursSyntaxError, ["rule 2", "'funday'"]),
        ("mon,,tue 09:00-18:00", HoursSyntaxError, ["day is missing"]),
        ("mon-mon 09:00-18:00", HoursSyntaxError, ["one day"]),
        ("mon-fri,wed 09:00-18:00", HoursSyntaxError, ["wed is listed twice"]),
        ("daily,sat 09:00-18:00", HoursSyntaxError, ["'daily' must stand alone"]),
        ("mon 9-18", HoursSyntaxError, ["'9-18'", "HH:MM-HH:MM"]),
        ("mon 09:00-18:00,", HoursSyntaxError, ["time range is missing"]),
        ("mon 09:60-18:00", HoursSyntaxError, ["09:60"]),
        ("mon 24:00-24:00", HoursSyntaxError, ["24:00", "23:59"]),
        ("mon 09:00-24:01", HoursSyntaxError, ["24:01"]),
        ("mon 22:00-02:00", HoursSyntaxError, ["ends before it starts", "two rules"]),
        ("mon 09:00-09:00", HoursSyntaxError, ["empty"]),
        ("always; mon 09:00-18:00", HoursSyntaxError, ["'always' must be the whole setting"]),
        ("mon-fri never", HoursSyntaxError, ["no opening times"]),
        (
            "mon 09:00-12:00, 11:00-13:00",
            HoursOverlapError,
            ["rule 1", "09:00-12:00 and 11:00-13:00 overlap on mon"],
        ),
        (
            "mon-fri 09:00-18:00; fri 17:00-20:00",
            HoursOverlapError,
            ["rule 2 ('fri 17:00-20:00') overlaps rule 1", "on fri"],
        ),
        ("daily 09:00-18:00; sat-sun 08:00-10:00", HoursOverlapError, ["on sat"]),
    ],
)
def test_parse_rejects_bad_hours_saying_what_and_where(
    spec: str, error: type[DeskHoursError], words: list[str]
) -> None:
    with pytest.raises(error) as caught:
        DeskHours.parse(spec, "Asia/Shanghai")
    assert isinstance(caught.value, ValueError)
    for word in words:
        assert word in str(caught.value)


@pytest.mark.parametrize("tz", ["Mars/Olympus_Mons", "asia/shanghai", "", "Asia", "../etc/passwd"])
def test_an_unknown_time_zone_is_a_desk_hours_error(tz: str) -> None:
    with pytest.raises(UnknownTimezoneError, match="IANA time zone") as caught:
        DeskHours.parse(DEFAULT, tz)
    assert caught.value.__cause__ is not None


def test_naive_datetimes_are_refused(weekdays: DeskHours) -> None:
    with pytest.raises(NaiveDatetimeError, match="aware"):
        weekdays.is_open(datetime(2025, 11, 24, 10))
