//! Keyset paging: a list answers at most `limit` items and, when more may follow, a cursor
//! naming the last item it returned. The next page starts strictly after that item in the
//! list's order, so items added or removed meanwhile never make a page repeat or skip one of
//! the items that were already there (an offset would).
//!
//! A cursor is opaque to callers: base64url of `v1.<sort time in ns>.<id>`. The version tag
//! lets a later order change refuse old cursors with a clear message instead of misreading them.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use std::str::FromStr;
use uuid::Uuid;

/// Default and largest page sizes of every paged list.
pub const DEFAULT_PAGE_SIZE: i64 = 50;
pub const MAX_PAGE_SIZE: i64 = 1000;

/// The position after which the next page starts: the sort time and id of the last item of
/// the previous page (ids break ties between equal times).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor<Id> {
    pub at: DateTime<Utc>,
    pub id: Id,
}

const VERSION: &str = "v1";

impl<Id: Copy + Into<Uuid>> Cursor<Id> {
    pub fn encode(&self) -> String {
        // Nanoseconds keep the full precision of a stored time, so the next page's bound is
        // exactly the item's own time; i64 nanoseconds cover the years 1677 to 2262.
        let nanos = self.at.timestamp_nanos_opt().unwrap_or(i64::MAX);
        let id: Uuid = self.id.into();
        URL_SAFE_NO_PAD.encode(format!("{VERSION}.{nanos}.{id}"))
    }
}

impl<Id: From<Uuid>> FromStr for Cursor<Id> {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let invalid = || "not a cursor this service issued (use nextCursor as given)".to_string();
        let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let mut parts = text.splitn(3, '.');
        let (Some(VERSION), Some(nanos), Some(id)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        let nanos: i64 = nanos.parse().map_err(|_| invalid())?;
        let id = Uuid::parse_str(id).map_err(|_| invalid())?;
        Ok(Cursor {
            at: DateTime::from_timestamp_nanos(nanos),
            id: Id::from(id),
        })
    }
}

/// The size of a page asked for as `limit`: [`DEFAULT_PAGE_SIZE`] when absent, an error naming
/// the bounds when outside 1..=[`MAX_PAGE_SIZE`].
pub fn page_size(limit: Option<i64>) -> Result<i64, String> {
    let limit = limit.unwrap_or(DEFAULT_PAGE_SIZE);
    if (1..=MAX_PAGE_SIZE).contains(&limit) {
        Ok(limit)
    } else {
        Err(format!("must be between 1 and {MAX_PAGE_SIZE}"))
    }
}

/// Cuts a page fetched with one item more than `limit` (to learn whether more follow) back to
/// `limit` items, and names the cursor of the next page when there is one.
pub fn split_page<T, Id>(
    mut items: Vec<T>,
    limit: i64,
    key: impl Fn(&T) -> Cursor<Id>,
) -> (Vec<T>, Option<Cursor<Id>>) {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if items.len() <= limit {
        return (items, None);
    }
    items.truncate(limit);
    let next = items.last().map(key);
    (items, next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::ExecutionId;

    #[test]
    fn a_cursor_round_trips_with_nanosecond_precision() {
        let at = DateTime::from_timestamp_nanos(1_796_000_000_123_456_789);
        let cursor = Cursor {
            at,
            id: ExecutionId::new(),
        };
        let parsed: Cursor<ExecutionId> = cursor.encode().parse().unwrap();
        assert_eq!(parsed, cursor);
    }

    #[test]
    fn foreign_text_is_not_a_cursor() {
        for text in [
            "",
            "abc",
            "djEuMS4y",
            "!!!",
            &URL_SAFE_NO_PAD.encode("v2.1.x"),
        ] {
            let err = text.parse::<Cursor<ExecutionId>>().unwrap_err();
            assert!(err.contains("not a cursor"), "{text}: {err}");
        }
    }

    #[test]
    fn page_sizes_are_bounded() {
        assert_eq!(page_size(None), Ok(DEFAULT_PAGE_SIZE));
        assert_eq!(page_size(Some(1)), Ok(1));
        assert_eq!(page_size(Some(MAX_PAGE_SIZE)), Ok(MAX_PAGE_SIZE));
        assert!(page_size(Some(0)).is_err());
        assert!(page_size(Some(MAX_PAGE_SIZE + 1)).is_err());
    }

    #[test]
    fn a_page_with_one_item_too_many_names_the_next_cursor() {
        let key = |n: &i64| Cursor {
            at: DateTime::from_timestamp_nanos(*n),
            id: ExecutionId(Uuid::nil()),
        };
        let (items, next) = split_page(vec![5, 4, 3], 2, key);
        assert_eq!(items, vec![5, 4]);
        assert_eq!(next.unwrap().at, DateTime::from_timestamp_nanos(4));
        let (items, next) = split_page(vec![5, 4], 2, key);
        assert_eq!(items, vec![5, 4]);
        assert!(next.is_none());
    }
}
