//! Keyset pagination: a page of a list ordered by a key, and an opaque cursor naming the last key
//! shown. The next page starts after that key, so rows inserted meanwhile never shift a page (a new
//! row lands before or after the cursor, never duplicates or hides another).

use super::{Error, Result};

/// A page of a list and the cursor of the next one (`None` on the last page).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// What a list request asks for: at most `limit` items after `cursor`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Items per page unless `limit` says otherwise, and the most a page may have.
pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 500;

impl PageRequest {
    fn limit(&self) -> Result<usize> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT as usize),
            Some(n @ 1..=MAX_LIMIT) => Ok(n as usize),
            Some(n) => Err(Error::invalid(
                "limit",
                format!("found {n}; expected a page size from 1 to {MAX_LIMIT}"),
            )),
        }
    }

    /// The key the cursor names, if there is one.
    fn after(&self) -> Result<Option<String>> {
        self.cursor.as_deref().map(decode).transpose()
    }

    /// The page of `items`, in ascending order of `key`, after the cursor. `key` must be unique.
    pub fn page<T>(&self, items: Vec<T>, key: impl Fn(&T) -> String) -> Result<Page<T>> {
        let limit = self.limit()?;
        let after = self.after()?;
        let mut keyed: Vec<(String, T)> = items
            .into_iter()
            .map(|i| (key(&i), i))
            .filter(|(k, _)| after.as_ref().is_none_or(|a| k > a))
            .collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        let next_cursor = (keyed.len() > limit).then(|| encode(&keyed[limit - 1].0));
        keyed.truncate(limit);
        Ok(Page {
            items: keyed.into_iter().map(|(_, i)| i).collect(),
            next_cursor,
        })
    }
}

/// Hex of the key: opaque to clients, and safe in a query string without escaping.
fn encode(key: &str) -> String {
    key.bytes().map(|b| format!("{b:02x}")).collect()
}

fn decode(cursor: &str) -> Result<String> {
    let bad = || Error::invalid("cursor", "expected a next_cursor value from an earlier page");
    if cursor.len() % 2 != 0 || cursor.len() > 1024 {
        return Err(bad());
    }
    let bytes = (0..cursor.len())
        .step_by(2)
        .map(|i| cursor.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(bad)?;
    String::from_utf8(bytes).map_err(|_| bad())
}

/// A number as a key that sorts as text in numeric order (for ids).
pub fn number_key(n: i64) -> String {
    // Offset so negative numbers sort first; 20 digits hold every i64 shifted.
    format!("{:020}", i128::from(n) - i128::from(i64::MIN))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(limit: u32, cursor: Option<String>) -> PageRequest {
        PageRequest {
            limit: Some(limit),
            cursor,
        }
    }

    #[test]
    fn pages_follow_one_another_and_the_last_has_no_cursor() {
        let items: Vec<i64> = (1..=5).collect();
        let first = req(2, None).page(items.clone(), |n| number_key(*n)).unwrap();
        assert_eq!(first.items, [1, 2]);
        let second = req(2, first.next_cursor)
            .page(items.clone(), |n| number_key(*n))
            .unwrap();
        assert_eq!(second.items, [3, 4]);
        let third = req(2, second.next_cursor).page(items, |n| number_key(*n)).unwrap();
        assert_eq!((third.items, third.next_cursor), (vec![5], None));
    }

    #[test]
    fn a_row_inserted_before_the_cursor_does_not_shift_the_next_page() {
        let first = req(2, None).page(vec![10, 20, 30, 40], |n| number_key(*n)).unwrap();
        let later = vec![5, 10, 15, 20, 30, 40];
        let second = req(2, first.next_cursor).page(later, |n| number_key(*n)).unwrap();
        assert_eq!(second.items, [30, 40]);
    }

    #[test]
    fn a_made_up_cursor_or_a_page_size_out_of_range_names_the_field() {
        let e = req(2, Some("zz".into())).page(vec![1], |n| number_key(*n)).unwrap_err();
        assert!(matches!(&e, Error::Invalid(f) if f[0].field == "cursor"), "{e}");
        let e = req(0, None).page(vec![1], |n| number_key(*n)).unwrap_err();
        assert!(matches!(&e, Error::Invalid(f) if f[0].field == "limit"), "{e}");
    }

    #[test]
    fn number_keys_sort_as_the_numbers_do() {
        let mut keys: Vec<String> = [-3i64, 7, 0, i64::MAX, i64::MIN]
            .iter()
            .map(|n| number_key(*n))
            .collect();
        keys.sort();
        let want: Vec<String> = [i64::MIN, -3, 0, 7, i64::MAX].iter().map(|n| number_key(*n)).collect();
        assert_eq!(keys, want);
    }
}
