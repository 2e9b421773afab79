//! The paging walk for the membership lists, safe against every behaviour the API has shown:
//! an exclusive cursor (documented), an inclusive one, a `start` that is ignored (page one
//! again), and short pages in the middle of a list.
//!
//! The cursor is always the last id of the page just read; the walk stops only on an empty
//! page, a page that brings no new id, or the hard page cap. It never stops on a short page,
//! which costs one extra (empty) request per list and never loses an item.

use std::collections::HashSet;
use std::future::Future;

use serde_json::Value;

use super::wire;

/// Items asked for per page, as every Pantheon client sends.
pub const PAGE_LIMIT: usize = 100;

/// No real list comes near this; it only guards against a server that keeps inventing ids.
pub const MAX_PAGES: usize = 1_000;

/// What the walk brought home.
#[derive(Debug, Default)]
pub struct Walk {
    /// Items in arrival order, unique by wrapper id.
    pub items: Vec<Value>,
    pub pages: usize,
    /// True when the page cap ended the walk (the list may be incomplete).
    pub capped: bool,
}

/// Walks a paged list. `fetch(cursor)` returns one page for the given `start` cursor.
pub async fn walk<F, Fut, E>(mut fetch: F) -> Result<Walk, E>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Vec<Value>, E>>,
{
    let mut seen: HashSet<String> = HashSet::new();
    let mut walk = Walk::default();
    let mut cursor: Option<String> = None;
    loop {
        if walk.pages >= MAX_PAGES {
            walk.capped = true;
            tracing::warn!(
                pages = walk.pages,
                "paged list did not end; stopped at the page cap"
            );
            break;
        }
        let page = fetch(cursor.clone()).await?;
        walk.pages += 1;
        if page.is_empty() {
            break;
        }
        let mut new_items = 0;
        let mut last_id = None;
        for item in page {
            let Some(id) = wire::wrapper_id(&item) else {
                continue;
            };
            last_id = Some(id.clone());
            if seen.insert(id) {
                new_items += 1;
                walk.items.push(item);
            }
        }
        match last_id {
            Some(last) if new_items > 0 && cursor.as_deref() != Some(last.as_str()) => {
                cursor = Some(last)
            }
            _ => break,
        }
    }
    Ok(walk)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A list server over ids 0..n with a chosen quirk.
    fn server(
        n: usize,
        mode: &'static str,
    ) -> impl FnMut(Option<String>) -> std::future::Ready<Result<Vec<Value>, ()>> {
        let ids: Vec<String> = (0..n).map(|i| format!("id-{i:04}")).collect();
        let mut calls = 0;
        move |start| {
            calls += 1;
            let from = match (&start, mode) {
                (_, "ignore") | (None, _) => 0,
                (Some(s), "inclusive") => ids.iter().position(|i| i == s).unwrap_or(0),
                (Some(s), _) => ids.iter().position(|i| i == s).map_or(0, |p| p + 1),
            };
            let limit = if mode == "short" && calls % 2 == 1 {
                PAGE_LIMIT / 2
            } else {
                PAGE_LIMIT
            };
            let page = ids[from.min(ids.len())..]
                .iter()
                .take(limit)
                .map(|id| json!({"id": id}))
                .collect();
            std::future::ready(Ok(page))
        }
    }

    async fn ids(n: usize, mode: &'static str) -> (usize, usize) {
        let w = walk(server(n, mode)).await.unwrap();
        (w.items.len(), w.pages)
    }

    #[tokio::test]
    async fn exclusive_cursor_reads_every_page_plus_one_empty() {
        assert_eq!(ids(250, "exclusive").await, (250, 4));
        assert_eq!(ids(100, "exclusive").await, (100, 2));
        assert_eq!(ids(0, "exclusive").await, (0, 1));
    }

    #[tokio::test]
    async fn inclusive_cursor_loses_nothing_and_ends() {
        let (n, pages) = ids(250, "inclusive").await;
        assert_eq!(n, 250);
        assert!(pages <= 5, "{pages}");
    }

    #[tokio::test]
    async fn ignored_start_does_not_loop() {
        assert_eq!(ids(250, "ignore").await, (100, 2));
    }

    #[tokio::test]
    async fn short_pages_mid_list_do_not_end_the_walk() {
        assert_eq!(ids(250, "short").await.0, 250);
    }

    #[tokio::test]
    async fn endless_server_stops_at_the_cap() {
        let mut k = 0u64;
        let w = walk(|_| {
            k += 1;
            std::future::ready(Ok::<_, ()>(vec![json!({"id": format!("x{k}")})]))
        })
        .await
        .unwrap();
        assert!(w.capped);
        assert_eq!(w.pages, MAX_PAGES);
    }
}
