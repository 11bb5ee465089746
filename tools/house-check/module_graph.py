"""A crate's module tree, the dependency edges between its modules, and the cycles.

A module depends on another when its non-test code names a path into it. A path
into an ancestor counts only when it names an item the ancestor defines itself: a
name the ancestor merely re-exports (`pub use child::X`) or imports leads on to
where it is defined, and a child module's name leads into the child.
"""

import os
from dataclasses import dataclass, field

_EXTERNAL = ("<external>", None)


@dataclass
class Module:
    id: str
    file: str
    scope: object
    parent: str
    children: dict = field(default_factory=dict)


@dataclass
class Edge:
    source: str
    target: str
    file: str
    line: int


class ModuleTree:
    """The modules reachable from one crate root (lib.rs, main.rs, a bin)."""

    def __init__(self, root_file, parse, is_test_file):
        """`parse(path)` gives a RustFile; `is_test_file(path, bool)` is told, for
        every file reached, whether it was reached as test-only code."""
        self.modules = {}
        self._test_files = set()
        self.root = root_file
        self._parse = parse
        self._report_file = is_test_file
        self._add_file(root_file, None, os.path.dirname(root_file), False)

    def _add_file(self, path, parent, child_dir, is_test):
        rust_file = self._parse(path)
        is_test = is_test or rust_file.whole_file_is_test
        self._report_file(path, is_test)
        if path in self.modules or path in self._test_files:
            return
        if is_test:
            self._test_files.add(path)
            self._mark_test_descendants(path, rust_file, child_dir)
            return
        self._add_scope(path, rust_file, 0, path, parent, child_dir)

    def _mark_test_descendants(self, path, rust_file, child_dir):
        """A test module's own `mod x;` files are test code too."""
        for scope_index, scope in enumerate(rust_file.scopes):
            for decl in scope.children:
                child_file = None
                if scope_index == 0 and decl.inline_scope is None:
                    child_file = _child_file(path, 0, child_dir, decl)
                if child_file:
                    self._add_file(child_file, None, _dir_of_children(child_file, decl), True)

    def _add_scope(self, path, rust_file, scope_index, module_id, parent, child_dir):
        scope = rust_file.scopes[scope_index]
        module = Module(module_id, path, scope, parent)
        self.modules[module_id] = module
        for decl in scope.children:
            if decl.inline_scope is not None:
                child_id = f"{module_id}::{decl.name}"
                module.children[decl.name] = child_id
                inner_dir = os.path.join(child_dir, decl.name)
                self._add_scope(path, rust_file, decl.inline_scope, child_id, module_id, inner_dir)
                continue
            child_file = _child_file(path, scope_index, child_dir, decl)
            if child_file is None:
                continue
            if not decl.is_test:
                module.children[decl.name] = child_file
            self._add_file(child_file, module_id, _dir_of_children(child_file, decl), decl.is_test)

    def is_ancestor(self, ancestor, module_id):
        parent = self.modules[module_id].parent
        while parent is not None:
            if parent == ancestor:
                return True
            parent = self.modules[parent].parent
        return False


def _child_file(path, scope_index, child_dir, decl):
    if decl.path_attr:
        base = os.path.dirname(path) if scope_index == 0 else child_dir
        candidate = os.path.normpath(os.path.join(base, decl.path_attr))
        return candidate if os.path.isfile(candidate) else None
    for candidate in (
        os.path.join(child_dir, decl.name + ".rs"),
        os.path.join(child_dir, decl.name, "mod.rs"),
    ):
        if os.path.isfile(candidate):
            return candidate
    return None


def _dir_of_children(path, decl):
    """Where `mod x;` inside `path` looks for x: beside a mod.rs (or a #[path] file),
    in foo/ for foo.rs."""
    if decl.path_attr or os.path.basename(path) == "mod.rs":
        return os.path.dirname(path)
    return os.path.splitext(path)[0]


