//! Jenkins label expressions (`linux && (docker || podman) && !arm`).
//!
//! Jenkins decides which agents may run a job by evaluating the job's label expression
//! against each agent's labels; a pool in ci-fleet is defined the same way, so the
//! grammar and precedence here follow Jenkins' own parser: `<->` binds loosest, then
//! `->`, `||`, `&&`, and `!` tightest; binary operators associate to the left.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LabelExpr {
    Atom(String),
    Not(Box<LabelExpr>),
    And(Box<LabelExpr>, Box<LabelExpr>),
    Or(Box<LabelExpr>, Box<LabelExpr>),
    Implies(Box<LabelExpr>, Box<LabelExpr>),
    Iff(Box<LabelExpr>, Box<LabelExpr>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid label expression {expression:?}: {reason} at character {position}")]
pub struct LabelExprError {
    pub expression: String,
    pub reason: &'static str,
    pub position: usize,
}

impl LabelExpr {
    pub fn parse(source: &str) -> Result<LabelExpr, LabelExprError> {
        let tokens = tokenize(source)?;
        let mut parser = Parser {
            tokens: &tokens,
            next: 0,
            source,
        };
        let expr = parser.iff()?;
        match parser.peek() {
            None => Ok(expr),
            Some((position, _)) => Err(parser.error("unexpected token", *position)),
        }
    }

    /// True when an agent whose labels are answered by `has_label` may run this expression.
    pub fn matches(&self, has_label: impl Fn(&str) -> bool) -> bool {
        self.eval(&has_label)
    }

    fn eval(&self, has: &dyn Fn(&str) -> bool) -> bool {
        match self {
            LabelExpr::Atom(name) => has(name),
            LabelExpr::Not(inner) => !inner.eval(has),
            LabelExpr::And(a, b) => a.eval(has) && b.eval(has),
            LabelExpr::Or(a, b) => a.eval(has) || b.eval(has),
            LabelExpr::Implies(a, b) => !a.eval(has) || b.eval(has),
            LabelExpr::Iff(a, b) => a.eval(has) == b.eval(has),
        }
    }

    /// Atoms that appear outside any negation or implication premise: the labels an
    /// agent of this expression is expected to carry. Used to decide whether queued
    /// work belongs to a pool that has no agents yet (scale from zero).
    pub fn required_atoms(&self) -> Vec<&str> {
        let mut atoms = Vec::new();
        self.collect_positive(&mut atoms);
        atoms.sort_unstable();
        atoms.dedup();
        atoms
    }

    fn collect_positive<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            LabelExpr::Atom(name) => out.push(name),
            LabelExpr::And(a, b) | LabelExpr::Or(a, b) => {
                a.collect_positive(out);
                b.collect_positive(out);
            }
            LabelExpr::Implies(_, b) => b.collect_positive(out),
            LabelExpr::Not(_) | LabelExpr::Iff(_, _) => {}
        }
    }
}

impl fmt::Display for LabelExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn atom(f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
            // An empty label prints quoted: bare, it would print nothing, which does not parse.
            if !name.is_empty() && name.chars().all(is_plain_atom_char) && !name.contains("->") {
                f.write_str(name)
            } else {
                write!(f, "\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
            }
        }
        match self {
            LabelExpr::Atom(name) => atom(f, name),
            LabelExpr::Not(inner) => write!(f, "!{}", Paren(inner)),
            LabelExpr::And(a, b) => write!(f, "{}&&{}", Paren(a), Paren(b)),
            LabelExpr::Or(a, b) => write!(f, "{}||{}", Paren(a), Paren(b)),
            LabelExpr::Implies(a, b) => write!(f, "{}->{}", Paren(a), Paren(b)),
            LabelExpr::Iff(a, b) => write!(f, "{}<->{}", Paren(a), Paren(b)),
        }
    }
}

/// Parenthesises compound sub-expressions so `Display` output re-parses to the same tree.
struct Paren<'a>(&'a LabelExpr);

impl fmt::Display for Paren<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            LabelExpr::Atom(_) | LabelExpr::Not(_) => write!(f, "{}", self.0),
            other => write!(f, "({other})"),
        }
    }
}

/// Jenkins' own lexer: an atom is every character but `& | ! < > ( )`, white space and
/// quotes (`IDENTIFIER_PART`, core/src/main/antlr4/hudson/model/labels/LabelExpressionLexer.g4),
/// so `jdk=17` and `arch=arm64` are atoms; a `-` belongs to an atom unless it starts `->`.
fn is_plain_atom_char(c: char) -> bool {
    !c.is_whitespace() && !matches!(c, '&' | '|' | '!' | '(' | ')' | '"' | '\'' | '<' | '>')
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Atom(String),
    And,
    Or,
    Not,
    Implies,
    Iff,
    Open,
    Close,
}

