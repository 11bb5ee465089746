#!/usr/bin/env python3
"""house-check: does the workspace keep its shape?

Over every workspace crate's src/, outside #[cfg(test)] code: files over 400
lines, functions over 80 lines, and import cycles between a crate's modules.
Items named in exceptions.txt are reported as excepted and do not fail the check.
Exit 1 when anything else is found (0 with --report). See README.md.
"""

import argparse
import glob
import os
import re
import sys
from dataclasses import dataclass, field

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from module_graph import ModuleTree, strongly_connected, tree_edges  # noqa: E402
from rust_items import parse_rust  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


@dataclass
class Finding:
    kind: str  # "file", "fn" or "cycle"
    path: str
    line: int
    message: str
    key: str = None  # what an exceptions.txt line names to except it
    details: list = field(default_factory=list)
    excepted_because: str = None


# -- the workspace --------------------------------------------------------------


def _read_manifest(path):
    with open(path, "rb") as f:
        data = f.read()
    try:
        import tomllib

        return tomllib.loads(data.decode())
    except ImportError:  # Python < 3.11: the two keys needed, read by hand
        text = data.decode()

        def array(key):
            m = re.search(rf"^\s*{key}\s*=\s*\[(.*?)\]", text, re.M | re.S)
            return re.findall(r'"([^"]+)"', m.group(1)) if m else []

        return {"workspace": {"members": array("members"), "exclude": array("exclude")}}


def workspace_crates(root):
    """Directories of the workspace's member crates, from the root Cargo.toml."""
    workspace = _read_manifest(os.path.join(root, "Cargo.toml")).get("workspace", {})
    excluded = {os.path.normpath(os.path.join(root, p)) for p in workspace.get("exclude", [])}
    crates = []
    for member in workspace.get("members", []):
        for path in sorted(glob.glob(os.path.join(root, member))):
            path = os.path.normpath(path)
            if path not in excluded and os.path.isfile(os.path.join(path, "Cargo.toml")):
                crates.append(path)
    return sorted(set(crates))


def crate_roots(crate):
    """The crate's lib and bin root files."""
    manifest = _read_manifest(os.path.join(crate, "Cargo.toml"))
    candidates = [manifest.get("lib", {}).get("path", "src/lib.rs"), "src/main.rs"]
    candidates += [b["path"] for b in manifest.get("bin", []) if "path" in b]
    candidates += glob.glob(os.path.join(crate, "src/bin/*.rs"))
    candidates += glob.glob(os.path.join(crate, "src/bin/*/main.rs"))
    roots = {os.path.normpath(os.path.join(crate, c)) for c in candidates}
    return sorted(r for r in roots if os.path.isfile(r))


