"""What one Rust file holds: its test-only items, its functions, and per module
scope (the file itself and each inline `mod x { }`) the child modules it declares,
the items it defines itself, its `use` declarations and the paths its code names.
"""

from dataclasses import dataclass, field

from rust_lexer import IDENT, PUNCT, match_brackets, tokenize

# Items whose name a path can reach: what a module "itself defines".
_NAMED_ITEMS = ("fn", "struct", "enum", "union", "trait", "type", "const", "static")
# Items ended by `;` even when a `{ }` (a struct literal, a block) comes first.
_SEMICOLON_ITEMS = ("const", "static", "let", "use", "type")
_ITEM_POSITION_BEFORE = (None, ";", "{", "}", "]", "unsafe", "default")
_QUALIFIERS = ("pub", "unsafe", "async", "extern", "default")


@dataclass
class Function:
    name: str
    line: int
    end_line: int


@dataclass
class UseEntry:
    segments: list
    alias: str
    glob: bool
    line: int


@dataclass
class ChildDecl:
    name: str
    line: int
    inline_scope: int = None
    path_attr: str = None
    is_test: bool = False


@dataclass
class Scope:
    name: str
    parent: int
    line: int
    children: list = field(default_factory=list)
    own_items: dict = field(default_factory=dict)
    uses: list = field(default_factory=list)
    paths: list = field(default_factory=list)
    idents: set = field(default_factory=set)


@dataclass
class RustFile:
    lines: list
    total_lines: int
    test_lines: set
    whole_file_is_test: bool
    functions: list
    scopes: list

    @property
    def non_test_lines(self):
        return 0 if self.whole_file_is_test else self.total_lines - len(self.test_lines)


@dataclass
class _Frame:
    kind: str
    name: str
    scope: int


def _text(tokens, i):
    return tokens[i].text if 0 <= i < len(tokens) else None


def _is(tokens, i, text):
    return 0 <= i < len(tokens) and tokens[i].text == text and tokens[i].kind == PUNCT


def _ident(tokens, i):
    return 0 <= i < len(tokens) and tokens[i].kind == IDENT


def _cfg_is_test_only(tokens, i, end):
    """Whether the cfg predicate tokens[i:end] hold only under `cfg(test)`."""
    if _text(tokens, i) == "test" and i + 1 >= end:
        return True
    op = _text(tokens, i)
    if op not in ("all", "any") or not _is(tokens, i + 1, "("):
        return False
    args, depth, start = [], 0, i + 2
    for j in range(i + 2, end):
        t = tokens[j].text
        if t == "(":
            depth += 1
        elif t == ")":
            if depth == 0:
                args.append((start, j))
                break
            depth -= 1
        elif t == "," and depth == 0:
            args.append((start, j))
            start = j + 1
    results = [_cfg_is_test_only(tokens, a, b) for a, b in args if a < b]
    return any(results) if op == "all" else bool(results) and all(results)


class _Attribute:
    def __init__(self, tokens, start, end):
        self.inner = _is(tokens, start + 1, "!")
        body = start + (3 if self.inner else 2)
        path, j = [], body
        while _ident(tokens, j):
            path.append(tokens[j].text)
            j += 2 if _is(tokens, j + 1, "::") else 1
        if path == ["cfg"] and _is(tokens, j, "("):
            self.is_test = _cfg_is_test_only(tokens, j + 1, end - 1)
        else:
            self.is_test = bool(path) and path[-1] == "test"
        self.path_value = None
        if _text(tokens, body) == "path" and _is(tokens, body + 1, "="):
            self.path_value = tokens[body + 2].text.strip('"')


