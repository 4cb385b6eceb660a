"""Loading a model into HiGHS faster, into exactly the same LP: Pyomo's persistent HiGHS
interface (`pyomo.contrib.solver`'s `highs`, pyomo 6.9 to 6.10) with its two slow steps done
in bulk.

Pyomo's `set_instance` walks each constraint twice (once for its variables, once for its
linear form by `generate_standard_repn`) and adds the new columns of each constraint to HiGHS
one constraint at a time (56,486 `addVars` calls at 800 counties). `BulkHighs` keeps every
map and helper Pyomo's interface keeps (so `update`, the MIP driver's fixing, the sweep's
bulk updates and everything that reads `_solver_model` or the row and column maps work as
before) and changes only how they are computed:

- the columns of all the constraints added at once go to HiGHS in one `addVars` call, in the
  same order (each constraint's new variables in the order Pyomo's walk meets them);
- a constraint made only of variables, sums, negations, linear expressions and products with
  plain numbers is read by one walk here that repeats `generate_standard_repn`'s arithmetic
  step by step (the same operands, in the same order, so the same coefficients to the bit,
  the same column order within the row, the same zeros dropped);
- any other constraint (a mutable Param in a coefficient or a bound, a fixed variable, a
  named expression, anything unexpected) goes through Pyomo's own code, row by row, with the
  mutable helpers Pyomo makes for it.

The rows reach HiGHS in one `addRows` call as before, the same arrays Pyomo would pass.
`tests/test_loading.py` loads instances both ways and compares HiGHS's whole LP.
"""

from __future__ import annotations

from pyomo.common.numeric_types import native_numeric_types
from pyomo.contrib.solver.common.util import IncompatibleModelError, collect_vars_and_named_exprs
from pyomo.contrib.solver.solvers.highs import (Highs, _MutableConstraintBounds, _MutableLinearCoefficient,
                                                highspy)
from pyomo.core.base.param import ParamData, ScalarParam
from pyomo.core.base.var import VarData
from pyomo.core.expr import numeric_expr as ne
from pyomo.core.expr import relational_expr as re_
from pyomo.core.expr.numvalue import NumericConstant, as_numeric, is_constant, native_types, value
from pyomo.repn import generate_standard_repn
from pyomo.common.dependencies import numpy as np

_NATIVE = native_numeric_types
_RELATIONAL = (re_.InequalityExpression, re_.EqualityExpression, re_.RangedExpression)
_WALKED = frozenset({ne.LinearExpression, ne.SumExpression, ne.NegationExpression, ne.ProductExpression,
                     ne.MonomialTermExpression, *_RELATIONAL})
# leaves Pyomo's walk passes over (neither variables nor expressions)
_LEAVES = frozenset({ParamData, ScalarParam, NumericConstant})
_ninf, _inf = float("-inf"), float("inf")


# the pyomo releases whose persistent HiGHS interface this module repeats (tests/test_loading.py
# compares the two on the installed one); any other: new_solver() makes Pyomo's own
TESTED_PYOMO = ((6, 9), (6, 10))


def supported() -> bool:
    """Whether the installed pyomo is one this module was written against."""
    from pyomo.version import version_info

    return tuple(version_info[:2]) in TESTED_PYOMO


class _Other(Exception):
    """A constraint this module does not read itself: Pyomo's code reads it."""


def _variables(expr) -> list | None:
    """The variables of a constraint's expression in the order Pyomo's
    `collect_vars_and_named_exprs` lists them (leaves left to right, each once); None when the
    expression has anything but unfixed variables, numbers, and the expression types above
    (Pyomo's walk then reads it)."""
    found: dict[int, VarData] = {}
    stack = [iter(expr.args)]
    while stack:
        for arg in stack[-1]:
            cls = arg.__class__
            if cls in _NATIVE:
                continue
            if cls is VarData:
                if arg.fixed:
                    return None
                found.setdefault(id(arg), arg)
            elif cls in _WALKED:
                stack.append(iter(arg.args))
                break
            elif cls not in _LEAVES:
                return None
        else:
            stack.pop()
    return list(found.values())