fn tokenize(source: &str) -> Result<Vec<(usize, Token)>, LabelExprError> {
    let error = |reason, position| LabelExprError {
        expression: source.to_owned(),
        reason,
        position,
    };
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if let Some((token, length)) = operator(&chars, i) {
            tokens.push((i, token));
            i += length;
        } else if matches!(c, '&' | '|' | '<' | '>') {
            return Err(error("incomplete operator", i));
        } else if c == '"' {
            let (atom, end) =
                quoted(&chars, i).ok_or_else(|| error("unterminated quoted label", i))?;
            tokens.push((i, Token::Atom(atom)));
            i = end;
        } else {
            let start = i;
            let mut atom = String::new();
            // A '-' belongs to the atom ("linux-cpu") unless it starts "->".
            while i < chars.len()
                && is_plain_atom_char(chars[i])
                && !(chars[i] == '-' && rest_is(&chars, i + 1, '>'))
            {
                atom.push(chars[i]);
                i += 1;
            }
            if atom.is_empty() {
                return Err(error("unexpected character", i));
            }
            tokens.push((start, Token::Atom(atom)));
        }
    }
    Ok(tokens)
}

/// The operator or parenthesis at `i`, and how many characters it takes.
fn operator(chars: &[char], i: usize) -> Option<(Token, usize)> {
    let next = |n: usize| chars.get(i + n).copied();
    Some(match (chars[i], next(1), next(2)) {
        ('(', _, _) => (Token::Open, 1),
        (')', _, _) => (Token::Close, 1),
        ('!', _, _) => (Token::Not, 1),
        ('&', Some('&'), _) => (Token::And, 2),
        ('|', Some('|'), _) => (Token::Or, 2),
        ('-', Some('>'), _) => (Token::Implies, 2),
        ('<', Some('-'), Some('>')) => (Token::Iff, 3),
        _ => return None,
    })
}

/// The quoted label starting at `start` (a `"`), with `\` escapes, and the index after
/// its closing quote; `None` when it is not closed.
fn quoted(chars: &[char], start: usize) -> Option<(String, usize)> {
    let mut atom = String::new();
    let mut i = start + 1;
    loop {
        match chars.get(i)? {
            '"' => return Some((atom, i + 1)),
            '\\' => {
                atom.push(*chars.get(i + 1)?);
                i += 2;
            }
            other => {
                atom.push(*other);
                i += 1;
            }
        }
    }
}

fn rest_is(chars: &[char], at: usize, expected: char) -> bool {
    chars.get(at) == Some(&expected)
}

