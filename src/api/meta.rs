//! Object metadata the server owns: names, uids, timestamps, generation, and
//! the canonical field order kube-apiserver emits.

use crate::api::error::Cause;
use crate::kinds::NameRule;
use serde_json::{Map, Value};
use std::time::SystemTime;

/// RFC 3339 UTC with second precision, as `metav1.Time` serialises.
pub fn now_rfc3339() -> String {
    time_rfc3339(SystemTime::now())
}

pub fn time_rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Mark `obj` as being deleted: `deletionTimestamp` is when the grace period
/// ends (Kubernetes sets it in the future for graceful deletion) and
/// `deletionGracePeriodSeconds` the period. An earlier, shorter deletion wins.
pub fn start_deletion(obj: &mut Value, grace_seconds: i64) {
    let grace = grace_seconds.max(0);
    if let Some(current) = obj["metadata"]["deletionGracePeriodSeconds"].as_i64()
        && current <= grace
        && obj["metadata"].get("deletionTimestamp").is_some()
    {
        return;
    }
    let at = SystemTime::now() + std::time::Duration::from_secs(grace as u64);
    obj["metadata"]["deletionTimestamp"] = Value::String(time_rfc3339(at));
    obj["metadata"]["deletionGracePeriodSeconds"] = Value::from(grace);
}

/// A random (version 4) UUID.
pub fn new_uid() -> String {
    let mut b = [0u8; 16];
    fill_random(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// A name from `generateName` (`names.SimpleNameGenerator`): the prefix cut
/// to 58 bytes so the name with its 5-character suffix stays within 63.
pub fn generate_name(prefix: &str) -> String {
    const MAX_BASE: usize = 63 - 5;
    let mut end = prefix.len().min(MAX_BASE);
    while !prefix.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{}", &prefix[..end], random_suffix(5))
}

/// The 5-character suffix `generateName` gets (Kubernetes' alphabet, no vowels).
pub fn random_suffix(n: usize) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut b = vec![0u8; n];
    fill_random(&mut b);
    b.iter().map(|x| ALPHABET[*x as usize % ALPHABET.len()] as char).collect()
}

pub fn fill_random(buf: &mut [u8]) {
    // getrandom only fails when the OS has no entropy source at all; a
    // time-seeded fallback keeps uids unique enough rather than panicking.
    if getrandom::fill(buf).is_err() {
        let mut x = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        for byte in buf.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *byte = x as u8;
        }
    }
}

const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1123_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

/// Validate `name` against `rule`; returns the causes of a 422.
pub fn validate_name(name: &str, rule: NameRule, field: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    match rule {
        NameRule::Subdomain => {
            if name.len() > 253 {
                causes.push(Cause::invalid(field, name, "must be no more than 253 characters"));
            }
            if !name.split('.').all(is_label_part) {
                causes.push(Cause::invalid(field, name, DNS1123_SUBDOMAIN_MSG));
            }
        }
        NameRule::Label => {
            if name.len() > 63 {
                causes.push(Cause::invalid(field, name, "must be no more than 63 characters"));
            }
            // The pattern is checked apart from the length (reported above);
            // slicing the name could split a multi-byte character.
            if !is_label_part(name) {
                causes.push(Cause::invalid(field, name, DNS1123_LABEL_MSG));
            }
        }
    }
    causes
}

/// A subdomain part: a label without the 63-character limit (the subdomain has its own).
fn is_label_part(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Validate labels and annotations the way ObjectMeta validation does.
pub fn validate_meta_maps(meta: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    if let Some(Value::Object(labels)) = meta.get("labels") {
        for (k, v) in labels {
            if let Some(why) = qualified_name_error(k) {
                causes.push(Cause::invalid("metadata.labels", k, &why));
            }
            let v = v.as_str().unwrap_or("");
            if !is_label_value(v) {
                causes.push(Cause::invalid(
                    "metadata.labels",
                    v,
                    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
                ));
            }
        }
    }
    if let Some(Value::Object(ann)) = meta.get("annotations") {
        let mut total = 0;
        for (k, v) in ann {
            if let Some(why) = qualified_name_error(k) {
                causes.push(Cause::invalid("metadata.annotations", k, &why));
            }
            total += k.len() + v.as_str().map_or(0, str::len);
        }
        if total > 256 * 1024 {
            causes.push(Cause::new(
                "FieldValueTooLong",
                format!("Too long: may not be more than {} bytes", 256 * 1024),
                "metadata.annotations",
            ));
        }
    }
    causes
}

fn is_label_value(v: &str) -> bool {
    v.is_empty()
        || (v.len() <= 63
            && v.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'.')
            && v.as_bytes()[0].is_ascii_alphanumeric()
            && v.as_bytes()[v.len() - 1].is_ascii_alphanumeric())
}

