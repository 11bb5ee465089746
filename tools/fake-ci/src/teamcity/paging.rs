//! TeamCity paging (PagerDataImpl): `count` is this page's size, `nextHref` appears
//! whenever the page came back full (so the next page may be empty), `prevHref` from the
//! second page on. Page hrefs are the request's own URL, prefix kept, with the locator
//! rewritten to end in `count:N,start:M`.

use crate::http::{Req, encode_query_value, parse_pairs};
use crate::locator::Locator;

use super::error::TcError;

pub struct Page<T> {
    pub items: Vec<T>,
    pub href: String,
    pub next_href: Option<String>,
    pub prev_href: Option<String>,
}

pub fn page<T>(
    all: Vec<T>,
    locator: &Locator,
    locator_text: &str,
    default_count: usize,
    req: &Req,
) -> Result<Page<T>, TcError> {
    let bad = |e: String| TcError::locator(locator_text, e);
    let count = locator
        .number("count")
        .map_err(bad)?
        .unwrap_or(default_count);
    let start = locator.number("start").map_err(bad)?.unwrap_or(0);
    let items: Vec<T> = all.into_iter().skip(start).take(count).collect();
    let href = if req.query.is_empty() {
        req.path.clone()
    } else {
        format!("{}?{}", req.path, req.query)
    };
    let link = |start: usize| {
        let mut query = format!(
            "locator={}",
            encode_query_value(&locator.with_page(count, start))
        );
        for (key, value) in parse_pairs(&req.query)
            .into_iter()
            .filter(|(k, _)| k != "locator")
        {
            query.push_str(&format!("&{key}={}", encode_query_value(&value)));
        }
        format!("{}?{query}", req.path)
    };
    let next_href = (count > 0 && items.len() == count).then(|| link(start + count));
    let prev_href = (start > 0).then(|| link(start.saturating_sub(count)));
    Ok(Page {
        items,
        href,
        next_href,
        prev_href,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, Method};

    fn req(path: &str, query: &str) -> Req {
        Req {
            method: Method::GET,
            path: path.into(),
            query: query.into(),
            headers: HeaderMap::new(),
            body: Vec::new(),
        }
    }

    #[test]
    fn full_pages_link_onwards_even_when_nothing_is_left() {
        let r = req(
            "/httpAuth/app/rest/agents",
            "locator=count:2&fields=count,agent(id)",
        );
        let loc = Locator::parse("count:2").expect("parses");
        let p = page(vec![1, 2], &loc, "count:2", 100, &r).expect("pages");
        assert_eq!(p.items, vec![1, 2]);
        assert_eq!(
            p.href,
            "/httpAuth/app/rest/agents?locator=count:2&fields=count,agent(id)"
        );
        assert_eq!(
            p.next_href.as_deref(),
            Some("/httpAuth/app/rest/agents?locator=count:2,start:2&fields=count,agent(id)")
        );
        assert_eq!(p.prev_href, None);

        let loc = Locator::parse("count:2,start:2").expect("parses");
        let p = page(vec![1, 2], &loc, "count:2,start:2", 100, &r).expect("pages");
        assert!(p.items.is_empty());
        assert_eq!(p.next_href, None);
        assert_eq!(
            p.prev_href.as_deref(),
            Some("/httpAuth/app/rest/agents?locator=count:2,start:0&fields=count,agent(id)")
        );
    }

    #[test]
    fn default_page_size_applies_without_count() {
        let r = req("/app/rest/agents", "");
        let p = page((0..5).collect(), &Locator::default(), "", 3, &r).expect("pages");
        assert_eq!(p.items, vec![0, 1, 2]);
        assert_eq!(
            p.next_href.as_deref(),
            Some("/app/rest/agents?locator=count:3,start:3")
        );
        let p = page((0..2).collect(), &Locator::default(), "", 3, &r).expect("pages");
        assert_eq!(p.next_href, None);
    }
}