struct Parser<'a> {
    tokens: &'a [(usize, Token)],
    next: usize,
    source: &'a str,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&(usize, Token)> {
        self.tokens.get(self.next)
    }

    fn error(&self, reason: &'static str, position: usize) -> LabelExprError {
        LabelExprError {
            expression: self.source.to_owned(),
            reason,
            position,
        }
    }

    fn eat(&mut self, token: &Token) -> bool {
        if self.peek().map(|(_, t)| t) == Some(token) {
            self.next += 1;
            true
        } else {
            false
        }
    }

    fn binary(
        &mut self,
        operator: Token,
        operand: fn(&mut Self) -> Result<LabelExpr, LabelExprError>,
        build: fn(Box<LabelExpr>, Box<LabelExpr>) -> LabelExpr,
    ) -> Result<LabelExpr, LabelExprError> {
        let mut left = operand(self)?;
        while self.eat(&operator) {
            let right = operand(self)?;
            left = build(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn iff(&mut self) -> Result<LabelExpr, LabelExprError> {
        self.binary(Token::Iff, Self::implies, LabelExpr::Iff)
    }

    fn implies(&mut self) -> Result<LabelExpr, LabelExprError> {
        self.binary(Token::Implies, Self::or, LabelExpr::Implies)
    }

    fn or(&mut self) -> Result<LabelExpr, LabelExprError> {
        self.binary(Token::Or, Self::and, LabelExpr::Or)
    }

    fn and(&mut self) -> Result<LabelExpr, LabelExprError> {
        self.binary(Token::And, Self::not, LabelExpr::And)
    }

    fn not(&mut self) -> Result<LabelExpr, LabelExprError> {
        if self.eat(&Token::Not) {
            Ok(LabelExpr::Not(Box::new(self.not()?)))
        } else {
            self.primary()
        }
    }

    fn primary(&mut self) -> Result<LabelExpr, LabelExprError> {
        let end = self.source.chars().count();
        match self.tokens.get(self.next).cloned() {
            Some((_, Token::Atom(name))) => {
                self.next += 1;
                Ok(LabelExpr::Atom(name))
            }
            Some((position, Token::Open)) => {
                self.next += 1;
                let inner = self.iff()?;
                if self.eat(&Token::Close) {
                    Ok(inner)
                } else {
                    Err(self.error(
                        "missing closing parenthesis",
                        self.peek().map_or(end, |(p, _)| *p).max(position),
                    ))
                }
            }
            Some((position, _)) => Err(self.error("expected a label or '('", position)),
            None => Err(self.error("expression ends too early", end)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent<'a>(labels: &'a [&'a str]) -> impl Fn(&str) -> bool + 'a {
        move |l| labels.contains(&l)
    }

    #[test]
    fn evaluates_like_jenkins() {
        let cases: &[(&str, &[&str], bool)] = &[
            ("linux", &["linux"], true),
            ("linux", &["windows"], false),
            ("linux-cpu", &["linux-cpu"], true),
            ("linux && docker", &["linux", "docker"], true),
            ("linux&&docker", &["linux"], false),
            ("linux || windows", &["windows"], true),
            ("!arm", &["x86"], true),
            ("!arm", &["arm"], false),
            ("linux && !arm", &["linux", "arm"], false),
            ("gpu -> cuda12", &["cpu"], true),
            ("gpu -> cuda12", &["gpu"], false),
            ("gpu -> cuda12", &["gpu", "cuda12"], true),
            ("a <-> b", &[], true),
            ("a <-> b", &["a"], false),
            ("a <-> b", &["a", "b"], true),
            // && binds tighter than ||
            ("a || b && c", &["a"], true),
            ("(a || b) && c", &["a"], false),
            // ! binds tighter than &&
            ("!a && b", &["b"], true),
            // -> binds looser than ||: (a||b) -> c
            ("a || b -> c", &["b"], false),
            (
                "\"label with space\" && x",
                &["label with space", "x"],
                true,
            ),
            ("\"quote\\\"d\"", &["quote\"d"], true),
            ("linux&&!(arm||ppc64le)", &["linux", "ppc64le"], false),
            ("i-0abc123", &["i-0abc123"], true),
            // `=` is an atom character in Jenkins' lexer: key=value labels.
            ("jdk=17", &["jdk=17"], true),
            ("linux && jdk=17", &["linux", "jdk=17"], true),
            ("linux&&jdk=17", &["linux", "jdk=11"], false),
            ("arch=arm64 || arch=x86_64", &["arch=x86_64"], true),
            ("a=b->c", &["a=b"], false),
        ];
        for (source, labels, expected) in cases {
            let expr = LabelExpr::parse(source).unwrap_or_else(|e| panic!("{source}: {e}"));
            assert_eq!(
                expr.matches(agent(labels)),
                *expected,
                "{source} on {labels:?}"
            );
        }
    }

    #[test]
    fn rejects_malformed_expressions_with_position() {
        let cases: &[(&str, &str)] = &[
            ("", "expression ends too early"),
            ("linux &&", "expression ends too early"),
            ("linux & docker", "incomplete operator"),
            ("(linux", "missing closing parenthesis"),
            ("linux)", "unexpected token"),
            ("\"open", "unterminated quoted label"),
            ("&& linux", "expected a label or '('"),
            ("a b", "unexpected token"),
            ("a > b", "incomplete operator"),
            ("it's", "unexpected character"),
        ];
        for (source, reason) in cases {
            let error = LabelExpr::parse(source).expect_err(source);
            assert_eq!(error.reason, *reason, "{source}");
        }
    }

    #[test]
    fn display_round_trips() {
        for source in [
            "a && (b || !c)",
            "x -> y <-> z",
            "\"two words\" || plain",
            "!(a && b)",
            "a-b->c",
            "jdk=17 && (arch=arm64 || !x=y)",
            // Found by tools/fuzz-all.sh (parsers_never_panic.rs): `""` printed as nothing.
            "\"\" || a",
        ] {
            let expr = LabelExpr::parse(source).expect(source);
            let printed = expr.to_string();
            assert_eq!(
                LabelExpr::parse(&printed).expect(&printed),
                expr,
                "{source} -> {printed}"
            );
        }
    }

    #[test]
    fn required_atoms_skip_negations() {
        let expr = LabelExpr::parse("linux && docker && !arm && (gpu -> cuda)").expect("parses");
        assert_eq!(expr.required_atoms(), vec!["cuda", "docker", "linux"]);
    }
}
