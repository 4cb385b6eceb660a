"""Pyomo formulations of the EWPPT allocation model: one module per constraint family.

`build_model(instance)` in `models.assemble` calls the families in a fixed order. Every value a
study may vary is a mutable Param, so a built model can be re-solved after changing them.
"""

from models.assemble import build_model

__all__ = ["build_model"]
