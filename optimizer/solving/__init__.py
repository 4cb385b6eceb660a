"""The solving wing: one solve. Build (models/), HiGHS through Pyomo (solve), the MIP driver
(mip), the result tables and Result (results), people lifted from a plan (evaluate), the
independent re-check (recheck), ranging (it needs HiGHS's basis while the plan is held), and
Ctrl-C (interrupt) and the live status line's stages (progress), which import only the
standard library. Imports data and models only; this file imports nothing, so that the
command line can load `interrupt` before pandas and Pyomo."""