def _linear(expr) -> tuple[list, list, object, list]:
    """(variables, coefficients, constant) of `expr` as `generate_standard_repn(expr,
    quadratic=False, compute_values=False)` gives them, for the expressions `_variables`
    accepts with plain numbers for coefficients, and the variables of `expr` as `_variables`
    lists them (each leaf met, left to right); raises _Other for anything else."""
    cls = expr.__class__
    if cls is VarData:  # generate_standard_repn: a variable alone
        if expr.fixed:
            raise _Other
        return [expr], [1], 0, [expr]
    if cls is ne.LinearExpression:  # its LinearExpression branch (compute_values=False)
        coefs: dict[int, object] = {}
        variables: dict[int, VarData] = {}
        constant = 0
        for arg in expr.args:
            a = arg.__class__
            if a is ne.MonomialTermExpression:
                c, v = arg.args
                if c.__class__ not in _NATIVE or v.__class__ is not VarData or v.fixed:
                    raise _Other
                key = id(v)
                if key in coefs:
                    coefs[key] += c
                else:
                    coefs[key] = c
                    variables[key] = v
            elif a in _NATIVE:
                constant += arg
            elif a is VarData:
                if arg.fixed:
                    raise _Other
                key = id(arg)
                if key in coefs:
                    coefs[key] += 1
                else:
                    coefs[key] = 1
                    variables[key] = arg
            else:
                raise _Other
        out_v, out_c = [], []
        for key, coef in coefs.items():
            if coef.__class__ in _NATIVE and not coef:
                continue
            out_v.append(variables[key])
            out_c.append(coef)
        return out_v, out_c, constant, list(variables.values())
    if cls in _RELATIONAL or cls in _NATIVE:
        raise _Other
    # _generate_standard_repn: a sum is collected as such, anything else by its collector
    seen: dict[int, VarData] = {}
    constant, linear = _sum(expr, 1, seen) if cls is ne.SumExpression else _collect(expr, 1, seen)
    out_v, out_c = [], []
    for key, val in linear.items():
        if val.__class__ in _NATIVE:
            if not val:
                continue
        else:
            raise _Other  # (never: every coefficient here is a number)
        out_v.append(seen[key])
        out_c.append(val)
    return out_v, out_c, constant, list(seen.values())


def _collect(expr, multiplier, seen) -> tuple[object, dict]:
    """standard_repn's `_collect_standard_repn` for the types read here: (constant, linear).
    Every variable met goes into `seen` (first meeting first)."""
    cls = expr.__class__
    if cls is ne.SumExpression:
        return _sum(expr, multiplier, seen)
    if cls is ne.LinearExpression:  # _collect_linear, reading the terms as LinearExpression._build_cache does
        constant = 0
        linear: dict[int, object] = {}
        for arg in expr.args:
            a = arg.__class__
            if a is ne.MonomialTermExpression:
                c, v = arg._args_
            elif a in _NATIVE:
                constant += arg
                continue
            elif a is VarData:
                c, v = 1, arg
            else:
                raise _Other
            if c.__class__ not in _NATIVE or v.__class__ is not VarData or v.fixed:
                raise _Other
            key = id(v)
            if key in linear:
                linear[key] += multiplier * c
            else:
                linear[key] = multiplier * c
                seen.setdefault(key, v)
        return multiplier * constant, {k: c for k, c in linear.items() if not (c.__class__ in _NATIVE and not c)}
    if cls is ne.NegationExpression:  # _collect_negation
        return _collect(expr._args_[0], -1 * multiplier, seen)
    if cls is ne.ProductExpression or cls is ne.MonomialTermExpression:  # _collect_prod, _collect_term
        left, right = expr._args_[0], expr._args_[1]
        # (a factor 0 drops the other factor unread: Pyomo's code reads that rare row)
        if left.__class__ in _NATIVE and left != 0:
            return _collect(right, multiplier * left, seen)
        if cls is ne.ProductExpression and left.__class__ not in _NATIVE and right.__class__ in _NATIVE \
                and right != 0:
            return _collect(left, multiplier * right, seen)
        raise _Other
    if cls is VarData:  # _collect_var
        if expr.fixed:
            raise _Other
        seen.setdefault(id(expr), expr)
        return 0, {id(expr): multiplier}
    raise _Other


