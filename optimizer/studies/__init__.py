"""The studies wing: sensitivity designs (study), the sweep engine with its resumable store
(sweep), and the study's report (sweep_report). Imports data, models and solving."""