/// `prefix/name` keys of labels and annotations.
fn qualified_name_error(k: &str) -> Option<String> {
    let (prefix, name) = match k.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    if let Some(p) = prefix
        && (p.is_empty() || p.len() > 253 || !p.split('.').all(is_label_part))
    {
        return Some(format!("prefix part {DNS1123_SUBDOMAIN_MSG}"));
    }
    if name.is_empty() || name.len() > 63 || !is_label_value(name) {
        return Some("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')".into());
    }
    None
}

/// Field order of `ObjectMeta` as Go serialises it.
pub const META_ORDER: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

/// Put `kind`, `apiVersion`, `metadata` first and metadata fields in Go's
/// order, so output reads like kube-apiserver's.
pub fn canonical_order(obj: Value) -> Value {
    let Value::Object(mut m) = obj else { return obj };
    let mut out = Map::new();
    for k in ["kind", "apiVersion"] {
        if let Some(v) = m.shift_remove(k) {
            out.insert(k.into(), v);
        }
    }
    if let Some(Value::Object(mut meta)) = m.shift_remove("metadata") {
        let mut ordered = Map::new();
        for k in META_ORDER {
            if let Some(v) = meta.shift_remove(*k) {
                ordered.insert((*k).into(), v);
            }
        }
        ordered.extend(meta);
        out.insert("metadata".into(), Value::Object(ordered));
    }
    out.extend(m);
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_stay_within_63() {
        let long = "a".repeat(70);
        let n = generate_name(&long);
        assert_eq!(n.len(), 63);
        assert!(n.starts_with(&"a".repeat(58)));
        let n = generate_name("web-abc-");
        assert_eq!(n.len(), 13);
        assert!(n.starts_with("web-abc-"));
        // A multi-byte prefix is cut on a character boundary, never panics.
        let n = generate_name(&"é".repeat(40));
        assert!(n.len() <= 63, "{n}");
    }

    #[test]
    fn names() {
        assert!(validate_name("ok-name.x", NameRule::Subdomain, "metadata.name").is_empty());
        assert!(!validate_name("Bad_Name", NameRule::Subdomain, "metadata.name").is_empty());
        assert!(!validate_name("../x", NameRule::Subdomain, "metadata.name").is_empty());
        assert!(!validate_name(&"a".repeat(300), NameRule::Subdomain, "metadata.name").is_empty());
        assert!(!validate_name("a.b", NameRule::Label, "metadata.name").is_empty());
    }

    #[test]
    fn long_non_ascii_names_are_invalid_not_a_panic() {
        let name = "ä".repeat(40);
        assert!(!validate_name(&name, NameRule::Label, "metadata.name").is_empty());
        assert!(!validate_name(&name, NameRule::Subdomain, "metadata.name").is_empty());
    }

    #[test]
    fn bad_name_message_matches_reference() {
        let c = validate_name("Bad_Name", NameRule::Subdomain, "metadata.name");
        assert_eq!(
            c[0].message,
            "Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        );
    }

    #[test]
    fn shorter_deletion_wins() {
        let mut o = serde_json::json!({"metadata": {}});
        start_deletion(&mut o, 30);
        assert_eq!(o["metadata"]["deletionGracePeriodSeconds"], 30);
        start_deletion(&mut o, 60);
        assert_eq!(o["metadata"]["deletionGracePeriodSeconds"], 30);
        start_deletion(&mut o, 0);
        assert_eq!(o["metadata"]["deletionGracePeriodSeconds"], 0);
    }

    #[test]
    fn uid_shape() {
        let u = new_uid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }

    #[test]
    fn label_validation() {
        let meta = serde_json::json!({"labels": {"app": "x", "bad key!": "v", "k": "-bad"}});
        assert_eq!(validate_meta_maps(&meta).len(), 2);
    }
}
