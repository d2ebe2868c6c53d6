"""YAML read with the line of every value, and problems that name file, line and field.

PyYAML's node API (rather than ``yaml.safe_load``) keeps the line each value came from. A
``LinedReader`` walks the composed nodes and collects every problem in one pass, so that a
``ConfigError`` lists them all at once. Nothing here knows which file is read: the setup file's
schema is in ``bot.plan.reading``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar, cast

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

Item = TypeVar("Item")
_NULL = "tag:yaml.org,2002:null"
STR_TAG = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the setup file: where it is, which field, and what is wrong."""

    file: str
    line: int | None  # 1-based; None when the file itself cannot be read
    field: str  # dotted path like teams.support.rotations[0].every; "" for the file as a whole
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class ConfigError(Exception):
    """The setup file cannot be used; ``problems`` lists every reason, in file order."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(problems, key=lambda problem: problem.line or 0)
        super().__init__("\n".join(str(problem) for problem in self.problems))


def syntax_problem(error: yaml.YAMLError, text: str, source: str) -> Problem:
    """The YAML error as a Problem on the line PyYAML points at."""
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        problem = error.problem or error.context or "unreadable YAML"
        if "'\\t'" in problem:
            # PyYAML's own words ("cannot start any token") do not say what to do about it.
            problem = "a tab character cannot indent YAML; indent with spaces"
        message = f"YAML syntax error: {problem}"
        if mark:
            message += f" (column {mark.column + 1})"
        if error.context and error.problem and error.context_mark:
            message += f", {error.context} started on line {error.context_mark.line + 1}"
        return Problem(source, line, "", message)
    if isinstance(error, yaml.reader.ReaderError):
        line = text[: error.position].count("\n") + 1
        message = f"YAML cannot hold the character {error.character!r}: {error.reason}"
        return Problem(source, line, "", message)
    return Problem(source, None, "", f"YAML syntax error: {error}")


@dataclass(frozen=True)
class Value:
    """A node of the file with the field path and line an error about it should name."""

    node: Node
    field: str
    line: int


def line_of(node: Node) -> int:
    return int(node.start_mark.line) + 1


def is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _NULL


def found(node: Node) -> str:
    """What the file holds at ``node``, in words, for "expected …, got …"."""
    if isinstance(node, MappingNode):
        return "a mapping" if node.value else "an empty mapping"
    if isinstance(node, SequenceNode):
        return "a list" if node.value else "an empty list"
    if node.tag == _NULL:
        return "nothing"
    if node.tag == STR_TAG:
        return repr(node.value)
    return str(node.value)  # a number, boolean or date, as written


def closest_choice(word: str, choices: Iterable[str]) -> str | None:
    """The one of ``choices`` that ``word`` looks like a misspelling of, if any."""
    by_lower = {choice.lower(): choice for choice in choices}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[close[0]] if close else None


def hint(word: str, choices: Iterable[str]) -> str:
    """ "; did you mean 'x'?" when ``word`` looks like a misspelling of x, else ""."""
    closest = closest_choice(word, choices)
    return f"; did you mean {closest!r}?" if closest else ""


def join_field(field: str, key: str) -> str:
    return f"{field}.{key}" if field else key


class LinedReader:
    """Walks composed YAML, collecting every problem on the way; ``required`` says, for each
    key a mapping may need, what to write there (for "missing: …")."""

    def __init__(self, source: str, required: Mapping[str, str]) -> None:
        self.source = source
        self.required = required
        self.problems: list[Problem] = []

    def report(self, line: int, field: str, message: str) -> None:
        self.problems.append(Problem(self.source, line, field, message))

    def expected(self, value: Value, expected: str, extra: str = "") -> None:
        """Report that ``value`` is not what was expected, saying what it is instead."""
        self.report(value.line, value.field, f"expected {expected}, got {found(value.node)}{extra}")

    def mapping(
        self,
        value: Value,
        keys: Sequence[str],
        required: Sequence[str],
        expected: str,
        needs: dict[str, str] | None = None,
    ) -> dict[str, Value] | None:
        """The entries of a mapping with known keys; reports unknown, repeated and missing keys
        (saying what a missing one holds: ``needs``, else the common words)."""
        if not isinstance(value.node, MappingNode):
            self.expected(value, expected)
            return None
        entries: dict[str, Value] = {}
        hinted: set[str] = set()
        for key, item in self.entries(value):
            if key not in keys:
                closest = closest_choice(key, keys)
                if closest:
                    hinted.add(closest)
                    message = f"unknown key {key!r}; did you mean {closest!r}?"
                else:
                    message = f"unknown key {key!r}; expected one of {', '.join(keys)}"
                self.report(item.line, item.field, message)
                continue
            entries[key] = item
        for key in required:
            # A misspelt key already said what it should be; "missing" on top would be noise.
            if key not in entries and key not in hinted:
                what = (needs or {}).get(key) or self.required[key]
                self.report(value.line, join_field(value.field, key), f"missing: {what}")
        return entries

    def keyed(
        self,
        value: Value,
        expected: str,
        read: Callable[[str, Value], Item | None],
        *,
        empty_ok: bool = True,
    ) -> dict[str, Item] | None:
        """A mapping whose entries ``read`` reads one by one, by key; None when it is not one
        (``expected`` says what it should be) or when an entry is broken (each said where)."""
        if not isinstance(value.node, MappingNode) or not (empty_ok or value.node.value):
            self.expected(value, expected)
            return None
        items: dict[str, Item] = {}
        broken = False
        for key, entry in self.entries(value):
            item = read(key, entry)
            if item is None:
                broken = True
            else:
                items[key] = item
        return None if broken else items

    def entries(self, value: Value) -> Iterator[tuple[str, Value]]:
        """The (key, value) pairs of a mapping node, merge keys (<<) expanded; reports keys
        given twice and keys that are not plain names."""
        node = cast(MappingNode, value.node)
        seen: dict[str, int] = {}
        merged: list[tuple[Node, Node]] = []
        for key_node, item_node in node.value:
            if key_node.tag == _MERGE:
                merged.extend(self.merged(Value(item_node, value.field, line_of(key_node))))
                continue
            if not isinstance(key_node, ScalarNode) or is_null(key_node):
                key_value = Value(key_node, value.field, line_of(key_node))
                self.expected(key_value, "a key name")
                continue
            key = str(key_node.value)
            if key in seen:
                self.report(
                    line_of(key_node),
                    join_field(value.field, key),
                    f"duplicate key {key!r}, first given on line {seen[key]}",
                )
                continue
            seen[key] = line_of(key_node)
            yield key, self.child(key_node, item_node, join_field(value.field, key))
        # Merged keys fill in what the mapping does not say itself, the first merge winning.
        for key_node, item_node in merged:
            if isinstance(key_node, ScalarNode) and not is_null(key_node):
                key = str(key_node.value)
                if key not in seen:
                    seen[key] = line_of(key_node)
                    yield key, self.child(key_node, item_node, join_field(value.field, key))

    def merged(self, value: Value) -> list[tuple[Node, Node]]:
        """The pairs a merge key (<<: *defaults) brings in."""
        node = value.node
        sources = node.value if isinstance(node, SequenceNode) else [node]
        if not all(isinstance(source, MappingNode) for source in sources):
            self.expected(
                Value(node, join_field(value.field, "<<"), value.line), "a mapping to merge"
            )
            return []
        return [pair for source in sources for pair in source.value]

    @staticmethod
    def child(key_node: Node, node: Node, field: str) -> Value:
        # A scalar is blamed on its own line; a list or mapping on the line of its key.
        if isinstance(node, ScalarNode) and not is_null(node):
            return Value(node, field, line_of(node))
        return Value(node, field, line_of(key_node))

    def sequence(self, value: Value, expected: str, *, what: str) -> list[Value] | None:
        """The items of a non-empty list; reports anything else."""
        node = value.node
        if not isinstance(node, SequenceNode) or not node.value:
            self.expected(value, f"a list of {what}, like {expected}")
            return None
        return [
            Value(item, f"{value.field}[{i}]", line_of(item)) for i, item in enumerate(node.value)
        ]

    def text(self, value: Value, expected: str) -> str | None:
        """The scalar as written in the file; reports lists, mappings and empty values."""
        node = value.node
        if not isinstance(node, ScalarNode) or is_null(node):
            self.expected(value, expected)
            return None
        return str(node.value)

    def matching(
        self, value: Value, pattern: re.Pattern[str], expected: str, extra: str = ""
    ) -> str | None:
        """The scalar when it matches ``pattern`` in full; reports it otherwise."""
        text = self.text(value, expected)
        if text is None:
            return None
        if not pattern.fullmatch(text):
            self.expected(value, expected, extra)
            return None
        return text


def compose(text: str, source: str) -> Node | None:
    """The YAML document in ``text`` as nodes; raises ConfigError on a syntax error."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        raise ConfigError([syntax_problem(error, text, source)]) from None
