"""DICOM date/time strings (DT, TM with DA) to seconds, for frame times.

Malformed values give ``None`` (the readers then fall back to another time source)
rather than an error: acquisition times are optional in every DICOM object read here.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any

__all__ = ["parse_dt", "parse_tm"]

_DT_RE = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\.\d{1,6})?([+-]\d{4})?$")
_TM_RE = re.compile(r"^(\d{2})(\d{2})?(\d{2})?(\.\d{1,6})?$")


def parse_dt(value: Any) -> float | None:
    """Seconds since 1970 (UTC offset applied if present) of a DICOM DT string."""
    text = str(value or "").strip().replace(":", "")
    m = _DT_RE.match(text)
    if not m:
        return None
    y, mo, d, h, mi, s, frac, tz = m.groups()
    try:
        when = _dt.datetime(
            int(y), int(mo or 1), int(d or 1), int(h or 0), int(mi or 0), int(s or 0),
            tzinfo=_dt.timezone.utc,
        )
    except ValueError:
        return None
    secs = when.timestamp() + (float(frac) if frac else 0.0)
    if tz:
        sign = 1 if tz[0] == "+" else -1
        secs -= sign * (int(tz[1:3]) * 3600 + int(tz[3:5]) * 60)
    return secs


def parse_tm(value: Any, date: Any = None) -> float | None:
    """Seconds of a DICOM TM string, counted from 1970 when a DA ``date`` is given."""
    text = str(value or "").strip().replace(":", "")
    m = _TM_RE.match(text)
    if not m:
        return None
    h, mi, s, frac = m.groups()
    if int(h) > 23 or int(mi or 0) > 59 or int(s or 0) > 60:
        return None
    secs = int(h) * 3600 + int(mi or 0) * 60 + int(s or 0) + (float(frac) if frac else 0.0)
    day = parse_dt(str(date or "").strip()) if date else None
    if day is not None and len(str(date).strip()) == 8:
        secs += day
    return secs