class _FileParser:
    def __init__(self, text):
        self.tokens = tokenize(text)
        self.matches = match_brackets(self.tokens)
        self.lines = text.splitlines()
        self.test_lines = set()
        self.whole_file_is_test = False
        self.functions = []
        self.scopes = [Scope(None, None, 1)]
        self.labels = {}
        self.stack = [_Frame("scope", None, 0)]

    def skip_group(self, i):
        """Index after the bracket group opening at i (or i + 1)."""
        return self.matches.get(i, i) + 1

    def body_open(self, i):
        """Index of the `{` that opens the body of the item whose header starts at i,
        or None when `;` (a declaration without body) comes first."""
        while i < len(self.tokens):
            t = self.tokens[i]
            if t.kind == PUNCT and t.text in "([":
                i = self.skip_group(i)
                continue
            if t.kind == PUNCT and t.text == "{":
                return i
            if t.kind == PUNCT and t.text in ";}":
                return None
            i += 1
        return None

    def item_end(self, i):
        """Index of the last token of the item starting at i."""
        kind = None
        while i < len(self.tokens):
            t = self.tokens[i]
            if kind is None and t.kind == IDENT and t.text not in _QUALIFIERS:
                kind = t.text
            if t.kind != PUNCT:
                i += 1
            elif t.text in "([" or (t.text == "{" and kind in _SEMICOLON_ITEMS):
                i = self.skip_group(i)
            elif t.text == "{":
                return self.matches.get(i, len(self.tokens) - 1)
            elif t.text in ";}":
                return i if t.text == ";" else i - 1
            else:
                i += 1
        return len(self.tokens) - 1

    def at_item_position(self, i):
        prev = _text(self.tokens, i - 1)
        return prev in _ITEM_POSITION_BEFORE or (prev == ")" and self._after_pub(i - 1))

    def _after_pub(self, close):
        opener = self.matches.get(close)
        return opener is not None and _text(self.tokens, opener - 1) == "pub"

    @property
    def scope(self):
        return self.scopes[self.stack[-1].scope]

    @property
    def at_scope_top(self):
        return self.stack[-1].kind in ("scope", "mod")

    def parse(self):
        i = 0
        while i < len(self.tokens):
            i = self.step(i)
        return RustFile(
            self.lines,
            len(self.lines),
            self.test_lines,
            self.whole_file_is_test,
            self.functions,
            self.scopes,
        )

    def step(self, i):
        t = self.tokens[i]
        if t.kind == PUNCT:
            return self.punct(i, t.text)
        if t.kind != IDENT:
            return i + 1
        self.scope.idents.add(t.text)
        word = t.text
        if word == "mod" and _ident(self.tokens, i + 1):
            return self.module_decl(i, None, False)
        if word == "use" and not _is(self.tokens, i + 1, "<"):
            return self.use_decl(i)
        if word == "fn" and _ident(self.tokens, i + 1):
            self.function(i)
        elif word == "impl" and self.at_item_position(i):
            self.impl_block(i)
        elif word == "trait" and _ident(self.tokens, i + 1):
            self.label_body(i, "trait", self.tokens[i + 1].text)
        if self.at_scope_top:
            self.own_item(i, word)
        if _is(self.tokens, i + 1, "::") and not _is(self.tokens, i - 1, "::"):
            return self.code_path(i)
        return i + 1

    def punct(self, i, text):
        if text == "#" and (_is(self.tokens, i + 1, "[") or _is(self.tokens, i + 1, "!")):
            return self.attributes(i)
        if text == "{":
            kind, name = self.labels.get(i, ("block", None))
            scope = self.stack[-1].scope
            if kind == "mod":
                scope = name
                name = self.scopes[scope].name
            self.stack.append(_Frame(kind, name, scope))
        elif text == "}" and len(self.stack) > 1:
            self.stack.pop()
        return i + 1

    def attributes(self, i):
        attrs, j = [], i
        while _is(self.tokens, j, "#"):
            open_idx = j + (2 if _is(self.tokens, j + 1, "!") else 1)
            if not _is(self.tokens, open_idx, "["):
                break
            end = self.skip_group(open_idx)
            attrs.append(_Attribute(self.tokens, j, end - 1))
            j = end
        if any(a.inner and a.is_test for a in attrs) and len(self.stack) == 1:
            self.whole_file_is_test = True
        if not any(a.is_test and not a.inner for a in attrs):
            path_attr = next((a.path_value for a in attrs if a.path_value), None)
            if path_attr and _text(self.tokens, self._skip_visibility(j)) == "mod":
                return self.module_decl(self._skip_visibility(j), path_attr, False)
            return j if j > i else i + 1
        end = self.item_end(j)
        self.test_lines.update(range(self.tokens[i].line, self.tokens[end].end_line + 1))
        mod_at = self._skip_visibility(j)
        if _text(self.tokens, mod_at) == "mod" and _ident(self.tokens, mod_at + 1):
            self.scope.children.append(
                ChildDecl(self.tokens[mod_at + 1].text, self.tokens[mod_at].line, is_test=True)
            )
        return end + 1

    def _skip_visibility(self, j):
        if _text(self.tokens, j) == "pub":
            j += 1
            if _is(self.tokens, j, "("):
                j = self.skip_group(j)
        return j

    def module_decl(self, i, path_attr, is_test):
        name = self.tokens[i + 1].text
        decl = ChildDecl(name, self.tokens[i].line, path_attr=path_attr, is_test=is_test)
        self.scope.children.append(decl)
        if _is(self.tokens, i + 2, "{"):
            decl.inline_scope = len(self.scopes)
            self.scopes.append(Scope(name, self.stack[-1].scope, self.tokens[i].line))
            self.labels[i + 2] = ("mod", decl.inline_scope)
        return i + 2

    def label_body(self, i, kind, name):
        body = self.body_open(i + 1)
        if body is not None:
            self.labels[body] = (kind, name)
        return body

    def function(self, i):
        name = self.tokens[i + 1].text
        body = self.label_body(i + 1, "fn", name)
        if body is None or body not in self.matches:
            return
        context = [f.name for f in self.stack if f.kind in ("impl", "trait", "fn", "mod")]
        end_line = self.tokens[self.matches[body]].line
        self.functions.append(Function("::".join(context + [name]), self.tokens[i].line, end_line))

    def impl_block(self, i):
        body = self.body_open(i + 1)
        if body is None:
            return
        self.labels[body] = ("impl", _impl_type_name(self.tokens, i + 1, body))

    def own_item(self, i, word):
        j = i + 1
        if word == "macro_rules" and _is(self.tokens, j, "!"):
            j += 1
        elif word not in _NAMED_ITEMS:
            return
        if word == "static" and _text(self.tokens, j) == "mut":
            j += 1
        if _ident(self.tokens, j) and self.tokens[j].text not in ("_", "fn"):
            self.scope.own_items.setdefault(self.tokens[j].text, self.tokens[i].line)

    def use_decl(self, i):
        entries, j = _parse_use_tree(self.tokens, i + 1, [])
        line = self.tokens[i].line
        for segments, alias, glob in entries:
            self.scope.uses.append(UseEntry(segments, alias, glob, line))
            self.scope.idents.update(s for s in segments if s != "::")
        return j + 1 if _is(self.tokens, j, ";") else j

    def code_path(self, i):
        segments, j = [self.tokens[i].text], i
        while _is(self.tokens, j + 1, "::") and _ident(self.tokens, j + 2):
            segments.append(self.tokens[j + 2].text)
            j += 2
        self.scope.idents.update(segments)
        if len(segments) > 1:
            self.scope.paths.append((segments, self.tokens[i].line))
        return j + 1


