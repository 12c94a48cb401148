//! Concurrency limits of an action: `maxConcurrency` executions Running at once, across all
//! workers, per value of `concurrencyKey` when it has one. The key is a path into the
//! execution's input written as a template (`{{ input.customerId }}`); a path, rather than any
//! template, so that the database computes it when the execution is written, in the same
//! statement, and a claim can count its group's Running executions under one lock.

/// The deepest key path accepted.
pub const KEY_DEPTH_MAX: usize = 10;
pub const MAX_CONCURRENCY_MAX: i64 = 10_000;

/// A validated `concurrencyKey`: the path into `input` it names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPath(Vec<String>);

impl KeyPath {
    /// Reads `{{ input.a.b }}`: `input`, then 1 to [`KEY_DEPTH_MAX`] names of letters, digits,
    /// `_` and `-`, between `{{` and `}}` with any spaces.
    pub fn parse(template: &str) -> Result<Self, String> {
        let expected = || {
            format!(
                "'{template}' is not a path into the input: write it as {{{{ input.customerId }}}} \
                 (names of letters, digits, _ and -, at most {KEY_DEPTH_MAX} deep)"
            )
        };
        let inner = template
            .trim()
            .strip_prefix("{{")
            .and_then(|t| t.strip_suffix("}}"))
            .ok_or_else(expected)?
            .trim();
        let mut parts = inner.split('.');
        if parts.next() != Some("input") {
            return Err(expected());
        }
        let names: Vec<String> = parts.map(str::to_string).collect();
        let valid = |n: &String| {
            !n.is_empty()
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        if names.is_empty() || names.len() > KEY_DEPTH_MAX || !names.iter().all(valid) {
            return Err(expected());
        }
        Ok(Self(names))
    }

    /// The names, for PostgreSQL's `#>>`.
    pub fn names(&self) -> &[String] {
        &self.0
    }

    /// The path in SQLite's JSON path syntax: `$."a"."b"` (names hold no quote).
    pub fn sqlite_path(&self) -> String {
        let mut path = String::from("$");
        for name in &self.0 {
            path.push_str(&format!(".\"{name}\""));
        }
        path
    }
}

/// How many executions of one group may run at once: `maxConcurrency`; 1 per key value when
/// only `concurrencyKey` is given; `None` (no limit) when neither is.
pub fn limit(max_concurrency: Option<i32>, key: Option<&KeyPath>) -> Option<i32> {
    match (max_concurrency, key) {
        (Some(n), _) => Some(n),
        (None, Some(_)) => Some(1),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_a_path_into_the_input() {
        let path = KeyPath::parse("{{ input.customer.id }}").unwrap();
        assert_eq!(path.names(), ["customer", "id"]);
        assert_eq!(path.sqlite_path(), "$.\"customer\".\"id\"");
        assert_eq!(
            KeyPath::parse("{{input.customer_id-2}}").unwrap().names(),
            ["customer_id-2"]
        );
        for bad in [
            "input.a",
            "{{ input }}",
            "{{ a.b }}",
            "{{ input.a | upper }}",
            "{{ input.a }}-{{ input.b }}",
            "{{ input..a }}",
            "{{ input.\"a\" }}",
            "{{ input.a.b.c.d.e.f.g.h.i.j.k }}",
        ] {
            assert!(KeyPath::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_key_alone_allows_one_per_value() {
        let key = KeyPath::parse("{{ input.a }}").unwrap();
        assert_eq!(limit(Some(3), Some(&key)), Some(3));
        assert_eq!(limit(None, Some(&key)), Some(1));
        assert_eq!(limit(Some(2), None), Some(2));
        assert_eq!(limit(None, None), None);
    }
}
