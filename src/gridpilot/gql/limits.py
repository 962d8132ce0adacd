"""Limits and errors of the GraphQL endpoint, checked before anything executes.

- **Depth**: at most ``MAX_DEPTH`` nested selections (strawberry's ``QueryDepthLimiter``).
- **Cost**: an estimate of the work a query asks for, refused above ``MAX_COST``. Each object
  field costs its weight (``WEIGHTS``, default 1; scalar fields 0), times the number of parents
  it is asked for: a list field multiplies everything below it by its size, the ``ids`` it is
  given, else its ``limit`` argument, else its default size (``LIST_SIZES``); a size given by
  a variable counts by the variable's value, an unknown one at ``MAX_LIST``. Example: 100
  sites' ``balance`` and ``today`` cost 1 + 100 x (1 + 3) = 401.
- **Tokens and aliases**: at most ``MAX_TOKENS`` tokens and ``MAX_ALIASES`` aliases.
- **Errors**: a ``GridpilotError`` becomes a GraphQL error with ``extensions.code`` (e.g.
  ``not_found``, ``validation_failed``); any other exception is masked ("internal error",
  code ``internal_error``), never a 500 with a stack.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    ValueNode,
    VariableNode,
)
from strawberry.extensions import MaskErrors

from gridpilot.core.errors import GridpilotError

MAX_DEPTH = 6
MAX_COST = 5_000
MAX_TOKENS = 2_000
MAX_ALIASES = 20
#: The largest ``ids`` list or ``limit`` a list field takes.
MAX_LIST = 1_000
#: Work per field beyond a plain object (set-based loads are cheap per site).
WEIGHTS = {"today": 3, "kpis": 3, "latest": 2, "series": 10, "points": 0}
#: Assumed size of a list field without ``ids`` or ``limit``.
LIST_SIZES = {"sites": 100, "assets": 20, "alerts": 100, "latest": 10}


#: The variables of the query being validated (set by ``gql.routes`` around the execution).
VARIABLES: ContextVar[dict[str, Any] | None] = ContextVar("graphql_variables", default=None)


def _given(value: ValueNode) -> Any:
    """A literal argument's value, a variable's value, or None when neither is known."""
    if isinstance(value, VariableNode):
        return (VARIABLES.get() or {}).get(value.name.value)
    if isinstance(value, ListValueNode):
        return list(value.values)
    if isinstance(value, IntValueNode):
        return int(value.value)
    return None


def _size(node: FieldNode) -> int:
    name = node.name.value
    if name not in LIST_SIZES:
        return 1
    for argument in node.arguments or ():
        if argument.name.value not in ("ids", "limit"):
            continue
        given = _given(argument.value)
        if isinstance(given, list):
            return min(len(given), MAX_LIST)
        if isinstance(given, int) and not isinstance(given, bool):
            return max(0, min(given, MAX_LIST))
        return MAX_LIST  # unknown: counted at the most
    return LIST_SIZES[name]


class CostLimit(ValidationRule):
    """Refuses an operation whose estimated cost (module docstring) exceeds ``MAX_COST``."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.fragments = {
            d.name.value: d
            for d in context.document.definitions
            if isinstance(d, FragmentDefinitionNode)
        }

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        cost = self._cost(node.selection_set, 1, set())
        if cost > MAX_COST:
            name = node.name.value if node.name else "the query"
            self.report_error(
                GraphQLError(
                    f"{name} is too costly: estimated cost {cost:,} > {MAX_COST:,} (ask for "
                    "fewer sites or assets, or fewer series, per query; see docs/graphql.md)",
                    node,
                    extensions={"code": "query_too_costly", "cost": cost, "max_cost": MAX_COST},
                )
            )

    def _cost(self, selections: SelectionSetNode | None, times: int, seen: set[str]) -> int:
        if selections is None:
            return 0
        total = 0
        for node in selections.selections:
            if isinstance(node, FieldNode):
                if node.selection_set is None:
                    continue
                weight = WEIGHTS.get(node.name.value, 1)
                below = times * _size(node)
                total += times * weight + self._cost(node.selection_set, below, seen)
            elif isinstance(node, InlineFragmentNode):
                total += self._cost(node.selection_set, times, seen)
            elif isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
                fragment = self.fragments.get(node.name.value)
                if fragment is not None:  # cycles are refused by the standard rules
                    inner = {*seen, node.name.value}
                    total += self._cost(fragment.selection_set, times, inner)
            if total > MAX_COST * 1_000:  # enough to refuse; stop counting
                return total
        return total


class CodedErrors(MaskErrors):
    """Errors with a stable ``extensions.code``; unexpected exceptions masked."""

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [self._coded(e) for e in errors]

    @staticmethod
    def _coded(error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if original is None or isinstance(original, GraphQLError):
            if error.extensions and "code" in error.extensions:
                return error
            code = "graphql_validation" if not error.path else "bad_request"
            extensions = {**(error.extensions or {}), "code": code}
        elif isinstance(original, GridpilotError):
            extensions = {"code": original.code}
        else:
            return GraphQLError(
                "internal error",
                error.nodes,
                path=error.path,
                extensions={"code": "internal_error"},
            )
        return GraphQLError(
            error.message,
            error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions=extensions,
        )