def _impl_type_name(tokens, start, body):
    """The implementing type's name: `Foo` in `impl<'a, T: X> Trait for a::Foo<'a> where ...`."""
    header, depth = [], 0
    for t in tokens[start:body]:
        if t.text == "<":
            depth += 1
        elif t.text == ">":
            depth -= 1
        elif depth == 0 and t.text == "for" and header:
            header = []
            continue
        elif depth == 0 and t.text == "where":
            break
        if depth == 0 and t.kind == IDENT and t.text not in ("dyn", "mut", "unsafe", "impl"):
            header.append(t.text)
    return header[-1] if header else "impl"


def _parse_use_tree(tokens, i, prefix):
    """Expand one use tree into (segments, alias, glob) entries; returns them and the
    index after the tree. `self` inside braces names the prefix itself; a leading
    `::` (an external crate) is kept as a `::` segment."""
    segments = list(prefix)
    if _is(tokens, i, "::"):
        segments.append("::")
        i += 1
    while _ident(tokens, i):
        segments.append(tokens[i].text)
        i += 1
        if not (_is(tokens, i, "::") and not _is(tokens, i + 1, "{") and not _is(tokens, i + 1, "*")):
            break
        i += 1
    if _is(tokens, i, "::"):
        i += 1
    if _is(tokens, i, "*"):
        return [(segments, None, True)], i + 1
    if _is(tokens, i, "{"):
        return _parse_use_group(tokens, i, segments)
    if segments and segments[-1] == "self":
        segments = segments[:-1]
    alias = segments[-1] if segments else None
    if _text(tokens, i) == "as" and _ident(tokens, i + 1):
        alias, i = tokens[i + 1].text, i + 2
    return [(segments, alias, False)], i


def _parse_use_group(tokens, i, segments):
    entries, j = [], i + 1
    while j < len(tokens) and not _is(tokens, j, "}"):
        sub, j = _parse_use_tree(tokens, j, segments)
        entries.extend(sub)
        if _is(tokens, j, ","):
            j += 1
        elif not _is(tokens, j, "}"):
            j += 1
    return entries, j + 1


def parse_rust(text):
    """Parse Rust source text into a RustFile."""
    return _FileParser(text).parse()
