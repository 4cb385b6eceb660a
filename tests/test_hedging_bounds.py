"""Progressive hedging's outer bounds, every one of them (optimizer/studies/outer_bound.py): the
spoke keeps each Lagrangian bound it computes (the first at prices 0, then one at each of the
hub's prices it read), and each must be at least the extensive form's optimum; the certified
bound is the least of them, and the plan is within the gap of it (two MPI ranks on 127.0.0.1;
tiny's three hand-made scenarios of tests/test_hedging.py at gap 1e-4, and 8 generated counties
with three drawn scenarios at 1e-3, tests/test_direct.py's cases as LPs; at the default rho and
at rho 1).

Tolerance: each bound is a sum of LP optima solved by HiGHS to its default tolerances (1e-7),
compared with the extensive form's optimum to 1e-7 relative. The spoke computes its bounds while
the hub iterates, so how many it computes depends on timing (at least the one at prices 0, which
the spoke computes before it reads any); every assertion holds whatever that number is.

The MPI test is skipped where no MPI or mpi-sppy is installed, unless EWPPT_REQUIRE_MPI is set.
"""

from __future__ import annotations

import pytest

from optimizer import load_instance, robust
from tests.test_direct import case  # noqa: F401  (tiny with its 3 scenarios, 8 generated counties with 3 drawn)
from tests.test_hedging import HAVE_MPI



@pytest.mark.skipif(not HAVE_MPI, reason="no MPI (Debian's openmpi-bin) or mpi4py/mpi-sppy")
@pytest.mark.parametrize("rho", [None, 1.0])  # the default, and the default before 2026-12-07
def test_every_spoke_bound_is_above_the_extensive_form_optimum(case, rho):
    from optimizer.studies.hedging import DEFAULT_RHO, hedge

    instance_path, uncertainty_path = case
    optimum = robust(load_instance(instance_path), uncertainty_path, risk="expected", worth=False).objective
    gap = 1e-4 if "tiny" in str(instance_path) else 1e-3
    hedged = hedge(instance_path, uncertainty_path, ranks=2, gap=gap, rho=DEFAULT_RHO if rho is None else rho)
    assert hedged.status == "optimal", hedged.message
    (bounds,) = hedged.spoke_bounds  # one spoke rank
    # prices 0 always; the hub's prices as many times as the spoke read them before the hub's
    # gap closed, which may be none (CI, 2026-12-07: 8 counties at rho 1 certified by the first)
    assert len(bounds) >= 1
    for bound in bounds:
        assert bound is not None and bound >= optimum * (1 - 1e-7), (bound, optimum)
    # the certified bound is the least the spoke computed; the plan is within the gap of it
    assert hedged.bound == pytest.approx(min(bounds), rel=1e-9)
    assert hedged.expected >= (1 - gap) * hedged.bound
    assert hedged.expected <= optimum * (1 + 1e-9)


def test_the_command_and_the_library_share_the_default_rho():
    import inspect

    from optimizer.cli import hedge as command
    from optimizer.studies.hedging import DEFAULT_RHO, hedge, run_ranks

    assert inspect.signature(command).parameters["rho"].default == DEFAULT_RHO
    assert inspect.signature(hedge).parameters["rho"].default == DEFAULT_RHO
    assert inspect.signature(run_ranks).parameters["rho"].default == DEFAULT_RHO
