"""The import-linter contract that no module imports itself through others (``make lint``).

import-linter's own ``acyclic_siblings`` compares whole packages; this one follows single modules,
so that a circle such as ``a -> b -> a`` is named with the lines that make it.
"""

from __future__ import annotations

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
