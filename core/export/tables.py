"""Tables and metadata for export: pseudonymised metadata and CSV/XLSX/Parquet files."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from core.atomic import replaced_atomically
from core.series import IDENTITY_KEYS

__all__ = ["TABLE_FORMATS", "pseudonymize", "write_table"]

#: Table formats of :func:`write_table` and their file suffixes.
TABLE_FORMATS: dict[str, str] = {"csv": ".csv", "xlsx": ".xlsx", "parquet": ".parquet"}

#: Extra keys removed by :func:`pseudonymize` besides :data:`core.series.IDENTITY_KEYS`
#: and any ``patient_*`` key: source paths often carry the patient's name.
LINKABLE_KEYS = ("source_path",)

_EXCEL_MAX_ROWS = 1_048_576


def pseudonymize(meta: Mapping[str, Any], keep_identity: bool = False) -> dict[str, Any]:
    """Return a copy of series metadata fit for export.

    Args:
        meta: a :attr:`core.series.CineSeries.meta` dictionary.
        keep_identity: keep every key unchanged (the user's explicit choice).

    Returns:
        A new dict.  Unless ``keep_identity``, the identity keys
        (``patient_name``, ``patient_id``, ``patient_birth_date``), any other
        ``patient_*`` key and ``source_path`` are removed, ``subject_id`` holds
        the pseudonymous alias (``"subject"`` when none was set) and
        ``pseudonymized`` is ``True``.  The input is never modified.
    """
    if not isinstance(meta, Mapping):
        raise TypeError(f"expected a metadata dict, got {type(meta).__name__}")
    out = {k: (list(v) if isinstance(v, list) else v) for k, v in meta.items()}
    if keep_identity:
        out["pseudonymized"] = False
        return out
    for key in list(out):
        if key in IDENTITY_KEYS or key in LINKABLE_KEYS or key.startswith("patient_"):
            del out[key]
    out["subject_id"] = str(meta.get("subject_id") or "subject")
    out["pseudonymized"] = True
    return out


def _table_path(path_or_stem: str | os.PathLike, fmt: str | None) -> tuple[Path, str]:
    path = Path(path_or_stem)
    suffix = path.suffix.lower()
    known = {s: f for f, s in TABLE_FORMATS.items()}
    if fmt is None:
        fmt = known.get(suffix, "csv")
    if not isinstance(fmt, str):
        raise ValueError(f"table format must be one of {sorted(TABLE_FORMATS)}, got {fmt!r}")
    fmt = fmt.lower().lstrip(".")
    if fmt not in TABLE_FORMATS:
        raise ValueError(
            f"unknown table format {fmt!r}; choose one of {', '.join(sorted(TABLE_FORMATS))}"
        )
    if suffix in known:
        if known[suffix] != fmt:
            raise ValueError(f"{path.name} ends in {suffix} but the format asked is {fmt!r}")
        return path, fmt
    return path.with_name(path.name + TABLE_FORMATS[fmt]), fmt


def write_table(
    df: pd.DataFrame, path_or_stem: str | os.PathLike, fmt: str | None = None
) -> Path:
    """Write a table as CSV, Excel or Parquet.

    The file is written beside its target and moved into place when complete,
    so a failed export never leaves a half-written table.

    Args:
        df: the table; its index is not written (tables here are flat).
        path_or_stem: target path with a ``.csv``/``.xlsx``/``.parquet`` suffix,
            or a stem to which the suffix of ``fmt`` is appended.
        fmt: ``"csv"`` (default when the path has no table suffix), ``"xlsx"`` or
            ``"parquet"``; case and a leading dot are ignored.

    Returns:
        The path written.

    Raises:
        ValueError: unknown format, a suffix that contradicts ``fmt``, or a table
            too long for Excel.
        TypeError: ``df`` is not a DataFrame.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(df).__name__}")
    path, fmt = _table_path(path_or_stem, fmt)
    if fmt == "xlsx" and len(df) >= _EXCEL_MAX_ROWS:
        raise ValueError(
            f"table has {len(df)} rows, more than Excel allows ({_EXCEL_MAX_ROWS - 1}); "
            "use csv or parquet"
        )
    with replaced_atomically(path) as tmp:
        if fmt == "csv":
            df.to_csv(tmp, index=False)
        elif fmt == "xlsx":
            df.to_excel(tmp, index=False, engine="openpyxl")
        else:
            table = df.copy()
            table.columns = [str(c) for c in table.columns]
            table.to_parquet(tmp, index=False, engine="pyarrow")
    return path
