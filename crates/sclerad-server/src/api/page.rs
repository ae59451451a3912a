//! Lists answered one page at a time.
//!
//! Every list takes `?offset=N&limit=M` (limit 100 by default, at most
//! 1000) and answers a JSON array of that page, with the whole list's
//! length in `X-Total-Count` and, when more follow, a `Link` header to the
//! next page (`<?offset=…&limit=…>; rel="next"`, relative to the list's
//! own path). A response is bounded by the page, whatever the list's size.

use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use sclerad_store::{Page, Paged};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use crate::ApiJson;

/// The header that carries a list's whole length.
pub const TOTAL_COUNT: HeaderName = HeaderName::from_static("x-total-count");

/// Which page of a list.
#[derive(Debug, Clone, Copy, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items to skip (default 0).
    #[serde(default)]
    pub offset: u64,
    /// Items to return (default 100, at most 1000).
    #[serde(default = "default_limit")]
    pub limit: u64,
}

fn default_limit() -> u64 {
    100
}

impl PageQuery {
    /// The store's page.
    pub fn page(self) -> Page {
        Page::new(self.offset, self.limit)
    }

    /// One page of a list held whole (lists an admin makes: users,
    /// studies; or computed from bounded records: disagreements).
    pub fn of<T>(self, all: Vec<T>) -> Paged<T> {
        let page = self.page();
        let total = all.len() as u64;
        let items = all
            .into_iter()
            .skip(usize::try_from(page.offset).unwrap_or(usize::MAX))
            .take(usize::try_from(page.limit).unwrap_or(usize::MAX))
            .collect();
        Paged { items, total }
    }
}

/// A page of a list as the response: the items, `X-Total-Count` and the
/// next page's `Link`.
pub struct Listed<T> {
    /// The page.
    pub paged: Paged<T>,
    /// Where it starts and how long pages are.
    pub page: Page,
    /// Counts of the whole list sent as headers of their own
    /// (`X-Open-Count`).
    pub counts: Vec<(&'static str, u64)>,
}

impl<T> Listed<T> {
    /// `paged`, the page asked for by `query`.
    pub fn new(paged: Paged<T>, query: PageQuery) -> Self {
        Listed {
            paged,
            page: query.page(),
            counts: Vec::new(),
        }
    }

    /// With a count of the whole list as header `name`.
    pub fn with_header(mut self, name: &'static str, count: usize) -> Self {
        self.counts
            .push((name, u64::try_from(count).unwrap_or(u64::MAX)));
        self
    }

    /// Its items turned into their views.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Listed<U> {
        Listed {
            paged: Paged {
                items: self.paged.items.into_iter().map(f).collect(),
                total: self.paged.total,
            },
            page: self.page,
            counts: self.counts,
        }
    }
}

impl<T: Serialize> IntoResponse for Listed<T> {
    fn into_response(self) -> Response {
        let Listed {
            paged,
            page,
            counts,
        } = self;
        let next = page.offset.saturating_add(page.limit);
        let mut response = ApiJson(paged.items).into_response();
        let headers = response.headers_mut();
        headers.insert(TOTAL_COUNT, HeaderValue::from(paged.total));
        for (name, count) in counts {
            headers.insert(name, HeaderValue::from(count));
        }
        if next < paged.total {
            let link = format!("<?offset={next}&limit={}>; rel=\"next\"", page.limit);
            if let Ok(value) = HeaderValue::from_str(&link) {
                headers.insert(axum::http::header::LINK, value);
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_bounded_and_link_the_next() {
        let q = PageQuery {
            offset: 2,
            limit: 2,
        };
        let paged = q.of(vec![1, 2, 3, 4, 5]);
        assert_eq!((paged.items.clone(), paged.total), (vec![3, 4], 5));
        let response = Listed::new(paged, q).into_response();
        assert_eq!(response.headers()[&TOTAL_COUNT], "5");
        assert_eq!(
            response.headers()[axum::http::header::LINK],
            "<?offset=4&limit=2>; rel=\"next\""
        );
        let last = PageQuery {
            offset: 4,
            limit: 2,
        };
        let response = Listed::new(last.of(vec![1, 2, 3, 4, 5]), last).into_response();
        assert!(response.headers().get(axum::http::header::LINK).is_none());
        let huge = PageQuery {
            offset: u64::MAX,
            limit: u64::MAX,
        };
        assert_eq!(huge.page().limit, Page::MAX_LIMIT);
        assert!(huge.of(vec![1]).items.is_empty());
    }
}
