"""Any JSON value, for the intake fuzz tests."""

from __future__ import annotations

from hypothesis import strategies as st

# Any text, lone surrogates and NUL included: both reach the database layer if nothing stops them.
TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)


SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT


JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
