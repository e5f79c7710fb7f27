"""core.io.dicom_time: DICOM DT / TM strings to seconds; malformed values give None."""

import datetime as dt

import pytest

from core.io.dicom_time import parse_dt, parse_tm

EPOCH_2024 = dt.datetime(2024, 3, 5, 14, 7, 9, tzinfo=dt.timezone.utc).timestamp()


def test_full_datetime_with_fraction():
    assert parse_dt("20240305140709.250000") == pytest.approx(EPOCH_2024 + 0.25)


def test_utc_offset_is_applied():
    # 14:07:09 at +0100 is 13:07:09 UTC
    assert parse_dt("20240305140709+0100") == pytest.approx(EPOCH_2024 - 3600)
    assert parse_dt("20240305140709-0030") == pytest.approx(EPOCH_2024 + 1800)


def test_partial_datetime_fills_the_rest():
    assert parse_dt("2024") == dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc).timestamp()


@pytest.mark.parametrize("bad", ["", None, "yesterday", "20241305", "20240230", "2024-03-05"])
def test_malformed_datetime_is_none(bad):
    assert parse_dt(bad) is None


def test_time_of_day_and_old_colon_form():
    assert parse_tm("140709.5") == pytest.approx(14 * 3600 + 7 * 60 + 9.5)
    assert parse_tm("14:07:09") == pytest.approx(14 * 3600 + 7 * 60 + 9)
    assert parse_tm("14") == 14 * 3600


def test_time_with_a_date_counts_from_1970():
    assert parse_tm("140709", "20240305") == pytest.approx(EPOCH_2024)


@pytest.mark.parametrize("bad", ["", None, "2460", "1260", "12:61", "noon"])
def test_malformed_time_is_none(bad):
    assert parse_tm(bad) is None
