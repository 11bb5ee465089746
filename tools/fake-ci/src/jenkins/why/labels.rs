//! Labels as Jenkins resolves them: `Label.getName()` of an expression, the nodes it
//! selects (self-labels included) and whether all of them are offline.

use std::rc::Rc;

use rules::label_expr::LabelExpr;

use super::world::{Node, World};

/// The label as Jenkins names it: `Label.getName()` of the parsed expression, which
/// keeps the user's parentheses but drops whitespace (`linux && docker` → `linux&&docker`).
pub fn label_name(expression: &str) -> String {
    let mut out = String::with_capacity(expression.len());
    let mut quoted = false;
    let mut escaped = false;
    for c in expression.trim().chars() {
        if quoted {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                quoted = false;
            }
        } else if c == '"' {
            quoted = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

/// Nodes a label expression selects: every node whose labels (self-label included) satisfy it.
pub fn label_nodes<'w, 'a>(world: &'w World<'a>, expression: &str) -> Vec<&'w Node<'a>> {
    label_indices(world, expression)
        .iter()
        .map(|&i| world.node(i))
        .collect()
}

/// [`label_nodes`] as indices for [`World::node`], memoised per expression.
pub fn label_indices(world: &World, expression: &str) -> Rc<Vec<usize>> {
    if let Some(cached) = world.label_memo.borrow().get(expression) {
        return cached.clone();
    }
    let found = match LabelExpr::parse(expression) {
        Ok(LabelExpr::Atom(label)) => world.nodes_with(&label),
        Ok(expr) => world
            .agents
            .iter()
            .chain(std::iter::once(&world.builtin))
            .enumerate()
            .filter(|(_, node)| expr.matches(|l| node.labels.contains(&l)))
            .map(|(i, _)| i)
            .collect(),
        // Jenkins would refuse to save such a job; treat the text as one atom.
        Err(_) => world.nodes_with(expression.trim()),
    };
    let found = Rc::new(found);
    world
        .label_memo
        .borrow_mut()
        .insert(expression.to_owned(), found.clone());
    found
}

/// Whether every node of the label is offline, which Jenkins also says of an empty label.
pub fn label_offline(world: &World, expression: &str) -> bool {
    label_indices(world, expression)
        .iter()
        .all(|&i| !world.node(i).online)
}
