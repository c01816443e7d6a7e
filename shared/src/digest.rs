//! Splitting a long list into parts that each fit in one SNS message, in order, losing nothing.
//! Used by every function that digests many messages into few.

use crate::alert::MESSAGE_MAX_BYTES;

/// Room kept in each part for the digest's own header, footer and JSON envelope.
pub const ENVELOPE_RESERVE: usize = 16 * 1024;

/// Splits `items` into consecutive parts whose summed `cost` stays within one SNS message.
/// An item larger than a whole message still gets a part of its own (callers clip their text).
pub fn split_by_budget<T>(items: Vec<T>, cost: impl Fn(&T) -> usize) -> Vec<Vec<T>> {
    let budget = MESSAGE_MAX_BYTES - ENVELOPE_RESERVE;
    let mut parts: Vec<Vec<T>> = Vec::new();
    let mut used = 0;
    for item in items {
        let size = cost(&item);
        if parts.is_empty() || (used + size > budget && !parts.last().is_some_and(Vec::is_empty)) {
            parts.push(Vec::new());
            used = 0;
        }
        used += size;
        parts.last_mut().expect("a part exists").push(item);
    }
    parts
}

/// What a text line and a JSON entry add to a `MessageStructure=json` message
/// ([`crate::alert::Alert::sns_message`]): the text once (email), the JSON once (default), escaped.
pub fn entry_cost(text: &str, json: &serde_json::Value) -> usize {
    (text.len() + 16) + (json.to_string().len() * 2 + 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_keep_order_and_every_item() {
        let items: Vec<usize> = (0..1000).collect();
        let parts = split_by_budget(items, |_| 1024);
        assert!(parts.len() > 1);
        assert_eq!(parts.concat(), (0..1000).collect::<Vec<_>>());
        assert!(
            parts
                .iter()
                .all(|p| p.len() * 1024 <= MESSAGE_MAX_BYTES - ENVELOPE_RESERVE)
        );
    }

    #[test]
    fn an_oversized_item_gets_its_own_part() {
        let parts = split_by_budget(vec![1, MESSAGE_MAX_BYTES * 2, 1], |n| *n);
        assert_eq!(parts, vec![vec![1], vec![MESSAGE_MAX_BYTES * 2], vec![1]]);
    }
}
