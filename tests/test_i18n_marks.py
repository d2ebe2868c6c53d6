"""Every word handed to ``_()`` or ``ngettext()`` in bot/ and handlers/ is one ``pybabel
extract`` can see: a plain string literal, or a constant (or a table of them) marked with
``N_("…")``. A word built at run time (an f-string, a concatenation, a variable) would never
reach the catalogs and would stay English for every reader."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("bot", "handlers")
TRANSLATING = {"_": 1, "ngettext": 2}  # the function, and how many of its arguments are words


def modules() -> list[Path]:
    return sorted(p for folder in FOLDERS for p in (ROOT / folder).rglob("*.py"))


def is_literal(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def is_marked(node: ast.AST | None) -> bool:
    """``N_("…")``: a word marked for the catalogs, translated where it is shown."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "N_"
        and len(node.args) == 1
        and is_literal(node.args[0])
    )


def is_marked_table(node: ast.AST | None) -> bool:
    """A dict, tuple or list whose every value is marked with ``N_``."""
    if isinstance(node, ast.Dict):
        return bool(node.values) and all(is_marked(v) for v in node.values)
    if isinstance(node, ast.Tuple | ast.List):
        return bool(node.elts) and all(is_marked(e) for e in node.elts)
    return False


@cache
def marked_names(module: str) -> tuple[frozenset[str], frozenset[str]]:
    """What ``marks`` finds in a module of bot/ or handlers/ (nothing for any other)."""
    path = ROOT / Path(*module.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    if not path.exists() or module in _reading:
        return frozenset(), frozenset()  # a cycle of imports: its first module is being read
    _reading.add(module)
    try:
        return marks(ast.parse(path.read_text()))
    finally:
        _reading.discard(module)


_reading: set[str] = set()


def marks(tree: ast.Module) -> tuple[frozenset[str], frozenset[str]]:
    """The names a module binds at its top to a marked word, and to a table of marked words
    (names imported from another module of bot/ or handlers/ count as that module's)."""
    words: set[str] = set()
    tables: set[str] = set()
    for node in tree.body:
        value: ast.AST | None = None
        names: list[str] = []
        if isinstance(node, ast.Assign):
            value = node.value
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            value, names = node.value, [node.target.id]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] in FOLDERS:
                their_words, their_tables = marked_names(node.module)
                for alias in node.names:
                    bound = alias.asname or alias.name
                    if alias.name in their_words:
                        words.add(bound)
                    if alias.name in their_tables:
                        tables.add(bound)
            continue
        if is_marked(value):
            words.update(names)
        elif is_marked_table(value):
            tables.update(names)
    return frozenset(words), frozenset(tables)


def extractable(node: ast.AST, words: frozenset[str], tables: frozenset[str]) -> bool:
    """Whether ``pybabel extract`` sees the word: a literal, or what ``N_`` marked."""
    if is_literal(node):
        return True
    if isinstance(node, ast.Name):
        return node.id in words
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        return node.value.id in tables
    return False


def unseen_words(source: str) -> list[str]:
    """Each ``_()`` or ``ngettext()`` call of ``source`` whose words extraction cannot see."""
    found = []
    tree = ast.parse(source)
    marked, tables = marks(tree)
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        if node.func.id == "N_":
            if not is_marked(node):
                found.append(f"line {node.lineno}: {ast.unparse(node)[:100]}")
            continue
        count = TRANSLATING.get(node.func.id)
        if count is None:
            continue
        given = node.args[:count]
        if len(given) < count or not all(extractable(w, marked, tables) for w in given):
            found.append(f"line {node.lineno}: {ast.unparse(node)[:100]}")
    return found


def test_every_translated_word_is_one_extraction_sees() -> None:
    problems = [
        f"{path.relative_to(ROOT)} {problem}"
        for path in modules()
        for problem in unseen_words(path.read_text())
    ]
    assert problems == []


@pytest.mark.parametrize(
    "call",
    [
        '_(f"Hello {name}")',
        '_("Hello " + name)',
        "_(greeting)",
        '_("Hello {name}".format(name=name))',
        '_(GREETINGS.get("morning"))',
        'ngettext("one alert", plural, count)',
        "N_(greeting)",
        "_()",
    ],
)
def test_a_word_built_at_run_time_is_found(call: str) -> None:
    source = f'GREETINGS = {{"morning": N_("Good morning")}}\ndef f(name, count): return {call}\n'
    assert unseen_words(source) != []


@pytest.mark.parametrize(
    "call",
    [
        '_("Hello {name}").format(name=name)',
        '_("Hello " "{name}")',
        "_(GREETING)",
        '_(GREETINGS["morning"])',
        'ngettext("one alert", "{count} alerts", count)',
    ],
)
def test_a_word_extraction_sees_passes(call: str) -> None:
    source = (
        'GREETING = N_("Hello")\nGREETINGS = {"morning": N_("Good morning")}\n'
        f"def f(name, count): return {call}\n"
    )
    assert unseen_words(source) == []
