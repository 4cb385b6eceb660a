"""Progressive hedging's outer bound: the Lagrangian spoke, and every bound it computes kept.

The spoke (mpi-sppy's LagrangianOuterBound) solves every scenario with the hub's latest prices
w_s and no proximal term; for a minimisation

    L(w) = sum_s p_s min_x (f_s(x) + w_s . x)  <=  min_x sum_s p_s f_s(x)   whenever sum_s p_s w_s = 0

(for a common x the price terms cancel), so every L(w) is an outer bound. The hub's prices
always average to zero: w_s starts at rho (x_s - xbar) and grows by the same each iteration,
and xbar is the p-weighted mean of the x_s.

`PatientLagrangian` is that spoke, pausing between its looks for the hub's next prices, and
keeping every bound it computed (`bounds`): `run_ranks` gathers them into record.json and
`HedgingResult.spoke_bounds`, so a test can hold every one of them, not only the best, against
the extensive form's optimum (tests/test_hedging_bounds.py).

Tried and not taken (benchmarks/README.md, `bench_hedging.py`, "Fewer and cheaper iterations"):
evaluating L, while the spoke waits, at prices extrapolated from the hub's last two
(w_k + beta (w_k - w_{k-1}), which also average to zero): on ewppt-2010 with 10 scenarios no
extrapolated bound beat the hub's own at any iteration (the same 22 iterations and bound), for
twice the spoke's processor time.
"""

from __future__ import annotations

import time

SPOKE_POLL_SECONDS = 0.005  # the spoke's pause between looks for the hub's next prices


def lagrangian_spoke_class():
    """mpi-sppy's Lagrangian spoke, pausing between its looks for new prices (mpi-sppy's spoke
    polls its MPI window in a busy loop, which takes a whole core from the hub, or from anything
    else, whenever the ranks share cores; a pause of 5 ms is nothing against a hub iteration of
    seconds), and keeping every bound it computes."""
    from mpisppy.cylinders.lagrangian_bounder import LagrangianOuterBound
    from mpisppy.utils import sputils

    class PatientLagrangian(LagrangianOuterBound):
        @property
        def bounds(self) -> list:
            """Every bound this spoke computed, in order: the first at w = 0 (each scenario
            alone), then one at each of the hub's prices it read (None where a solve failed)."""
            return self.__dict__.setdefault("_bounds", [])

        def lagrangian(self, need_solution=True, warmstart=sputils.WarmstartStatus.PRIOR_SOLUTION):
            bound = super().lagrangian(need_solution=need_solution, warmstart=warmstart)
            self.bounds.append(None if bound is None else float(bound))
            return bound

        def do_while_waiting_for_new_Ws(self, *args, **kwargs):
            super().do_while_waiting_for_new_Ws(*args, **kwargs)
            time.sleep(SPOKE_POLL_SECONDS)

    return PatientLagrangian
