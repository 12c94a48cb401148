//! Event fan-out: one execution per subscribed action, and what a repeated event returns.

use crate::domain::names::EventName;

/// The idempotency key an event's `Idempotency-Key` becomes for each action it fans out to:
/// one key per action, so a retried event returns every execution it first made and creates
/// none for actions that already ran it.
pub fn action_key(event: &EventName, key: &str) -> String {
    format!("event:{event}:{key}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_per_event_and_key() {
        let a = EventName::parse("order.paid").unwrap();
        let b = EventName::parse("order.sent").unwrap();
        assert_eq!(action_key(&a, "k1"), "event:order.paid:k1");
        assert_ne!(action_key(&a, "k1"), action_key(&b, "k1"));
        assert_ne!(action_key(&a, "k1"), action_key(&a, "k2"));
    }
}
