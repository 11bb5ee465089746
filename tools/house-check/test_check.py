"""Self-test of house-check on tiny synthetic workspaces.

Run: python3 -m unittest discover -s tools/house-check -q
"""

import io
import os
import sys
import tempfile
import textwrap
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import check  # noqa: E402
from rust_items import parse_rust  # noqa: E402


def body_lines(count):
    return "".join(f"    let x{i} = {i};\n" for i in range(count))


class Workspace:
    """A temporary Cargo workspace with crates under crates/."""

    def __init__(self, test):
        self._dir = tempfile.TemporaryDirectory()
        test.addCleanup(self._dir.cleanup)
        self.root = self._dir.name
        self.write("Cargo.toml", '[workspace]\nmembers = ["crates/*"]\n')
        self.exceptions = os.path.join(self.root, "exceptions.txt")

    def write(self, path, text):
        full = os.path.join(self.root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(textwrap.dedent(text))

    def crate(self, name, files):
        self.write(f"crates/{name}/Cargo.toml", f'[package]\nname = "{name}"\nversion = "0.1.0"\n')
        for path, text in files.items():
            self.write(f"crates/{name}/src/{path}", text)

    def run(self, *extra):
        out = io.StringIO()
        code = check.main(["--root", self.root, "--exceptions", self.exceptions, *extra], out=out)
        return code, out.getvalue()


class LongFunctions(unittest.TestCase):
    def test_a_function_over_80_lines_fails_and_one_of_80_passes(self):
        ws = Workspace(self)
        long_fn = "pub fn long() {\n" + body_lines(80) + "}\n"  # 82 lines
        ok_fn = "pub fn fits() {\n" + body_lines(78) + "}\n"  # 80 lines
        ws.crate("a", {"lib.rs": long_fn + ok_fn})
        code, out = ws.run()
        self.assertEqual(code, 1)
        self.assertIn("crates/a/src/lib.rs:1: fn long is 82 lines (limit 80)", out)
        self.assertNotIn("fits", out)
        self.assertIn("fns > 80 lines: 1;", out)

    def test_methods_and_nested_functions_are_named_by_their_place(self):
        source = (
            "struct Sim;\nimpl<'a> Sim {\n    fn new() -> Sim {\n        fn helper() {\n"
            + body_lines(85)
            + "        }\n        Sim\n    }\n}\n"
        )
        names = {f.name: f.end_line - f.line + 1 for f in parse_rust(source).functions}
        self.assertEqual(names, {"Sim::new": 90, "Sim::new::helper": 87})

    def test_test_code_does_not_count(self):
        ws = Workspace(self)
        tests_block = "#[cfg(test)]\nmod tests {\n    fn long() {\n" + body_lines(500) + "    }\n}\n"
        ws.crate(
            "a",
            {
                "lib.rs": "mod big;\npub fn small() {}\n" + tests_block,
                "big.rs": "pub fn f() {}\n#[cfg(test)]\nmod tests;\n",
                "big/tests.rs": "fn long() {\n" + body_lines(500) + "}\n",
            },
        )
        code, out = ws.run()
        self.assertEqual(code, 0, out)
        self.assertIn("3 files scanned (1 test-only)", out)


class BracesInLiterals(unittest.TestCase):
    SOURCE = textwrap.dedent(
        """\
        fn tricky<'a>(s: &'a str) -> char {
            let open = "{ \\" {";
            let raw = r#"}" } "#;
            let bytes = br##"}"#}"##;
            let c = '{';
            let escaped = '\\'';
            let close = b'}';
            // }
            /* { /* nested } */ } */
            'label: loop { break 'label; }
            '}'
        }
        fn after() {}
        """
    )

    def test_literals_comments_and_lifetimes_do_not_move_the_closing_brace(self):
        found = {f.name: (f.line, f.end_line) for f in parse_rust(self.SOURCE).functions}
        self.assertEqual(found, {"tricky": (1, 12), "after": (13, 13)})


class Cycles(unittest.TestCase):
    def test_a_child_using_an_item_its_parent_defines_is_a_cycle(self):
        ws = Workspace(self)
        ws.crate(
            "a",
            {
                "lib.rs": "mod ci;\n",
                "ci/mod.rs": "mod jenkins;\npub struct Shared;\npub fn go() { jenkins::run(); }\n",
                "ci/jenkins.rs": "use super::Shared;\npub fn run() -> Option<Shared> { None }\n",
            },
        )
        code, out = ws.run()
        self.assertEqual(code, 1)
        self.assertIn(
            "crates/a/src/ci/jenkins.rs:1: import cycle among 2 modules: "
            "crates/a/src/ci/jenkins.rs, crates/a/src/ci/mod.rs",
            out,
        )
        self.assertIn(
            "crates/a/src/ci/mod.rs:3: crates/a/src/ci/mod.rs -> crates/a/src/ci/jenkins.rs", out
        )

    def test_glob_import_of_the_parent_counts_when_its_items_are_used(self):
        ws = Workspace(self)
        ws.crate(
            "a",
            {
                "lib.rs": "mod child;\npub struct Shared;\n",
                "child.rs": "use super::*;\npub fn f(_: Shared) {}\n",
            },
        )
        code, out = ws.run()
        self.assertEqual(code, 1)
        self.assertIn("import cycles: 1", out)

    def test_a_parent_re_exporting_its_children_is_not_a_cycle(self):
        ws = Workspace(self)
        ws.crate(
            "a",
            {
                "lib.rs": "pub mod ci;\nuse crate::ci::Thing;\npub fn f(_: Thing) {}\n",
                "ci/mod.rs": "mod a;\nmod b;\npub use a::Thing;\npub use b::use_it;\n",
                "ci/a.rs": "pub struct Thing;\n",
                "ci/b.rs": "use super::Thing;\npub fn use_it(_: crate::ci::Thing) {}\n",
            },
        )
        code, out = ws.run()
        self.assertEqual(code, 0, out)
        self.assertIn("import cycles: 0", out)

    def test_a_cycle_through_crate_paths_in_expressions(self):
        ws = Workspace(self)
        ws.crate(
            "a",
            {
                "lib.rs": "mod state;\nmod builds;\n",
                "state.rs": "pub struct S { pub b: Vec<crate::builds::B> }\n",
                "builds.rs": "pub struct B;\npub fn next(s: &crate::state::S) -> usize { s.b.len() }\n",
            },
        )
        code, out = ws.run()
        self.assertIn("import cycle among 2 modules: crates/a/src/builds.rs, crates/a/src/state.rs", out)


class Exceptions(unittest.TestCase):
    def setUp(self):
        self.ws = Workspace(self)
        long_fn = "pub fn long() {\n" + body_lines(100) + "}\n"
        self.ws.crate("a", {"lib.rs": long_fn + "\n" * 400})

    def test_listed_items_are_excepted_and_do_not_fail(self):
        self.ws.write(
            "exceptions.txt",
            "# item  why\n"
            "crates/a/src/lib.rs  generated table, split in issue 99\n"
            "crates/a/src/lib.rs::long  one match over every variant\n",
        )
        code, out = self.ws.run()
        self.assertEqual(code, 0, out)
        self.assertIn(
            "crates/a/src/lib.rs:1: excepted: fn long is 102 lines (limit 80) "
            "(one match over every variant)",
            out,
        )
        self.assertIn("fns > 80 lines: 0 (+1 excepted)", out)

    def test_unlisted_findings_fail_and_report_mode_exits_zero(self):
        self.ws.write("exceptions.txt", "crates/a/src/lib.rs::long  one match\n")
        code, out = self.ws.run()
        self.assertEqual(code, 1)
        self.assertIn("crates/a/src/lib.rs:1: file has 502 non-test lines (limit 400)", out)
        code, _ = self.ws.run("--report")
        self.assertEqual(code, 0)

    def test_an_exception_needs_a_justification(self):
        self.ws.write(
            "exceptions.txt", "crates/a/src/lib.rs::long\ncrates/a/src/lib.rs  big\n"
        )
        code, out = self.ws.run()
        self.assertEqual(code, 1)
        self.assertIn("exception for crates/a/src/lib.rs::long has no justification", out)

    def test_stale_exceptions_are_pointed_out(self):
        self.ws.write(
            "exceptions.txt",
            "crates/a/src/lib.rs  big\ncrates/a/src/lib.rs::long  long\ncrates/a/src/gone.rs  old\n",
        )
        code, out = self.ws.run()
        self.assertEqual(code, 0, out)
        self.assertIn("crates/a/src/gone.rs, which no longer needs an exception", out)


if __name__ == "__main__":
    unittest.main()
