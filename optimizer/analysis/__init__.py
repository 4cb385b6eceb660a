"""The analysis wing: a planner's questions after a solve: why a scenario is infeasible
(explain), the efficiency-equity frontier, the least proportion for a target, near-optimal
alternatives, two plans compared. Imports data, models and solving."""
