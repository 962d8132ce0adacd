"""Every bus topic a module publishes or subscribes to comes from the event catalogue
(``core/events.py``), and the catalogue names real topics: a new event is one entry there."""

from __future__ import annotations

import ast
from pathlib import Path

import gridpilot
from gridpilot.core.events import CATALOGUE, known

SOURCE = Path(gridpilot.__file__).parent
BUS_CALLS = {"publish", "subscribe"}


def topic_literals() -> list[tuple[str, str]]:
    """(module, topic) of every string literal passed first to ``.publish``/``.subscribe`` of
    a bus (MQTT clients publish to topics with a slash; those are not bus topics)."""
    found = []
    for path in SOURCE.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr not in BUS_CALLS or not node.args:
                continue
            first = node.args[0]
            literal = isinstance(first, ast.Constant) and isinstance(first.value, str)
            if literal and "/" not in first.value:
                found.append((str(path.relative_to(SOURCE)), first.value))
    return found


def test_every_topic_used_comes_from_the_catalogue() -> None:
    """Modules name topics through ``core.events``; a literal may only be a wildcard over
    catalogued topics (``alert.*``)."""
    literals = topic_literals()
    assert [(m, t) for m, t in literals if "*" not in t] == []
    assert [(m, t) for m, t in literals if not known(t)] == []


def test_catalogue_entries_are_consistent() -> None:
    for name, topic in CATALOGUE.items():
        assert topic.name == name and "." in name
        assert topic.publishers and topic.listeners and topic.doc
        assert topic.payload.__annotations__, name  # a TypedDict with its fields


def test_wildcards_and_unknown_topics() -> None:
    assert known("alert.*") and known("readings.stored")
    assert not known("reading.stored") and not known("alerts.*")
