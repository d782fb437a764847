//! YAML paths in `a.b[2].c` form, and the known keys at each path for "did you mean" hints.

use serde::de::{self, Deserialize, Deserializer, Visitor};

use crate::raw::{
    RawApiKey, RawAuth, RawCache, RawConfig, RawDownstream, RawLimits, RawMetrics, RawPolicy,
    RawPolicyRule, RawRateLimit, RawRedis, RawRedisTls, RawRouter, RawServer, RawSession, RawSsl,
    RawToolZoo, RawUi,
};

/// Formats a `serde_ignored` path (an unknown key) as `a.b[2].c`.
pub(crate) fn ignored_path(path: &serde_ignored::Path<'_>) -> String {
    fn walk(path: &serde_ignored::Path<'_>, out: &mut String) {
        match path {
            serde_ignored::Path::Root => {}
            serde_ignored::Path::Seq { parent, index } => {
                walk(parent, out);
                out.push_str(&format!("[{index}]"));
            }
            serde_ignored::Path::Map { parent, key } => {
                walk(parent, out);
                push_key(out, key);
            }
            serde_ignored::Path::Some { parent }
            | serde_ignored::Path::NewtypeStruct { parent }
            | serde_ignored::Path::NewtypeVariant { parent } => walk(parent, out),
        }
    }
    let mut out = String::new();
    walk(path, &mut out);
    out
}

/// Formats a `serde_path_to_error` path (where a value failed to deserialize) as `a.b[2].c`.
pub(crate) fn error_path(path: &serde_path_to_error::Path) -> String {
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            serde_path_to_error::Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            serde_path_to_error::Segment::Map { key }
            | serde_path_to_error::Segment::Enum { variant: key } => push_key(&mut out, key),
            serde_path_to_error::Segment::Unknown => push_key(&mut out, "?"),
        }
    }
    out
}

fn push_key(out: &mut String, key: &str) {
    if !out.is_empty() {
        out.push('.');
    }
    out.push_str(key);
}

/// The message for an unknown key, with a hint when a known key at the same place is close.
pub(crate) fn unknown_key_message(path: &str) -> String {
    let (parent, key) = match path.rfind('.') {
        Some(dot) => (&path[..dot], &path[dot + 1..]),
        None => ("", path),
    };
    match suggest(key, known_keys(parent)) {
        Some(known) => format!("unknown key (did you mean `{known}`?)"),
        None => "unknown key".to_owned(),
    }
}

/// The closest known key within edit distance 2, if any.
fn suggest<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    let limit = if key.chars().count() <= 3 { 1 } else { 2 };
    known
        .iter()
        .map(|k| (edit_distance(key, k), *k))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// The field names of the raw struct found at `parent` (indices written as `[N]`).
pub(crate) fn known_keys(parent: &str) -> &'static [&'static str] {
    let mut pattern = String::with_capacity(parent.len());
    let mut in_index = false;
    for c in parent.chars() {
        match c {
            '[' => {
                in_index = true;
                pattern.push('[');
            }
            ']' => {
                in_index = false;
                pattern.push(']');
            }
            _ if in_index => {}
            _ => pattern.push(c),
        }
    }
    match pattern.as_str() {
        "" => fields_of::<RawConfig>(),
        "server" => fields_of::<RawServer>(),
        "server.ssl" => fields_of::<RawSsl>(),
        "server.auth" => fields_of::<RawAuth>(),
        "server.auth.rate_limit" => fields_of::<RawRateLimit>(),
        "server.auth.api_keys[]" => fields_of::<RawApiKey>(),
        "server.auth.policy" => fields_of::<RawPolicy>(),
        "server.auth.policy.rules[]" => fields_of::<RawPolicyRule>(),
        "server.metrics" => fields_of::<RawMetrics>(),
        "server.ui" => fields_of::<RawUi>(),
        "server.limits" => fields_of::<RawLimits>(),
        "tool_zoo" => fields_of::<RawToolZoo>(),
        "router" => fields_of::<RawRouter>(),
        "router.cache" => fields_of::<RawCache>(),
        "session" => fields_of::<RawSession>(),
        "session.redis" => fields_of::<RawRedis>(),
        "session.redis.tls" => fields_of::<RawRedisTls>(),
        "downstream_servers[]" => fields_of::<RawDownstream>(),
        _ => &[],
    }
}

/// Reads a derived struct's field list by asking it to deserialize from a deserializer that only
/// records the `fields` serde hands to `deserialize_struct`.
fn fields_of<T: for<'de> Deserialize<'de>>() -> &'static [&'static str] {
    struct Introspect<'a>(&'a mut &'static [&'static str]);

    impl<'de> Deserializer<'de> for Introspect<'_> {
        type Error = de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("fields recorded"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
            ignored_any
        }
    }

    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Introspect(&mut fields));
    fields
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = substitution.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_keys_come_from_the_raw_structs() {
        assert!(known_keys("").contains(&"downstream_servers"));
        assert!(known_keys("downstream_servers[3]").contains(&"command"));
        assert!(known_keys("server.auth.rate_limit").contains(&"burst"));
        assert!(known_keys("tool_zoo").contains(&"chromadb_server"));
        assert!(known_keys("downstream_servers[0].env").is_empty());
    }

    #[test]
    fn hints_close_keys_only() {
        assert_eq!(
            unknown_key_message("downstream_servers[1].comand"),
            "unknown key (did you mean `command`?)"
        );
        assert_eq!(
            unknown_key_message("server.prot"),
            "unknown key (did you mean `port`?)"
        );
        assert_eq!(unknown_key_message("server.zzzzzz"), "unknown key");
        assert_eq!(unknown_key_message("nonsense"), "unknown key");
    }

    #[test]
    fn edit_distance_basics() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