class _Resolver:
    """Resolves paths named in one tree's modules to (defining module, item)."""

    def __init__(self, tree):
        self.tree = tree
        self._memo = {}

    def lookup(self, module_id, name):
        """What `name` means inside module_id: a child module, an item it defines, or
        where an import of that name leads. None when it is not known here."""
        key = (module_id, name)
        if key in self._memo:
            return self._memo[key]
        self._memo[key] = None  # a re-export loop resolves to nothing
        self._memo[key] = self._lookup_uncached(module_id, name)
        return self._memo[key]

    def _lookup_uncached(self, module_id, name):
        module = self.tree.modules[module_id]
        if name in module.children:
            return (module.children[name], None)
        if name in module.scope.own_items:
            return (module_id, name)
        for use in module.scope.uses:
            if not use.glob and use.alias == name:
                return self.resolve(module_id, use.segments) or _EXTERNAL
        for use in module.scope.uses:
            if use.glob:
                found = self._through_glob(module_id, use, name)
                if found:
                    return found
        return None

    def _through_glob(self, module_id, use, name):
        target = self.resolve(module_id, use.segments)
        if not target or target is _EXTERNAL or target[1] is not None:
            return None
        if target[0] == module_id:
            return None
        return self.lookup(target[0], name)

    def resolve(self, module_id, segments):
        """(module, item) a path leads to; item None when it names a module itself;
        None for paths outside the crate (std, other crates, local names)."""
        if not segments or segments[0] == "::":
            return None
        first = segments[0]
        if first in ("crate", "$crate"):
            return self._walk(self.tree.root, segments[1:])
        if first == "self":
            return self._walk(module_id, segments[1:])
        if first == "super":
            current, i = module_id, 0
            while i < len(segments) and segments[i] == "super":
                current = self.tree.modules[current].parent
                if current is None:
                    return None
                i += 1
            return self._walk(current, segments[i:])
        found = self.lookup(module_id, first)
        if found is None or found is _EXTERNAL or found[1] is not None:
            return found
        return self._walk(found[0], segments[1:])

    def _walk(self, current, rest):
        for name in rest:
            found = self.lookup(current, name)
            if found is None:
                return (current, name)  # the deepest module that exists
            if found is _EXTERNAL or found[1] is not None:
                return found
            current = found[0]
        return (current, None)


def tree_edges(tree):
    """Every dependency edge between the tree's modules, one example each."""
    resolver = _Resolver(tree)
    edges = {}

    def add(source, found, line):
        if not found or found is _EXTERNAL:
            return
        target, item = found
        if target == source or target not in tree.modules:
            return
        if item is None and tree.is_ancestor(target, source):
            return
        key = (source, target)
        if key not in edges:
            edges[key] = Edge(source, target, tree.modules[source].file, line)

    for module_id, module in tree.modules.items():
        scope = module.scope
        for use in scope.uses:
            if use.glob:
                _glob_edges(resolver, module, use, add)
            else:
                add(module_id, resolver.resolve(module_id, use.segments), use.line)
        for segments, line in scope.paths:
            add(module_id, resolver.resolve(module_id, segments), line)
        # Last, so an edge's example is a real use when there is one.
        for decl in scope.children:
            if decl.name in module.children:
                add(module_id, (module.children[decl.name], None), decl.line)
    return list(edges.values())


def _glob_edges(resolver, module, use, add):
    """`use x::*` depends on x for each name the module's code actually uses from it."""
    known_here = set(module.children) | set(module.scope.own_items)
    known_here |= {u.alias for u in module.scope.uses if not u.glob}
    for name in sorted(module.scope.idents - known_here):
        found = resolver._through_glob(module.id, use, name)
        add(module.id, found, use.line)


def strongly_connected(nodes, edges):
    """Tarjan's algorithm, iteratively; components of more than one node."""
    graph = {n: [] for n in nodes}
    for edge in edges:
        graph[edge.source].append(edge.target)
    index, low, on_stack, stack, result, counter = {}, {}, set(), [], [], [0]

    def visit(start):
        work = [(start, iter(graph[start]))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = counter[0]
                    counter[0] += 1
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(graph[succ])))
                    advanced = True
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    result.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return result