def source_files(crate):
    """Every .rs file under the crate's src/ (tests/, benches/ and target/ live
    beside src/, so they are never walked)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(os.path.join(crate, "src")):
        dirnames[:] = sorted(d for d in dirnames if d != "target")
        found += [os.path.join(dirpath, f) for f in sorted(filenames) if f.endswith(".rs")]
    return found


# -- the checks -----------------------------------------------------------------


class Scan:
    def __init__(self, root, max_file_lines, max_fn_lines):
        self.root = root
        self.max_file_lines = max_file_lines
        self.max_fn_lines = max_fn_lines
        self._parsed = {}
        self._reached_as_production = {}
        self.findings = []
        self.files_scanned = 0
        self.test_only_files = 0

    def rel(self, path):
        return os.path.relpath(path, self.root)

    def parse(self, path):
        if path not in self._parsed:
            with open(path, encoding="utf-8", errors="replace") as f:
                self._parsed[path] = parse_rust(f.read())
        return self._parsed[path]

    def note_reached(self, path, is_test):
        self._reached_as_production[path] = self._reached_as_production.get(path, False) or not is_test

    def run(self):
        trees = []
        for crate in workspace_crates(self.root):
            for root_file in crate_roots(crate):
                trees.append(ModuleTree(root_file, self.parse, self.note_reached))
            for path in source_files(crate):
                self.check_file(path)
        seen_cycles = set()
        for tree in trees:
            self.check_cycles(tree, seen_cycles)
        return self

    def check_file(self, path):
        self.files_scanned += 1
        rust_file = self.parse(path)
        if not self._reached_as_production.get(path, True) or rust_file.whole_file_is_test:
            self.test_only_files += 1
            return
        rel = self.rel(path)
        lines = rust_file.non_test_lines
        if lines > self.max_file_lines:
            message = f"file has {lines} non-test lines (limit {self.max_file_lines})"
            self.findings.append(Finding("file", rel, 1, message, key=rel))
        for fn in rust_file.functions:
            if any(line in rust_file.test_lines for line in (fn.line, fn.end_line)):
                continue
            length = fn.end_line - fn.line + 1
            if length > self.max_fn_lines:
                message = f"fn {fn.name} is {length} lines (limit {self.max_fn_lines})"
                self.findings.append(Finding("fn", rel, fn.line, message, key=f"{rel}::{fn.name}"))

    def module_name(self, module_id):
        path, _, inline = module_id.partition("::")
        return self.rel(path) + (f"::{inline}" if inline else "")

    def check_cycles(self, tree, seen_cycles):
        edges = tree_edges(tree)
        for component in strongly_connected(list(tree.modules), edges):
            names = [self.module_name(m) for m in component]
            if frozenset(names) in seen_cycles:
                continue
            seen_cycles.add(frozenset(names))
            members = set(component)
            inside = sorted(
                (e for e in edges if e.source in members and e.target in members),
                key=lambda e: (self.module_name(e.source), self.module_name(e.target)),
            )
            self.findings.append(self._cycle_finding(names, inside))

    def _cycle_finding(self, names, edges):
        details = []
        for edge in edges:
            source_line = self.parse(edge.file).lines[edge.line - 1].strip()
            arrow = f"{self.module_name(edge.source)} -> {self.module_name(edge.target)}"
            details.append(f"{self.rel(edge.file)}:{edge.line}: {arrow}: {source_line}")
        first = edges[0]
        message = f"import cycle among {len(names)} modules: {', '.join(names)}"
        return Finding("cycle", self.rel(first.file), first.line, message, details=details)


# -- exceptions and the report --------------------------------------------------


def load_exceptions(path):
    """{item: justification} and the problems found in the file itself."""
    exceptions, problems = {}, []
    if not os.path.isfile(path):
        return exceptions, problems
    with open(path, encoding="utf-8") as f:
        for number, raw in enumerate(f, start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            item, _, why = line.partition(" ")
            if not why.strip():
                problems.append(f"{path}:{number}: exception for {item} has no justification")
                continue
            exceptions[item] = why.strip()
    return exceptions, problems


def apply_exceptions(findings, exceptions):
    """Marks excepted findings; returns the exception items nothing matched."""
    used = set()
    for finding in findings:
        if finding.key in exceptions:
            finding.excepted_because = exceptions[finding.key]
            used.add(finding.key)
    return sorted(set(exceptions) - used)


def print_report(scan, problems, unused, out):
    order = {"file": 0, "fn": 1, "cycle": 2}
    for f in sorted(scan.findings, key=lambda f: (order[f.kind], f.path, f.line)):
        if f.excepted_because:
            print(f"{f.path}:{f.line}: excepted: {f.message} ({f.excepted_because})", file=out)
        else:
            print(f"{f.path}:{f.line}: {f.message}", file=out)
        for detail in f.details:
            print(f"    {detail}", file=out)
    for problem in problems:
        print(problem, file=out)
    for item in unused:
        print(f"warning: exceptions.txt names {item}, which no longer needs an exception", file=out)

    def count(kind):
        total = [f for f in scan.findings if f.kind == kind]
        excepted = sum(1 for f in total if f.excepted_because)
        return f"{len(total) - excepted}" + (f" (+{excepted} excepted)" if excepted else "")

    print(
        f"house-check: {scan.files_scanned} files scanned "
        f"({scan.test_only_files} test-only); "
        f"files > {scan.max_file_lines} lines: {count('file')}; "
        f"fns > {scan.max_fn_lines} lines: {count('fn')}; "
        f"import cycles: {count('cycle')}",
        file=out,
    )


def main(argv=None, out=sys.stdout):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", action="store_true", help="print all findings, exit 0")
    parser.add_argument("--root", default=os.path.dirname(os.path.dirname(HERE)),
                        help="workspace root (default: the repository this script is in)")
    parser.add_argument("--exceptions", help="default: exceptions.txt beside this script")
    parser.add_argument("--max-file-lines", type=int, default=400)
    parser.add_argument("--max-fn-lines", type=int, default=80)
    args = parser.parse_args(argv)

    root = os.path.abspath(args.root)
    exceptions_path = args.exceptions or os.path.join(HERE, "exceptions.txt")
    exceptions, problems = load_exceptions(exceptions_path)
    scan = Scan(root, args.max_file_lines, args.max_fn_lines).run()
    unused = apply_exceptions(scan.findings, exceptions)
    print_report(scan, problems, unused, out)
    failing = problems or any(not f.excepted_because for f in scan.findings)
    if failing and not args.report:
        print("house-check: FAILED (run with --report to see the state without failing)", file=out)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
