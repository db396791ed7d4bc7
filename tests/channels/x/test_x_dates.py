from datetime import UTC, datetime, timedelta

import pytest

from caredesk.channels.x.parse import Malformed, parse_v1_date

FORMAT = "%a %b %d %H:%M:%S %z %Y"


def test_account_activity_dates_match_the_standard_parser_all_year_round():
    at = datetime(2024, 1, 1, 0, 0, 1, tzinfo=UTC)  # a leap year, every month and weekday
    for _ in range(400):
        text = at.strftime("%a %b %d %H:%M:%S +0000 %Y")
        assert parse_v1_date(text) == datetime.strptime(text, FORMAT) == at
        at += timedelta(days=1, hours=7, minutes=13, seconds=11)


def test_other_offsets_are_converted_to_utc():
    assert parse_v1_date("Wed Oct 10 20:19:24 +0200 2018") == datetime(
        2018, 10, 10, 18, 19, 24, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "text",
    [
        "Wed Feb 30 20:19:24 +0000 2018",
        "Wed Oct 10 25:19:24 +0000 2018",
        "Wed Oct 10 20:19:24 +0000 2018 ",
        "Wed Foo 10 20:19:24 +0000 2018",
        "2018-10-10T20:19:24Z",
        "",
    ],
)
def test_malformed_dates_are_refused_with_the_value(text):
    with pytest.raises(Malformed, match="bad created_at"):
        parse_v1_date(text)
