"""Row expressions of the spec (``age >= 18 and job in ['admin', 'cook']``), evaluated safely.

An expression may hold column names, literals (numbers, strings, True/False), arithmetic
(``+ - * / // % **``), comparisons (chained too), ``in`` / ``not in`` a list or tuple of
literals, and ``and`` / ``or`` / ``not``. A column whose name is not an identifier is
written in backticks: ``\\`monthly fee\\` > 10``. Nothing else parses: no attribute
access, calls, subscripts or dunder names, so an expression cannot reach Python.

The whitelisted tree is evaluated directly over the columns (vectorised pandas operations)
rather than handed to ``DataFrame.eval``, whose own parser reads ``&``/``|`` with other
precedences than the tree that was checked. A comparison with a missing value is False
(``!=`` too), and so is ``not (age >= 18)``: a comparison with a missing value is
unknown, and/or/not follow three-valued logic, and what stays unknown counts as False.
"""

from __future__ import annotations

import ast
import difflib
import operator
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from loopml.errors import DataError

_BACKTICKED = re.compile(r"`([^`]*)`")
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_ARITHMETIC: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_FORBIDDEN = {
    ast.Attribute: "attribute access",
    ast.Call: "function calls",
    ast.Subscript: "subscripts",
    ast.Lambda: "lambdas",
    ast.IfExp: "if/else",
    ast.NamedExpr: "assignments",
}


class _Parsed:
    """An expression's checked tree and the columns its names stand for."""

    def __init__(self, expr: str, where: str) -> None:
        self.expr = expr
        self.where = where
        self.aliases: dict[str, str] = {}
        text = _BACKTICKED.sub(self._alias, expr).strip()
        try:
            self.tree = ast.parse(text, mode="eval").body
        except SyntaxError as exc:
            self.fail(f"is not a valid expression ({exc.msg})")
        self.names: list[str] = []
        self._check(self.tree)

    def _alias(self, match: re.Match[str]) -> str:
        alias = f"_col{len(self.aliases)}_"
        self.aliases[alias] = match.group(1)
        return alias

    def fail(self, why: str) -> Any:
        raise DataError(f"{self.where}: expression '{self.expr}' {why}")

    def column(self, name: str) -> str:
        return self.aliases.get(name, name)

    def _check(self, node: ast.AST) -> None:
        if isinstance(node, ast.Name):
            if node.id.startswith("__"):
                self.fail(f"uses '{node.id}': names starting with '__' are not allowed")
            if self.column(node.id) not in self.names:
                self.names.append(self.column(node.id))
            return
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, str | int | float | bool):
                self.fail(f"holds {node.value!r}: only numbers, strings and True/False")
            return
        if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
            children: list[ast.AST] = [node.left, node.right]
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.USub | ast.UAdd):
            children = [node.operand]
        elif isinstance(node, ast.BoolOp):
            children = list(node.values)
        elif isinstance(node, ast.Compare):
            children = [node.left]
            for op, right in zip(node.ops, node.comparators, strict=True):
                if isinstance(op, ast.In | ast.NotIn):
                    if len(node.ops) > 1:
                        self.fail("chains 'in' with other comparisons; use 'and'")
                    self._literal_list(right)
                elif type(op) in _COMPARE:
                    children.append(right)
                else:
                    self.fail(f"uses '{type(op).__name__}': compare with == != < <= > >= in")
        else:
            self.fail(self._forbidden(node))
        for child in children:
            self._check(child)

    def _forbidden(self, node: ast.AST) -> str:
        if isinstance(node, ast.BinOp | ast.UnaryOp) and isinstance(
            getattr(node, "op", None), ast.BitAnd | ast.BitOr | ast.Invert | ast.BitXor
        ):
            return "uses & | ~ ^: write and, or, not"
        what = _FORBIDDEN.get(type(node), f"'{type(node).__name__}'")
        return (
            f"uses {what}, which is not allowed: only column names, literals, arithmetic, "
            "comparisons, 'in [...]' and and/or/not"
        )

    def _literal_list(self, node: ast.AST) -> None:
        items = node.elts if isinstance(node, ast.List | ast.Tuple | ast.Set) else None
        if items is None or not all(_literal(item) is not _NOT_LITERAL for item in items):
            self.fail("uses 'in' with something other than a list of literals, e.g. in [1, 2]")


_NOT_LITERAL = object()


