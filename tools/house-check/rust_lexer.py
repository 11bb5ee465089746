"""A Rust tokenizer just good enough to count braces and read paths.

Comments vanish; strings, raw strings, byte strings and char literals become one
token each, so the braces inside them never reach the brace matcher. A quote
starts a lifetime (or loop label) unless the character after next closes it.
"""

import re
from dataclasses import dataclass

IDENT = "ident"
LIFETIME = "lifetime"
LITERAL = "literal"
PUNCT = "punct"

# Punctuation that has to stay one token: `::` joins paths, `->` must not be read
# as a closing angle bracket.
_TWO_CHAR_PUNCT = ("::", "->", "=>")
_WHITESPACE = re.compile(r"\s+")
_IDENTIFIER = re.compile(r"(?:r#)?[^\W\d]\w*")
_NUMBER = re.compile(r"\d\w*(?:\.\d\w*)?")


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    line: int
    end_line: int


def _is_ident_start(ch):
    return ch.isalpha() or ch == "_"


def _is_ident_char(ch):
    return ch.isalnum() or ch == "_"


class _Scanner:
    def __init__(self, text):
        self.text = text
        self.pos = 0
        self.line = 1
        self.tokens = []

    def peek(self, offset=0):
        i = self.pos + offset
        return self.text[i] if i < len(self.text) else ""

    def advance_to(self, end):
        self.line += self.text.count("\n", self.pos, end)
        self.pos = end

    def emit(self, kind, end):
        start_line = self.line
        token_text = self.text[self.pos : end]
        self.advance_to(end)
        self.tokens.append(Token(kind, token_text, start_line, self.line))

    def scan(self):
        while self.pos < len(self.text):
            ch = self.peek()
            if ch.isspace():
                self.advance_to(_WHITESPACE.match(self.text, self.pos).end())
            elif ch == "/" and self.peek(1) == "/":
                end = self.text.find("\n", self.pos)
                self.advance_to(len(self.text) if end < 0 else end)
            elif ch == "/" and self.peek(1) == "*":
                self.advance_to(self._block_comment_end())
            elif ch in "bcr" and self._literal_prefix_len() is not None:
                self.emit(LITERAL, self._prefixed_literal_end())
            elif ch == '"':
                self.emit(LITERAL, self._quoted_end(self.pos, '"'))
            elif ch == "'":
                self._quote()
            elif _is_ident_start(ch) or (ch == "r" and self.peek(1) == "#"):
                self.emit(IDENT, self._match_end(_IDENTIFIER))
            elif ch.isdigit():
                self.emit(LITERAL, self._match_end(_NUMBER))
            else:
                pair = self.text[self.pos : self.pos + 2]
                self.emit(PUNCT, self.pos + (2 if pair in _TWO_CHAR_PUNCT else 1))
        return self.tokens

    def _block_comment_end(self):
        depth, i = 0, self.pos
        while i < len(self.text):
            pair = self.text[i : i + 2]
            if pair == "/*":
                depth, i = depth + 1, i + 2
            elif pair == "*/":
                depth, i = depth - 1, i + 2
                if depth == 0:
                    return i
            else:
                i += 1
        return len(self.text)

    def _literal_prefix_len(self):
        """Length of a string/char prefix (b, br, r, r#, c, cr) at pos, or None."""
        if self.pos > 0 and _is_ident_char(self.text[self.pos - 1]):
            return None
        rest = self.text[self.pos : self.pos + 3]
        for prefix in ("br", "cr", "b", "c", "r"):
            if not rest.startswith(prefix):
                continue
            after = self.peek(len(prefix))
            raw = prefix.endswith("r")
            if after == '"' or (raw and after == "#" and self._raw_hashes_then_quote(len(prefix))):
                return len(prefix)
            if prefix == "b" and after == "'":
                return 1
        return None

    def _raw_hashes_then_quote(self, offset):
        i = self.pos + offset
        while i < len(self.text) and self.text[i] == "#":
            i += 1
        return i < len(self.text) and self.text[i] == '"'

    def _prefixed_literal_end(self):
        prefix_len = self._literal_prefix_len()
        start = self.pos + prefix_len
        if self.text[self.pos + prefix_len - 1] == "r":
            hashes = 0
            while self.text[start + hashes] == "#":
                hashes += 1
            closing = '"' + "#" * hashes
            end = self.text.find(closing, start + hashes + 1)
            return len(self.text) if end < 0 else end + len(closing)
        return self._quoted_end(start, self.text[start])

    def _quoted_end(self, start, quote):
        i = start + 1
        while i < len(self.text):
            if self.text[i] == "\\":
                i += 2
            elif self.text[i] == quote:
                return i + 1
            else:
                i += 1
        return len(self.text)

    def _quote(self):
        """A char literal ('{', '\\n', '\\u{7b}') or a lifetime/label ('a, 'static)."""
        if self.peek(1) == "\\" or (self.peek(1) and self.peek(2) == "'"):
            self.emit(LITERAL, self._quoted_end(self.pos, "'"))
            return
        end = self.pos + 1
        while end < len(self.text) and _is_ident_char(self.text[end]):
            end += 1
        self.emit(LIFETIME, max(end, self.pos + 1))

    def _match_end(self, pattern):
        found = pattern.match(self.text, self.pos)
        return found.end() if found else self.pos + 1


def tokenize(text):
    """The tokens of Rust source `text`, comments dropped."""
    return _Scanner(text).scan()


def match_brackets(tokens):
    """Map from each opening bracket's index to its closing one's (and back).

    Unbalanced brackets (a lexer miss) are left out rather than raising, so one
    odd file cannot stop the whole check.
    """
    pairs = {"}": "{", ")": "(", "]": "["}
    stack, matches = [], {}
    for i, tok in enumerate(tokens):
        if tok.kind != PUNCT:
            continue
        if tok.text in "{([":
            stack.append(i)
        elif tok.text in pairs:
            while stack and tokens[stack[-1]].text != pairs[tok.text]:
                stack.pop()
            if stack:
                opener = stack.pop()
                matches[opener] = i
                matches[i] = opener
    return matches
