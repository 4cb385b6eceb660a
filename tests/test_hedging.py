"""Progressive hedging with mpi-sppy over MPI (optimizer/studies/hedging.py): two ranks on
127.0.0.1 against the extensive form, on tiny's hand-solved case (tests/test_robust.py).

Tolerance (docs/robust.md): the consensus plan lifts, in expectation over the scenarios, the
extensive form's optimum within 1e-6 relative, and every funding line's plan total (donor,
recipient, instrument, summed over the years) is the extensive form's within 1e-4 million yuan.
The split of a line over the years is not compared: progressive hedging has no steady stage, and
every split that keeps the yearly rules is equally optimal.

Skipped where no MPI or mpi-sppy is installed, unless EWPPT_REQUIRE_MPI is set (CI sets it:
.ci/run installs Debian's Open MPI).
"""

from __future__ import annotations

import importlib.util
import os
import shutil

import numpy as np
import pytest

from optimizer import load_instance, robust
from tests.conftest import INSTANCES
from tests.helpers import plan_totals

HAVE_MPI = shutil.which("mpiexec") is not None and all(importlib.util.find_spec(m) for m in ("mpi4py", "mpisppy"))
if not HAVE_MPI and os.environ.get("EWPPT_REQUIRE_MPI"):
    raise RuntimeError("EWPPT_REQUIRE_MPI is set but mpiexec, mpi4py or mpi-sppy is missing")
pytestmark = pytest.mark.skipif(not HAVE_MPI, reason="no MPI (Debian's openmpi-bin) or mpi4py/mpi-sppy")

UNCERTAINTY = """
[uncertainty]
design = "scenarios"
probabilities = [0.3, 0.3, 0.4]

[[parameter]]
path = "effects.upland.cdf.people_per_million"
values = [1.0, 0.5, 0.2]

[[parameter]]
path = "recipients.upland.investment_demand"
values = [1.0, 0.8, 1.0]
"""


def test_progressive_hedging_on_two_ranks_matches_the_extensive_form(tmp_path):
    from optimizer.solving.evaluate import people_lifted
    from optimizer.studies.hedging import hedge
    from optimizer.studies.uncertainty import load_uncertainty, scenario_set

    path = tmp_path / "UNCERTAINTY.toml"
    path.write_text(UNCERTAINTY, encoding="utf-8")
    tiny = load_instance(INSTANCES / "tiny")
    extensive = robust(tiny, path, risk="expected", worth=False)
    hedged = hedge(INSTANCES / "tiny", path, ranks=2)
    assert hedged.status == "converged", hedged.message
    assert hedged.ranks == 2
    scenarios = scenario_set(load_uncertainty(path), tiny)
    expected = sum(p * people_lifted(scenarios.instance(s), hedged.allocation).sum()
                   for s, p in enumerate(scenarios.probabilities))
    assert expected == pytest.approx(extensive.objective, rel=1e-6)
    ef, ph = plan_totals(extensive.allocation), plan_totals(hedged.allocation)
    assert set(ef) == {k for k, v in ph.items() if v > 1e-4}
    assert np.allclose([ph.get(k, 0.0) for k in ef], list(ef.values()), rtol=0, atol=1e-4)


def test_hedging_refuses_a_mip():
    from optimizer.data.errors import InvalidInstance
    from optimizer.studies.hedging import hedge

    with pytest.raises(InvalidInstance, match="LPs only"):
        hedge(INSTANCES / "ewppt-2010", INSTANCES.parent / "studies" / "uncertainty-effects.toml")
