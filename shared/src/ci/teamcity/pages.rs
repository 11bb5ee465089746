//! TeamCity's paging: follow `nextHref` (root-relative, without the context path, B3.3)
//! until the last page, bounded so a server that keeps answering one cannot hold a poll.

use super::wire::Page;
use crate::ci::error::{CiError, Problem};
use crate::ci::http::CiHttp;

/// A bound on paging so a server that keeps answering `nextHref` cannot hold a poll forever.
pub const MAX_PAGES: usize = 200;

/// Reads `first` and every page after it, handing each to `take`.
pub async fn all_pages<T, F>(http: &CiHttp, first: String, mut take: F) -> Result<(), CiError>
where
    T: serde::de::DeserializeOwned + Page,
    F: FnMut(T),
{
    let mut next = Some(first);
    let mut pages = 0;
    while let Some(path) = next.take() {
        pages += 1;
        if pages > MAX_PAGES {
            return Err(CiError {
                kind: http.kind(),
                method: "GET",
                url: path,
                problem: Problem::Malformed(format!("more than {MAX_PAGES} pages of nextHref")),
            });
        }
        let page: T = http.get_json(&path).await?;
        next = page.next_href().map(str::to_owned);
        take(page);
    }
    Ok(())
}
