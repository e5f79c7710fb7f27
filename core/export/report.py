"""A one-file report of an analysis for the reading radiologist: ``report.html``.

Self-contained HTML (images embedded, charts as inline SVG, no scripts): the
series and how it was analysed, the rest frame and the frame of largest descent
with the tracked contours, the pubococcygeal line and the reference points
drawn, each organ's summary (:func:`core.indices.summary_table`) with the rule
of three and HMO grades where measured, and the descent (and distance below
the PCL) of each organ over time.  Pseudonymous unless ``keep_identity``.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from core.atomic import replaced_atomically
from core.export.overlay import display_window, render_overlay_frame
from core.measurements import MEASURE_RGB, measurements, on_frame
from core.organs import organ_colour

#: Colour of the pubococcygeal line and the reference points (as the app draws them).
PCL_RGB = (245, 217, 10)
#: Radius (mm) of the disc that marks a reference point.
MARK_MM = 2.0
#: Key frames show the organs and the line with this much around them (mm).
CROP_MARGIN_MM = 30.0
#: Widest a key frame is shown (CSS px; two sit side by side).
SHOW_PX = 500

_CSS = """
body { font-family: sans-serif; margin: 24px; color: #1d2128; max-width: 1100px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; }
table { border-collapse: collapse; font-size: 13px; }
td, th { border: 1px solid #c9ced6; padding: 3px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.meta td { text-align: left; } .note { color: #5b6270; font-size: 12px; }
figure { display: inline-block; margin: 0 16px 8px 0; }
figcaption { font-size: 13px; color: #3b4250; }
.warn { color: #9a5b00; }
"""


def _png(rgb: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG", compress_level=6)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _disc(centre: np.ndarray, radius: float, n: int = 16) -> np.ndarray:
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([centre[0] + radius * np.cos(a), centre[1] + radius * np.sin(a)], axis=1)


def key_frames(result: Any) -> list[tuple[int, str]]:
    """(frame, caption): the rest frame, the frame of the largest descent (of the
    bladder when it is measured, else of any organ) and each other frame a distance
    or angle was measured on by hand (:mod:`core.measurements`)."""
    settings = result.settings or {}
    rest = int(settings.get("rest_frame", 0))
    out = [(rest, "rest")]
    frames = result.frames
    if frames is not None and len(frames) and frames["descent_mm"].notna().any():
        sub = frames[frames["organ"] == "bladder"]
        if not sub["descent_mm"].notna().any():
            sub = frames
        row = sub.loc[sub["descent_mm"].idxmax()]
        t = int(row["frame"])
        if t != rest:
            out.append((t, f"largest descent ({row['organ'].replace('_', ' ')}, "
                           f"{row['descent_mm']:.1f} mm)"))
    shown = {t for t, _ in out}
    for m in measurements(getattr(result, "landmarks", None)):
        if m.frame not in shown:
            shown.add(m.frame)
            out.append((m.frame, "measured by hand"))
    return out


def crop_box(result: Any, margin_mm: float = CROP_MARGIN_MM) -> tuple[int, int, int, int]:
    """(row0, row1, col0, col1): the pixels around every tracked point and landmark of
    the series (all frames) with ``margin_mm`` to spare; the whole frame without any."""
    series = result.series
    h, w = series.shape
    sr, sc = series.spacing_mm
    pts = [np.asarray(p, float).reshape(-1, 2) for p in
           (getattr(result.tracks, "points", None) or {}).values()]
    for line in _user_lines(result).values():
        pts.append(line.reshape(-1, 2))
    for m in measurements(getattr(result, "landmarks", None)):
        pts.append(np.array(m.points))
    pts = [p[np.isfinite(p).all(axis=1)] for p in pts]
    pts = [p for p in pts if len(p)]
    if not pts:
        return 0, h, 0, w
    allp = np.vstack(pts)
    (x0, y0), (x1, y1) = allp.min(axis=0) - margin_mm, allp.max(axis=0) + margin_mm
    return (max(0, int(np.floor(y0 / sr))), min(h, int(np.ceil(y1 / sr)) + 1),
            max(0, int(np.floor(x0 / sc))), min(w, int(np.ceil(x1 / sc)) + 1))


def _user_lines(result: Any) -> dict[str, np.ndarray]:
    """The lines the user placed, per frame: name -> (T, 2, 2) xy mm."""
    from core.rectocele import anal_lines
    from core.reference import pcl_lines

    marks, n = getattr(result, "landmarks", None), result.series.n_frames
    found = {"PCL": pcl_lines(marks, n), "anal canal": anal_lines(marks, n)}
    return {k: v for k, v in found.items() if v is not None}


def render_key_frame(result: Any, frame: int, window: tuple[float, float],
                     box: tuple[int, int, int, int] | None = None,
                     refs: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """One frame (within ``box``, see :func:`crop_box`) with its contours, the PCL
    and the reference points drawn (RGB); ``refs``: the result's reference tracks when
    the caller has them (the junction found on every frame is traced once)."""
    from core.anorectal import frame_arms
    from core.rectocele import extended
    from core.reference import HIATUS_ORGAN, m_line

    series = result.series
    tracks = result.tracks
    r0, r1, c0, c1 = box if box is not None else (0, series.shape[0], 0, series.shape[1])
    shift = np.array([c0 * series.spacing_mm[1], r0 * series.spacing_mm[0]])
    contours: dict[str, np.ndarray | None] = {}
    for organ in result.organs:
        pts = tracks.points.get(organ) if tracks is not None else None
        if pts is None:
            continue
        ok = tracks.valid[organ][frame]
        contours[organ] = pts[frame] if ok.all() else None
    colours: dict[str, tuple[int, int, int]] = {
        o: organ_colour(o, i) for i, o in enumerate(result.organs)}
    placed = _user_lines(result)
    for name, line in placed.items():
        contours[name] = line[frame] if name == "PCL" else extended(line[frame])
        colours[name] = PCL_RGB
    lines = placed.get("PCL")
    if refs is None:
        refs = result.reference_tracks() if hasattr(result, "reference_tracks") else {}
    for organ, path in refs.items():
        if np.isfinite(path[frame]).all():
            contours[f"ref:{organ}"] = _disc(path[frame], MARK_MM)
            colours[f"ref:{organ}"] = PCL_RGB
    anal = placed.get("anal canal")
    arms = frame_arms(getattr(result, "labels", None), result.organs, series.spacing_mm,
                      frame, None if anal is None else anal[frame])
    if arms is not None:            # open: drawn out and back (contours are closed)
        contours["anorectal angle"] = np.vstack([arms, arms[1:2]])
        colours["anorectal angle"] = PCL_RGB
    arj = refs.get(HIATUS_ORGAN)
    if lines is not None and arj is not None and np.isfinite(arj[frame]).all():
        contours["H"] = np.stack([lines[frame][0], arj[frame]])
        contours["M"] = m_line(lines[frame], arj[frame])
        colours["H"] = colours["M"] = PCL_RGB
    for m in on_frame(getattr(result, "landmarks", None), frame):
        drawn = np.array(m.points)                          # open: out and back
        contours[f"{m.kind} {m.key}"] = np.vstack([drawn, drawn[-2::-1]])
        colours[f"{m.kind} {m.key}"] = MEASURE_RGB
    contours = {k: None if v is None else np.asarray(v, float) - shift
                for k, v in contours.items()}
    return render_overlay_frame(series.frames[frame][r0:r1, c0:c1], contours,
                                series.spacing_mm, window=window, colours=colours,
                                text=f"frame {frame + 1} · t = {series.times_s[frame]:.2f} s")


def svg_chart(times: np.ndarray, curves: dict[str, np.ndarray], label: str,
              marks: list[float] = (), width: int = 520, height: int = 220,
              zero_line: bool = False) -> str:
    """An inline SVG line chart: one polyline per organ (its colour), y label, time axis."""
    left, right, top, bottom = 52, 12, 14, 34
    vals = [v[np.isfinite(v)] for v in curves.values()]
    vals = [v for v in vals if v.size]
    if not vals or len(times) < 2:
        return ""
    lo = min(float(v.min()) for v in vals)
    hi = max(float(v.max()) for v in vals)
    if zero_line:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    pad = 0.08 * (hi - lo) if hi > lo else 1.0
    lo, hi = lo - pad, hi + pad
    t0, t1 = float(times[0]), float(times[-1])

    def x(t: float) -> float:
        return left + (t - t0) / (t1 - t0) * (width - left - right)

    def y(v: float) -> float:
        return top + (hi - v) / (hi - lo) * (height - top - bottom)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img" aria-label="{html.escape(label)}">',
             f'<rect x="{left}" y="{top}" width="{width - left - right}" '
             f'height="{height - top - bottom}" fill="none" stroke="#c9ced6"/>']
    for v in np.linspace(lo + pad, hi - pad, 4):
        parts.append(f'<text x="{left - 4}" y="{y(v) + 4:.1f}" font-size="10" '
                     f'text-anchor="end">{v:.1f}</text>')
    for t in np.linspace(t0, t1, 5):
        parts.append(f'<text x="{x(t):.1f}" y="{height - bottom + 14}" font-size="10" '
                     f'text-anchor="middle">{t:.0f}</text>')
    parts.append(f'<text x="{(left + width - right) / 2:.0f}" y="{height - 4}" font-size="11" '
                 'text-anchor="middle">time (s)</text>')
    mid = (top + height - bottom) / 2
    parts.append(f'<text x="12" y="{mid:.0f}" font-size="11" text-anchor="middle" '
                 f'transform="rotate(-90 12 {mid:.0f})">{html.escape(label)}</text>')
    if zero_line and lo < 0 < hi:
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(0):.1f}" y2="{y(0):.1f}" '
                     'stroke="#b8860b" stroke-dasharray="5 3"/>')
    for t in marks:
        parts.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top}" y2="{height - bottom}" '
                     'stroke="#8a91a0" stroke-dasharray="2 3"/>')
    for i, (organ, v) in enumerate(curves.items()):
        r, g, b = organ_colour(organ, i)
        segs, cur = [], []
        for t, value in zip(times, v, strict=True):
            if np.isfinite(value):
                cur.append(f"{x(float(t)):.1f},{y(float(value)):.1f}")
            elif cur:
                segs.append(cur)
                cur = []
        if cur:
            segs.append(cur)
        for seg in segs:
            parts.append(f'<polyline fill="none" stroke="rgb({r},{g},{b})" stroke-width="2" '
                         f'points="{" ".join(seg)}"/>')
    parts.append("</svg>")
    return "".join(parts)


def _cell(v: Any, nd: int) -> str:
    if isinstance(v, str):
        return html.escape(v) if v else "–"
    return "–" if v is None or not np.isfinite(v) else f"{round(float(v), nd) + 0.0:.{nd}f}"


def report_html(result: Any, *, keep_identity: bool = False) -> str:
    """The report of one analysis as an HTML document."""
    from core import __version__
    from core.indices import SUMMARY_LABELS, SUMMARY_TEXT_LABELS, summary_table
    from core.pipeline import identity_tables

    series = result.series
    _points, frames = identity_tables(result, keep_identity)
    settings = result.settings or {}
    rest = int(settings.get("rest_frame", 0))
    summary = summary_table(frames, rest) if len(frames) else pd.DataFrame()
    subject = str(frames["subject"].iloc[0]) if len(frames) else series.subject
    meta = series.meta or {}
    dt = float(np.median(np.diff(series.times_s))) if series.n_frames > 1 else float("nan")
    manual = list(getattr(result, "manual_frames", []) or [])
    flagged = settings.get("flagged_frames") or {}
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    rows = [
        ("Subject", subject + ("" if keep_identity else " (pseudonym)")),
        ("Series", str(meta.get("series_description") or "–")),
        ("Frames", f"{series.n_frames} × {series.shape[0]} × {series.shape[1]} px, "
                   f"{series.spacing_mm[0]:.2f} × {series.spacing_mm[1]:.2f} mm, "
                   f"{dt:.2f} s per frame"),
        ("Segmentation", f"model {result.model_id}"
                         + (f"; {len(manual)} frame(s) corrected by hand" if manual else "")),
        ("Rest frame", f"{rest + 1} (t = {series.times_s[rest]:.2f} s)"),
        ("Analysed", f"PelviTrack {__version__}, report written {now}"),
    ]
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>PelviTrack report: {html.escape(subject)}</title>",
           f"<style>{_CSS}</style></head><body>",
           f"<h1>PelviTrack report: {html.escape(subject)}</h1>",
           '<table class="meta">']
    out += [f"<tr><td><b>{k}</b></td><td>{html.escape(v)}</td></tr>" for k, v in rows]
    out.append("</table>")

    window = display_window(series.frames)
    keys = key_frames(result)
    box = crop_box(result)
    out.append("<h2>Key frames</h2>")
    refs = result.reference_tracks() if hasattr(result, "reference_tracks") else {}
    for t, caption in keys:
        img = render_key_frame(result, t, window, box, refs)
        f = min(1.0, SHOW_PX / img.shape[1])
        out.append(f'<figure><img alt="frame {t + 1}" width="{round(img.shape[1] * f)}" '
                   f'height="{round(img.shape[0] * f)}" src="data:image/png;base64,{_png(img)}">'
                   f"<figcaption>{html.escape(caption)}</figcaption></figure>")

    if len(summary):
        organs = list(summary["organ"])
        out.append("<h2>Summary</h2><table><tr><th></th>"
                   + "".join(f"<th>{html.escape(o.replace('_', ' '))}</th>" for o in organs)
                   + "</tr>")
        for col, label, nd in SUMMARY_LABELS:
            cells = "".join(f"<td>{_cell(v, nd)}</td>" for v in summary[col])
            out.append(f"<tr><td>{html.escape(label)}</td>{cells}</tr>")
        for col, label in SUMMARY_TEXT_LABELS:
            if summary[col].astype(bool).any():
                cells = "".join(f"<td>{_cell(str(v), 0)}</td>" for v in summary[col])
                out.append(f"<tr><td>{html.escape(label)}</td>{cells}</tr>")
        out.append("</table>")
        out.append('<p class="note">Descent: the lowest point against the rest frame, '
                   "positive towards the feet. Below the PCL: perpendicular to the "
                   "pubococcygeal line, positive below it; the rule of three grades the "
                   "reference point (the bladder base, cervix or anorectal junction marked "
                   "in the app), else the bladder's lowest point; HMO: H-line (pubis to "
                   "anorectal junction) and M-line (the junction below the line); O: how "
                   "far each other organ's graded point went below the H-line; rectocele: the "
                   "rectal wall in front of the anal canal's line (small < 2 cm, moderate "
                   "2–4, large); anorectal angle: between the anal canal's axis and the "
                   "distal rectum's posterior wall."
                   + (" The anorectal junction was not marked: it is the corner where the "
                      "anal canal's posterior wall turns into the rectum's, found on each "
                      "frame." if getattr(result, "junction_found", False) else "")
                   + "</p>")

        measured = measurements(getattr(result, "landmarks", None))
        if measured:
            out.append("<h2>Measured by hand</h2><table><tr><th>number</th><th>what</th>"
                       "<th>frame</th><th>t (s)</th><th>value</th></tr>")
            out += [f"<tr><td>{m.key}</td><td>{m.kind}</td><td>{m.frame + 1}</td>"
                    f"<td>{series.times_s[m.frame]:.2f}</td><td>{html.escape(m.text)}</td>"
                    "</tr>" for m in measured]
            out.append("</table>")

        times = series.times_s - series.times_s[0]
        marks = [float(times[t]) for t, _ in keys]
        charts = [("descent_mm", "descent (mm)", False)]
        for col, label, zero in (
                ("ref_below_pcl_mm", "reference point below the PCL (mm)", True),
                ("ref_to_pubis_mm", "reference point to the pubis (mm; the anorectal "
                                    "junction's is the H-line)", False),
                ("below_pcl_mm", "lowest point below the PCL (mm)", True),
                ("below_h_line_mm", "below the H-line (mm)", True),
                ("rectocele_depth_mm", "rectocele depth (mm)", True),
                ("anorectal_angle_deg", "anorectal angle (°)", False)):
            if col in frames and frames[col].notna().any():
                charts.append((col, label, zero))
        out.append("<h2>Over time</h2>")
        for col, label, zero in charts:
            curves = {o: frames.loc[frames["organ"] == o].sort_values("frame")[col]
                      .to_numpy(float) for o in organs}
            svg = svg_chart(times, curves, label, marks, zero_line=zero)
            if svg:
                out.append(f"<figure>{svg}<figcaption>{html.escape(label)}"
                           "</figcaption></figure>")
        legend = " ".join(
            f'<span style="color:rgb{organ_colour(o, i)}">■ {html.escape(o.replace("_", " "))}'
            "</span>" for i, o in enumerate(organs))
        out.append(f'<p class="note">{legend} · dotted: the key frames · dashed: the PCL</p>')

    notes = list(getattr(result.tracks, "warnings", []) or [])
    if flagged:
        notes.append("frames to check (segmentation disagrees with the image motion): "
                     + "; ".join(f"{o.replace('_', ' ')} {', '.join(str(t + 1) for t in ts)}"
                                 for o, ts in flagged.items()))
    if notes:
        out.append("<h2>Warnings</h2><ul>"
                   + "".join(f'<li class="warn">{html.escape(n)}</li>' for n in notes)
                   + "</ul>")
    out.append('<p class="note">Measured by automatic segmentation and point tracking; '
               "check the contours against the images before relying on a number. "
               "For research use.</p></body></html>")
    return "\n".join(out)


def write_report(result: Any, path: str | os.PathLike, *, keep_identity: bool = False) -> Path:
    """Write :func:`report_html` to ``path`` (atomically)."""
    p = Path(path)
    text = report_html(result, keep_identity=keep_identity)
    with replaced_atomically(p) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    return p
