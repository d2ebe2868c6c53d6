"""The import-linter contracts of our own (``make lint``): no module imports itself through others,
and modules kept apart (each test module) import none of each other.

import-linter's own ``acyclic_siblings`` compares whole packages; ``no_circles`` follows single
modules, so that a circle such as ``a -> b -> a`` is named with the lines that make it.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output


class NoCirclesContract(Contract):
    """No import circle between the modules of ``containers`` (imports for type checking only
    are left out when the configuration says ``exclude_type_checking_imports``)."""

    type_name = "no_circles"

    containers = fields.SetField(subfield=fields.StringField())

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        modules = sorted(
            m
            for m in graph.modules
            if any(m == c or m.startswith(c + ".") for c in self.containers)
        )
        circles = [sorted(circle) for circle in _circles(graph, modules)]
        lines: list[str] = []
        for circle in circles:
            members = set(circle)
            for importer in circle:
                for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                    if imported not in members:
                        continue
                    for detail in graph.get_import_details(importer=importer, imported=imported):
                        lines.append(
                            f"{importer}:{detail['line_number']} imports {imported}: "
                            f"{detail['line_contents']}"
                        )
        return ContractCheck(kept=not circles, metadata={"circles": circles, "lines": lines})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for circle in check.metadata["circles"]:
            output.print_error(f"Circle: {', '.join(circle)}")
        for line in check.metadata["lines"]:
            output.print(f"  {line}")
        output.new_line()


class ApartContract(Contract):
    """No module whose name matches ``modules`` (a pattern such as ``tests.test_*``) imports
    another that matches, directly or through any chain of modules; what they share lives
    elsewhere (``tests/support``)."""

    type_name = "apart"

    modules = fields.StringField()

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        apart = {m for m in graph.modules if fnmatchcase(m, self.modules)}
        chains: list[list[str]] = []
        for importer in sorted(apart):
            for imported in sorted(graph.find_upstream_modules(importer) & apart):
                chain = graph.find_shortest_chain(importer=importer, imported=imported)
                if chain:
                    chains.append(list(chain))
        lines = [_first_link(graph, chain) for chain in chains]
        return ContractCheck(kept=not chains, metadata={"chains": chains, "lines": lines})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for chain, line in zip(check.metadata["chains"], check.metadata["lines"], strict=True):
            output.print_error(f"{chain[0]} imports {chain[-1]}: {' -> '.join(chain)}")
            output.print(f"  {line}")
        output.new_line()


def _first_link(graph: ImportGraph, chain: list[str]) -> str:
    """Where the first module of ``chain`` imports the second, as ``module:line contents``."""
    importer, imported = chain[0], chain[1]
    details = graph.get_import_details(importer=importer, imported=imported)
    if not details:
        return f"{importer} imports {imported}"
    return f"{importer}:{details[0]['line_number']} {details[0]['line_contents']}"


def _circles(graph: ImportGraph, modules: list[str]) -> list[list[str]]:
    """The strongly connected groups of two or more modules (Tarjan's algorithm, iterative)."""
    inside = set(modules)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in modules:
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root) & inside)))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            advanced = False
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append(
                        (nxt, iter(sorted(graph.find_modules_directly_imported_by(nxt) & inside)))
                    )
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(group)
    return found