def _literal(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int | float | bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _literal(node.operand)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
    return _NOT_LITERAL


def column_names(expr: str, *, where: str) -> list[str]:
    """The column names ``expr`` uses, in order of appearance.

    Raises:
        DataError: ``expr`` does not parse or uses something other than names, literals,
            arithmetic, comparisons and and/or/not (the message names ``where``).
    """
    return list(_Parsed(expr, where).names)


def evaluate(df: pd.DataFrame, expr: str, *, where: str) -> pd.Series:
    """Evaluate ``expr`` on every row of ``df``; where it cannot be told (a comparison
    with a missing value) it is False.

    Args:
        df: the rows; names in ``expr`` are its columns.
        expr: e.g. ``age >= 18 and job in ['admin', 'cook']``.
        where: the spec field the expression comes from, for error messages
            (``data.validation.checks[0].expr``).

    Returns:
        A bool Series on ``df``'s index.

    Raises:
        DataError: the expression does not parse, uses anything outside the whitelist,
            names a column ``df`` does not have, mixes types that do not compare, or
            does not give true/false.
    """
    return evaluate_unknown(df, expr, where=where).fillna(False).astype(bool)


def value_of(df: pd.DataFrame, expr: str, *, where: str) -> tuple[_Parsed, Any]:
    """The checked expression and its raw value over ``df`` (a Series or a scalar); a
    division by zero gives NaN. Raises DataError as ``evaluate`` does."""
    parsed = _Parsed(expr, where)
    unknown = [name for name in parsed.names if name not in df.columns]
    if unknown:
        columns = [str(c) for c in df.columns]
        close = difflib.get_close_matches(unknown[0], columns, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        parsed.fail(
            f"names '{unknown[0]}', which is not a column.{hint} Columns: {', '.join(columns)}"
        )
    try:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return parsed, _Evaluator(df, parsed).value(parsed.tree)
    except DataError:
        raise
    except ZeroDivisionError:
        return parsed, np.nan
    except (TypeError, ValueError) as exc:
        parsed.fail(f"cannot be evaluated on this data ({exc})")
        raise  # fail() always raises; this line is for type checkers


def evaluate_unknown(df: pd.DataFrame, expr: str, *, where: str) -> pd.Series:
    """Like ``evaluate``, but a nullable boolean Series that is missing (``pd.NA``) where
    the answer is unknown: a value it compares is missing, or text where a number is
    expected. Checks judge only the rows where the answer is known, as SQL does."""
    parsed, result = value_of(df, expr, where=where)
    if not isinstance(result, pd.Series):
        if not isinstance(result, bool | np.bool_):
            parsed.fail(f"gives {result!r}, not true/false")
        return pd.Series(bool(result), index=df.index, dtype="boolean")
    try:
        return result.astype("boolean")
    except (TypeError, ValueError):
        first = result.dropna().iloc[0] if result.notna().any() else None
        first = first.item() if isinstance(first, np.generic) else first
        return parsed.fail(f"gives values like {first!r}, not true/false; compare them")


class _Evaluator:
    """Evaluates a checked tree: Series for columns, scalars for literals.

    Comparisons give nullable booleans, missing where a side is missing, and and/or/not
    follow three-valued logic over them; the caller turns what stays missing into False.
    """

    def __init__(self, df: pd.DataFrame, parsed: _Parsed) -> None:
        self.df = df
        self.parsed = parsed

    def value(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Name):
            return self.df[self.parsed.column(node.id)]
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.BinOp):
            left, right = _align(self.value(node.left), self.value(node.right))
            return _ARITHMETIC[type(node.op)](left, right)
        if isinstance(node, ast.UnaryOp):
            operand = self.value(node.operand)
            if isinstance(node.op, ast.Not):
                return ~self.boolean(operand) if isinstance(operand, pd.Series) else not operand
            return -operand if isinstance(node.op, ast.USub) else +operand
        if isinstance(node, ast.BoolOp):
            values = [self.boolean(self.value(v)) for v in node.values]
            combine = operator.and_ if isinstance(node.op, ast.And) else operator.or_
            result = values[0]
            for item in values[1:]:
                result = combine(result, item)
            return result
        assert isinstance(node, ast.Compare)
        return self.compare(node)

    def boolean(self, value: Any) -> Any:
        """``value`` as a nullable boolean Series, or a Python bool."""
        if not isinstance(value, pd.Series):
            return bool(value)
        if pd.api.types.is_bool_dtype(value.dtype):
            return value.astype("boolean")
        try:
            return value.astype("boolean")
        except (TypeError, ValueError):
            return self.parsed.fail(f"uses column '{value.name}' as true/false, which it is not")

    def compare(self, node: ast.Compare) -> Any:
        result: Any = True
        left = self.value(node.left)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.In | ast.NotIn):
                items = [_literal(item) for item in right_node.elts]  # type: ignore[attr-defined]
                part = _isin(left, items, negate=isinstance(op, ast.NotIn))
            else:
                right = self.value(right_node)
                part = _compare(_COMPARE[type(op)], left, right, self.df.index)
                left = right
            result = part if result is True else result & part
        return result


def _isin(left: Any, items: list[Any], *, negate: bool) -> Any:
    if not isinstance(left, pd.Series):
        return (left in items) != negate
    found = left.isin(items).astype("boolean")
    if negate:
        found = ~found
    return found.mask(left.isna())


def _compare(op: Callable[[Any, Any], Any], left: Any, right: Any, index: pd.Index) -> Any:
    """``op(left, right)`` as nullable booleans, missing wherever either side is missing."""
    if not isinstance(left, pd.Series) and not isinstance(right, pd.Series):
        return bool(op(left, right))
    left, right = _align(left, right)
    valid = pd.Series(True, index=index)
    for side in (left, right):
        if isinstance(side, pd.Series):
            valid &= side.notna()
        elif side is None:
            valid &= False
    out = pd.Series(pd.NA, index=index, dtype="boolean")
    if valid.any():
        lhs = left[valid] if isinstance(left, pd.Series) else left
        rhs = right[valid] if isinstance(right, pd.Series) else right
        out[valid] = np.asarray(op(lhs, rhs), dtype=bool)
    return out


def _is_number(value: Any) -> bool:
    if isinstance(value, pd.Series):
        dtype = value.dtype
        return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    return isinstance(value, int | float | np.number) and not isinstance(value, bool | np.bool_)


def _align(left: Any, right: Any) -> tuple[Any, Any]:
    """A column of text met with a number is read as numbers: values that are not
    numbers (``'abc'`` in a numeric column that changed type) become missing."""
    for this, other in ((left, right), (right, left)):
        is_text = isinstance(this, pd.Series) and (
            pd.api.types.is_object_dtype(this.dtype) or isinstance(this.dtype, pd.StringDtype)
        )
        if is_text and _is_number(other):
            numbers = pd.to_numeric(this, errors="coerce")
            return (numbers, right) if this is left else (left, numbers)
    return left, right
