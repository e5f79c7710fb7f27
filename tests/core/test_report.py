"""core.export.report: the one-page HTML report of an analysis."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image

from core.export.report import crop_box, key_frames, report_html, svg_chart, write_report
from core.pipeline import run_analyze
from core.reference import with_pcl
from core.series import CineSeries


@pytest.fixture(scope="module")
def result():
    """A disc (1 mm pixels) falling 4 mm per frame, the PCL at y = 45 mm, the bladder base
    marked; a patient identity in the series."""
    h, w, n = 96, 80, 5
    rows, cols = np.mgrid[0:h, 0:w].astype(float)
    frames = np.zeros((n, h, w), np.float32)
    labels = np.zeros((n, h, w), np.uint8)
    for t in range(n):
        inside = (cols - 40) ** 2 + (rows - (30 + 4 * t)) ** 2 <= 100
        frames[t] = 100.0 * inside + 10
        labels[t] = inside
    series = CineSeries(frames, (1.0, 1.0), np.arange(n) * 0.5,
                        {"subject_id": "subj-1234", "patient_id": "PID-99",
                         "patient_name": "DOE^JANE", "series_description": "falling disc"})
    res = run_analyze(series, labels=labels, organs=("bladder",), n_points=32,
                      landmarks=with_pcl({}, n, (10, 45), (75, 45)))
    res.set_reference_points({"bladder": int(np.argmax(res.tracks.points["bladder"][0][:, 1]))})
    res.settings["flagged_frames"] = {"bladder": [2]}
    return res


def _images(text):
    return [Image.open(io.BytesIO(base64.b64decode(b)))
            for b in re.findall(r"base64,([A-Za-z0-9+/=]+)", text)]


def test_the_report_shows_key_frames_summary_grades_and_curves(result):
    text = report_html(result)
    words = re.sub(r"base64,[A-Za-z0-9+/=]+", "", text)   # the images' bytes are no words
    assert "PelviTrack report: subj-1234" in words and "(pseudonym)" in words
    assert "PID-99" not in words and "DOE" not in words
    assert key_frames(result) == [(0, "rest"), (4, "largest descent (bladder, 16.0 mm)")]
    images = _images(text)
    assert len(images) == 2 and all(im.format == "PNG" for im in images)
    # summary: the bladder base 5 mm above the line at rest, 11 mm below at most: mild
    row = re.search(r"<tr><td>reference point below PCL, max \(mm\)</td><td>([-\d.]+)</td>",
                    text)
    assert float(row.group(1)) == pytest.approx(11, abs=0.8)
    assert "<tr><td>PCL grade (rule of three)</td><td>mild</td></tr>" in text
    assert "HMO grade" not in text                       # no anorectal junction marked
    assert text.count("<svg") == 4     # descent, reference point below, to pubis, lowest
    assert "frames to check" in text and "bladder 3" in text   # frame numbers from 1
    shown = report_html(result, keep_identity=True)
    assert "PelviTrack report: PID-99" in shown and "(pseudonym)" not in shown


def test_key_frames_are_cropped_around_what_was_measured(result):
    r0, r1, c0, c1 = crop_box(result, margin_mm=5.0)
    pts = np.vstack([result.tracks.points["bladder"].reshape(-1, 2), [[10, 45], [75, 45]]])
    assert c0 <= pts[:, 0].min() - 5 + 1 and c1 >= pts[:, 0].max() + 5 - 1
    assert r0 <= pts[:, 1].min() - 5 + 1 and r1 >= pts[:, 1].max() + 5 - 1
    assert (r0, c0) >= (0, 0) and (r1, c1) <= (96, 80)
    assert crop_box(result, margin_mm=500.0) == (0, 96, 0, 80)


def test_svg_chart_breaks_lines_at_gaps_and_needs_data():
    t = np.arange(6.0)
    svg = svg_chart(t, {"bladder": np.array([0, 1, np.nan, 3, 4, 5.0])}, "descent (mm)",
                    marks=[2.0], zero_line=True)
    assert svg.startswith("<svg") and svg.count("<polyline") == 2
    assert "stroke-dasharray=\"2 3\"" in svg             # the key frame mark
    assert svg_chart(t, {"bladder": np.full(6, np.nan)}, "x") == ""


def test_write_report_replaces_the_file_whole(result, tmp_path):
    path = write_report(result, tmp_path / "r" / "report.html")
    assert path.read_text().endswith("</html>")
    assert [p.name for p in path.parent.iterdir()] == ["report.html"]


def test_the_anorectal_junction_adds_the_hmo_lines_and_the_o(monkeypatch):
    """A still rectum disc (its lowest point marked: the anorectal junction) beside a
    bladder disc falling through the H-line."""
    h, w, n = 80, 80, 5
    rows, cols = np.mgrid[0:h, 0:w].astype(float)
    labels = np.zeros((n, h, w), np.uint8)
    for t in range(n):
        labels[t][(cols - 25) ** 2 + (rows - (12 + 4 * t)) ** 2 <= 64] = 1
        labels[t][(cols - 60) ** 2 + (rows - 55) ** 2 <= 64] = 2
    series = CineSeries(10 + 50.0 * labels.astype(np.float32), (1.0, 1.0), np.arange(n) * 0.5,
                        {"subject_id": "two"})
    res = run_analyze(series, labels=labels, organs=("bladder", "rectum"), n_points=48,
                      landmarks=with_pcl({}, n, (5, 20), (75, 20)))
    bare = report_html(res)
    res.set_reference_points({"rectum": int(np.argmax(res.tracks.points["rectum"][0][:, 1]))})
    text = report_html(res)
    assert "HMO grade (H-line, M-line; O)" in text and "O beyond the H-line" in text
    assert "below the H-line (mm)</figcaption>" in text
    assert text.count("<svg") == bare.count("<svg") + 3   # ref. point below, to pubis, H-line
    # the key frames gain the two lines in the PCL's colour: more of it than the
    # junction's mark alone (drawn when no organ ends the H-line)
    def yellow(page):
        return [int((np.abs(np.asarray(im.convert("RGB"), int) - (245, 217, 10)).sum(-1)
                     < 60).sum()) for im in _images(page)]

    import core.reference

    monkeypatch.setattr(core.reference, "HIATUS_ORGAN", "no organ")
    star_only = yellow(report_html(res))
    assert all(a > b + 40 for a, b in zip(yellow(text), star_only, strict=True))


def test_the_anal_canal_line_adds_the_rectocele():
    from core.rectocele import with_anal_line

    h, w, n = 96, 96, 4
    rows, cols = np.mgrid[0:h, 0:w].astype(float)
    labels = np.zeros((n, h, w), np.uint8)
    for t in range(n):
        canal = (cols >= 40) & (cols <= 49) & (rows >= 55) & (rows <= 85)
        labels[t][canal | ((cols - (45 - 4 * t)) ** 2 + (rows - 48) ** 2 <= 144)] = 1
    series = CineSeries(10 + 50.0 * labels.astype(np.float32), (1.0, 1.0), np.arange(n) * 0.5,
                        {"subject_id": "rc"})
    res = run_analyze(series, labels=labels, organs=("rectum",), n_points=64,
                      landmarks=with_anal_line({}, n, (40, 85), (40, 62)))
    text = report_html(res)
    # the ampulla's front reaches 7 + 4 × 3 = 19 mm in front of the line: small
    row = re.search(r"<tr><td>rectocele depth, max \(mm\)</td><td>([-\d.]+)</td>", text)
    assert float(row.group(1)) == pytest.approx(19, abs=0.8)
    assert "<tr><td>rectocele</td><td>small</td></tr>" in text
    assert "rectocele depth (mm)</figcaption>" in text


def test_the_anal_canal_line_adds_the_anorectal_angle(monkeypatch):
    from shapes_factory import tube_analysis

    res = tube_analysis((100.0, 125.0, 150.0))
    text = report_html(res)
    for label, value in (("rest", 100), ("min", 100), ("max", 150)):
        row = re.search(rf"<tr><td>anorectal angle, {label} \(°\)</td><td>([-\d.]+)</td>", text)
        assert float(row.group(1)) == pytest.approx(value, abs=2)
    assert "anorectal angle (°)</figcaption>" in text
    # the arms are drawn on the key frames: more of the line colour than without them

    monkeypatch.setattr("core.anorectal.frame_arms", lambda *_args: None)
    plain, drawn = _images(report_html(res)), _images(text)

    def yellow(im):
        a = np.asarray(im.convert("RGB")).astype(int)
        return int(((a[..., 0] > 200) & (a[..., 1] > 180) & (a[..., 2] < 90)).sum())

    assert len(drawn) >= 1
    assert all(yellow(a) > yellow(b) + 40 for a, b in zip(drawn, plain, strict=True))


def test_the_report_grades_the_hmo_lines_to_the_junction_found():
    from shapes_factory import tube_analysis

    res = tube_analysis((100.0, 110.0), pcl=((60.0, 100.0), (160.0, 95.0)))
    text = report_html(res)
    assert "<td>H normal, M mild</td>" in text
    assert "reference point to the pubis (mm; the anorectal junction&#x27;s is the H-line)" in text
    assert "The anorectal junction was not marked" in text
    res.set_reference_points({"rectum": 3})
    assert "The anorectal junction was not marked" not in report_html(res)


def test_measurements_by_hand_are_listed_and_drawn_on_their_frame():
    from shapes_factory import tube_analysis

    from core.measurements import MEASURE_RGB, with_measurement

    res = tube_analysis((100.0, 110.0, 120.0, 125.0))
    before = [t for t, _ in key_frames(res)]
    free = next(t for t in range(4) if t not in before)
    marks, _ = with_measurement(res.landmarks, 4, free, "distance", [(90.0, 100.0), (90.0, 130.0)])
    marks, _ = with_measurement(marks, 4, free, "angle", [(60.0, 100.0), (60.0, 130.0),
                                                          (80.0, 130.0)])
    res.set_landmarks(marks)
    assert key_frames(res)[-1] == (free, "measured by hand")
    text = report_html(res)
    assert "<h2>Measured by hand</h2>" in text
    t = f"{0.5 * free:.2f}"
    assert f"<tr><td>1</td><td>distance</td><td>{free + 1}</td><td>{t}</td><td>30.0 mm</td>" in text
    assert f"<tr><td>2</td><td>angle</td><td>{free + 1}</td><td>{t}</td><td>90°</td>" in text
    img = np.asarray(_images(text)[len(before)].convert("RGB")).astype(int)
    green = (np.abs(img - np.array(MEASURE_RGB)).sum(axis=2) < 40).sum()
    assert green > 40                                # the ruler and the arms on their frame
