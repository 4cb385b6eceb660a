"""Which guesses matter (optimizer/analysis/influence.py) on tiny, whose plan instances/tiny/README.md
derives by hand: coastal's margin is upland cdf segment 2 (40 people per million, 8 of its 10
used), harbour's is valley roads (50, 12 of 20 used), plateau is at its poor-population cap
(600) with cdf 4 (120 a million) and roads 2 (60 a million), paid by coastal; the `people` row
of plateau is worth 2/3 (a person there costs coastal 1/60 million at 40) and its cap 1/3.

The moves of a 10% error in each family (people lifted, base 2,760):

- harbour's revenue: budget 20 -> 22 or 18 over the plan, at its margin 50: +-100 (valley roads
  has 8 spare at +10%).
- upland cdf curve: segments used 6 at 100 and 8 at 40, so +-(600 + 320)/10 = +-92; at 44 or 36
  coastal's margin stays below harbour's 50 and above loan guarantees' 30: the plan holds.
- coastal's revenue: +-2 million at 40: +-80 (+2 exactly fills upland cdf segment 2).
- valley cdf: 8 at 80: +-64. valley roads: 12 at 50: +-60.
- plateau cdf: 4 at 120 = 480 people; at 132 (108) plateau's roads need 1.2 (2.8) million to
  reach the cap, coastal saves (spends) 0.8 at 40: +-32 (= 2/3 x 48, the first-order figure).
- plateau's poor population: 600 -> 660 needs 1 more million of coastal's roads (60 people
  for 40): +20; 540: -20 (= 1/3 x 60).
- plateau roads: coastal pays 120/r million for plateau's last 120 people, so the move is
  40 x 120 x (1/60 - 1/r): +7.27 at r = 66 and -8.89 at r = 54, not the first-order +-8
  (2/3 x 12): the roads column is basic and its coefficient moves the basis matrix.
- every other family (loan guarantees' effect, the quotas, upland's and valley's poor, the
  investment coupling, which binds nowhere) 0.

At a 30% error the basis changes inside the range (test_basis_change_within_range).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from optimizer import influence, load_instance

APPROX = dict(rel=1e-9, abs=1e-6)
ORDER = [("revenue", "harbour"), ("effects", "upland|cdf"), ("revenue", "coastal"), ("effects", "valley|cdf"),
         ("effects", "valley|roads"), ("effects", "plateau|cdf"), ("poor", "plateau"), ("effects", "plateau|roads")]


def _moves(result, n):
    table = result.table.head(n)
    return [(r.family, r.key, r.move_down, r.move_up, r.estimate_up, r.resolved) for r in table.itertuples()]


def test_tiny_order_and_moves(tiny):
    result = influence(tiny, share=0.1, top=10)
    assert result.base == pytest.approx(2760, **APPROX)
    assert [(r.family, r.key) for r in result.table.head(8).itertuples()] == ORDER
    expected = {("revenue", "harbour"): (-100, 100, 100), ("effects", "upland|cdf"): (-92, 92, 92),
                ("revenue", "coastal"): (-80, 80, 80), ("effects", "valley|cdf"): (-64, 64, 64),
                ("effects", "valley|roads"): (-60, 60, 60), ("effects", "plateau|cdf"): (-32, 32, 32),
                ("poor", "plateau"): (-20, 20, 20),
                ("effects", "plateau|roads"): (-40 * 120 * (1 / 54 - 1 / 60), 40 * 120 * (1 / 60 - 1 / 66), 8)}
    for family, key, down, up, estimate, resolved in _moves(result, 8):
        assert resolved
        assert (down, up, estimate) == pytest.approx(expected[(family, key)], **APPROX), (family, key)
    rest = result.table.iloc[8:]
    # 7 effect, poor and quota families, 3 investment demands, 3 unlocks, 3 leverages
    assert len(rest) == 16 and (rest["move"] == 0).all() and not rest["resolved"].any()
    # the re-solve differs from the first-order estimate where the basis matrix moves
    roads = result.table[result.table["key"] == "plateau|roads"].iloc[0]
    assert roads.move == pytest.approx(8 + 8 / 9, **APPROX) and roads.estimate_up == pytest.approx(8, **APPROX)


def test_basis_change_within_range(tiny):
    """30% errors. Upland cdf at +30% (130, 52): coastal's margin 52 beats harbour's 50, so 2 of
    plateau's aid move to harbour, worth 2 x (52 - 50) more than the first-order 0.3 x 920 = 276:
    +280. At -30% (70, 28) segment 2 falls below loan guarantees (30): coastal lends 8 instead,
    upland lifts 420 + 240 = 660 instead of 920: -260. Coastal's revenue at +30% (+6 million):
    2 fill upland cdf segment 2 at 40, 4 go to loan guarantees at 30: +200, not 240; at -30%
    -6 at 40: -240."""
    result = influence(tiny, share=0.3, top=3)
    head = result.table.head(3)
    assert list(zip(head["family"], head["key"])) == [("revenue", "harbour"), ("effects", "upland|cdf"),
                                                      ("revenue", "coastal")]
    assert head[["move_down", "move_up", "estimate_up"]].to_numpy().ravel().tolist() == pytest.approx(
        [-300, 300, 300, -260, 280, 276, -240, 200, 240], **APPROX)
    assert list(result.table["resolved"]) == [True] * 3 + [False] * (len(result.table) - 3)


def test_only_illustrative_figures_move(tiny, tmp_path):
    """With a provenance.csv marking harbour's revenue verified, harbour's revenue is no family,
    coastal's illustrative revenue still is, and the other columns are counted as not ranked."""
    folder = tmp_path / "tiny"
    shutil.copytree(tiny.path, folder)
    rows = ["table,column,key,value,status,source"]
    for donor, level in (("coastal", "provincial"), ("harbour", "prefectural")):
        for year, value in ((2011, 1000 if donor == "coastal" else 500), (2012, 1000 if donor == "coastal" else 500)):
            status = "verified" if donor == "harbour" else "illustrative"
            rows.append(f"revenue,revenue,{donor}|{level}|{year},{value},{status},test")
    for w, k, j, u, e in (("upland", "cdf", 1, 6, 100), ("upland", "cdf", 2, 10, 40), ("valley", "roads", 1, 20, 50)):
        rows.append(f"effects,people_per_million,{w}|{k}|{j},{e},illustrative,test")
        rows.append(f"effects,width,{w}|{k}|{j},{u},illustrative,test")
    (folder / "provenance.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = influence(load_instance(folder), share=0.1, top=10)
    assert list(zip(result.table["family"], result.table["key"])) == [("effects", "upland|cdf"), ("revenue", "coastal"),
                                                                     ("effects", "valley|roads")]
    assert result.table["move"].tolist() == pytest.approx([92, 80, 60], **APPROX)
    assert result.unranked == {"effects.width": 3}


def test_cli_prints_ranked_lines(tmp_path):
    env = {**os.environ, "COLUMNS": "300", "TERMINAL_WIDTH": "300"}
    done = subprocess.run([sys.executable, "-m", "optimizer", "validate", "--influence", "tiny", "--out", str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("which guesses matter"))
    assert "10% lower or higher" in lines[start]
    assert lines[start + 1].strip() == ("1. revenue of Harbour City (every level and year): a 10% error moves people "
                                        "lifted by 100 (-100 at -10%, +100 at +10%; re-solved)")
    assert lines[start + 2].strip().startswith("2. people lifted per million by cdf in Upland Prefecture: a 10% error "
                                               "moves people lifted by 92")
    assert lines[start + 8].strip().startswith("8. people lifted per million by roads in Plateau Region: a 10% error "
                                               "moves people lifted by 9 (-9 at -10%, +7 at +10%; re-solved)")
    assert (Path(tmp_path) / "influence.csv").read_text().splitlines()[0].startswith("rank,family,table,column,key")


def test_report_shows_influence_of_its_own_instance(tiny, tmp_path):
    """`ewppt validate --influence tiny --out RESULT` puts influence.csv beside tiny's plan; the
    report shows it as a section, and says so instead when the plan is of other data."""
    from optimizer import solve, write_report

    folder = tmp_path / "plan"
    solve(tiny).write(folder)
    env = {**os.environ, "COLUMNS": "300"}
    done = subprocess.run([sys.executable, "-m", "optimizer", "validate", "--influence", "tiny", "--top", "2",
                           "--out", str(folder)], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    page = write_report(folder)[0].read_text(encoding="utf-8")
    section = page[page.index('<section id="influence">'):]
    section = section[:section.index("</section>")]
    assert "10% lower and 10% higher" in section
    assert ("<tr><td>1</td><td>revenue of Harbour City (every level and year)</td><td class=\"number\">100</td>"
            "<td class=\"number\">-100</td><td class=\"number\">+100</td><td>re-solved</td></tr>") in section
    assert "<td>3</td><td>revenue of Coastal Province (every level and year)</td><td class=\"number\">80</td>" in section
    assert section.count("re-solved</td>") == 2 and section.count("first-order</td>") == 6

    other = tmp_path / "other"
    solve(tiny, **{"proportion.provincial": 0.02}).write(other)
    shutil.copy(folder / "influence.csv", other / "influence.csv")
    page = write_report(other)[0].read_text(encoding="utf-8")
    assert "computed for other data than this plan" in page and "Harbour City" not in page


def test_no_plan_or_equity_is_said_not_raised_deep(tiny):
    infeasible = tiny.with_scenario(tiny.scenario.override(**{"priorities.quota_growth_min": 0.5}))
    with pytest.raises(RuntimeError, match=r"did not solve to optimal \(infeasible\).*ewppt explain"):
        influence(infeasible)
    with pytest.raises(ValueError, match="equity objective"):
        influence(tiny.with_scenario(tiny.scenario.override(**{"scenario.objective": "equity"})))
    with pytest.raises(ValueError, match="between 0 and 1"):
        influence(tiny, share=1.5)


def test_leveraged_objective(tiny):
    """Objective leveraged_investment (README: 68.16 = 4 x (10 + l1 + l2)): coastal lends 5 a year
    at upland, limited by 4 l <= G = 20, so G_upland moves it by 4 x 2 x 2/4 = +-4 (linear).
    Harbour at valley: l1 = (G + kappa b)/(4 + kappa), l2 = (G + kappa (2b - l1))/(4 + kappa)
    with b = 10 a year, G = 4, kappa = 1. d(l1 + l2)/dG = 1/5 + (1 - 1/5)/5 = 9/25: G_valley
    +-0.4 moves 4 x 0.4 x 9/25 = +-0.576. Harbour's budget +-1 a year: 4 x (1/5 + (2 - 1/5)/5)
    = +-2.24. kappa_valley 1.1: l1 = 15/5.1, l2 = (4 + 1.1 (20 - l1))/5.1, 4 (l1 + l2) - 28.16
    = +1.459377; 0.9: l1 = 13/4.9, -1.537759. kappa multiplies a basic column, so the first-order
    figure differs: dl1/dkappa = 36/25, dl2/dkappa = (5 (17.2 - 36/25) - 21.2)/25 = 2.304, so
    4 x 0.1 x 3.744 = +-1.4976. Leverage is in this objective, so it is not ranked."""
    result = influence(tiny.with_scenario(tiny.scenario.override(**{"scenario.objective": "leveraged_investment"})))
    head = result.table.head(4)
    assert list(zip(head["family"], head["key"])) == [("demand", "upland"), ("revenue", "harbour"),
                                                      ("unlock", "valley"), ("demand", "valley")]
    l1, l1_low = 15 / 5.1, 13 / 4.9
    up = 4 * (10 + l1 + (4 + 1.1 * (20 - l1)) / 5.1) - 68.16
    down = 4 * (10 + l1_low + (4 + 0.9 * (20 - l1_low)) / 4.9) - 68.16
    assert head[["move_down", "move_up"]].to_numpy().ravel().tolist() == pytest.approx(
        [-4, 4, -2.24, 2.24, down, up, -0.576, 0.576], **APPROX)
    assert head["estimate_up"].iloc[2] == pytest.approx(1.4976, **APPROX)
    assert (result.table["move"].iloc[4:] == 0).all()
    assert "leverage" not in set(result.table["family"]) and result.unranked["instruments.leverage"] == 3