def _sum(expr, multiplier, seen) -> tuple[object, dict]:
    """standard_repn's `_collect_sum` for the types read here."""
    constant = 0
    linear: dict[int, object] = {}
    for e in expr.args:
        cls = e.__class__
        if cls is ne.MonomialTermExpression:
            lhs, v = e._args_[0], e._args_[1]
            if lhs.__class__ not in _NATIVE or v.__class__ is not VarData or v.fixed:
                raise _Other
            key = id(v)
            seen.setdefault(key, v)
            if not lhs:
                continue
            if key in linear:
                linear[key] += multiplier * lhs
            else:
                linear[key] = multiplier * lhs
        elif cls in _NATIVE:
            constant += multiplier * e
        elif cls is VarData:
            if e.fixed:
                raise _Other
            key = id(e)
            seen.setdefault(key, e)
            if key in linear:
                linear[key] += multiplier
            else:
                linear[key] = multiplier
        elif cls in _WALKED:
            sub_constant, sub_linear = _collect(e, multiplier, seen)
            constant += sub_constant
            for i, v in sub_linear.items():
                linear[i] = linear.get(i, 0) + v
        else:
            raise _Other
    return constant, {k: c for k, c in linear.items() if not (c.__class__ in _NATIVE and not c)}


class BulkHighs(Highs):
    """Pyomo's persistent HiGHS interface, loading constraints in bulk (see the module)."""

    def add_constraints(self, cons):
        """PersistentSolverUtils.add_constraints, with the new columns added in one call and
        each constraint read by one fast walk where it can (its linear form kept for
        `_add_constraints`)."""
        if not self._treat_fixed_vars_as_params:  # (this engine never turns it off)
            return super().add_constraints(cons)
        referenced = self._referenced_variables
        new_vars: dict[int, VarData] = {}
        read = []
        self._read = forms = {}
        try:
            for con in cons:
                if con in self._named_expressions:
                    raise ValueError(f"Constraint {con.name} has already been added")
                expr = con.expr
                self._active_constraints[con] = expr
                variables = None
                if expr.__class__ in _RELATIONAL:
                    variables = self._read_row(con, expr, forms)
                named_exprs, external = [], []
                if variables is None:
                    named_exprs, variables, _, external = collect_vars_and_named_exprs(expr)
                # each variable's first meeting keeps its place (the same object under one id)
                new_vars.update(zip(map(id, variables), variables))
                self._named_expressions[con] = [(e, e.expr) for e in named_exprs]
                if len(external) > 0:
                    self._external_functions[con] = external
                self._vars_referenced_by_con[con] = variables
                read.append(variables)
            # the new columns in the order Pyomo adds them constraint by constraint
            self.add_variables([v for key, v in new_vars.items() if key not in referenced])
            for con, variables in zip(cons, read):
                for using in map(referenced.__getitem__, map(id, variables)):
                    using[0][con] = None
            self._add_constraints(cons)
        finally:
            self._read = {}

    @staticmethod
    def _read_row(con, expr, forms: dict) -> list | None:
        """The variables of a constraint, in the order Pyomo's walk lists them (None: let it
        walk), and into `forms` its bounds and linear form when `_linear` reads it."""
        try:
            lower, body, upper = con.to_bounded_expression()
            if lower.__class__ not in native_types or upper.__class__ not in native_types:
                raise _Other  # a bound with a Param: Pyomo's code reads the row and makes its helper
            linear_vars, linear_coefs, constant, met = _linear(body)
            if constant.__class__ not in _NATIVE:
                raise _Other
        except _Other:
            return _variables(expr)
        forms[con] = (lower, upper, linear_vars, linear_coefs, constant)
        # the body is one side of the constraint: the variables met in it are the constraint's,
        # in the same order; else (both sides hold variables, the body is their difference) walk
        return met if any(body is side for side in expr.args) else _variables(expr)

    def _add_constraints(self, cons):
        """Highs._add_constraints, with the rows `_linear` read (in add_constraints) added
        from their linear forms."""
        self._sol = None
        if self._last_results_object is not None:
            self._last_results_object.solution_loader.invalidate()
        current_num_cons = len(self._pyomo_con_to_solver_con_map)
        lbs, ubs, starts, var_indices, coef_values = [], [], [], [], []
        columns = self._pyomo_var_to_solver_var_map
        con_map, solver_con_map = self._pyomo_con_to_solver_con_map, self._solver_con_to_pyomo_con_map
        forms = getattr(self, "_read", None) or {}
        for con in cons:
            form = forms.get(con)
            if form is None:
                self._add_by_pyomo(con, lbs, ubs, starts, var_indices, coef_values)
            else:
                lower, upper, linear_vars, linear_coefs, constant = form
                starts.append(len(coef_values))
                var_indices.extend(map(columns.__getitem__, map(id, linear_vars)))
                coef_values.extend(linear_coefs)
                # ConstraintData.has_lb / lower and Highs._add_constraints's arithmetic, on the
                # bounds read once (as_numeric as ConstraintData.lower: NumericConstant(-0.0) - 0
                # is 0.0 in Pyomo's arithmetic)
                if con._evaluate_bound(lower, _ninf) is not None:
                    lb = value(as_numeric(lower) - constant)
                else:
                    lb = -highspy.kHighsInf
                if con._evaluate_bound(upper, _inf) is not None:
                    ub = value(as_numeric(upper) - constant)
                else:
                    ub = highspy.kHighsInf
                lbs.append(lb)
                ubs.append(ub)
            con_map[con] = current_num_cons
            solver_con_map[current_num_cons] = con
            current_num_cons += 1
        self._solver_model.addRows(len(lbs), np.array(lbs, dtype=np.double), np.array(ubs, dtype=np.double),
                                   len(coef_values), np.array(starts), np.array(var_indices),
                                   np.array(coef_values, dtype=np.double))

    def _add_by_pyomo(self, con, lbs, ubs, starts, var_indices, coef_values) -> None:
        """One row as Highs._add_constraints reads it (pyomo 6.10), its mutable helpers too."""
        repn = generate_standard_repn(con.body, quadratic=False, compute_values=False)
        if repn.nonlinear_expr is not None:
            raise IncompatibleModelError(
                f"Highs interface does not support expressions of degree {repn.polynomial_degree()}")
        starts.append(len(coef_values))
        for ndx, coef in enumerate(repn.linear_coefs):
            v = repn.linear_vars[ndx]
            v_id = id(v)
            coef_val = value(coef)
            if not is_constant(coef):
                helper = _MutableLinearCoefficient(pyomo_con=con, pyomo_var_id=v_id,
                                                   con_map=self._pyomo_con_to_solver_con_map,
                                                   var_map=self._pyomo_var_to_solver_var_map, expr=coef,
                                                   highs=self._solver_model)
                self._mutable_helpers.setdefault(con, []).append(helper)
                if coef_val == 0:
                    continue
            var_indices.append(self._pyomo_var_to_solver_var_map[v_id])
            coef_values.append(coef_val)
        lb = con.lower - repn.constant if con.has_lb() else -highspy.kHighsInf
        ub = con.upper - repn.constant if con.has_ub() else highspy.kHighsInf
        if not is_constant(lb) or not is_constant(ub):
            bounds = _MutableConstraintBounds(lower_expr=lb, upper_expr=ub, pyomo_con=con,
                                              con_map=self._pyomo_con_to_solver_con_map,
                                              highs=self._solver_model)
            self._mutable_helpers.setdefault(con, []).append(bounds)
        lbs.append(value(lb))
        ubs.append(value(ub))
