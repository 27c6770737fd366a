//! `pod-template-hash`: Kubernetes' `controller.ComputeHash`, FNV-1a 32 over
//! the template, the collision count appended, the decimal sum encoded with
//! `rand.SafeEncodeString` (no vowels, so no words form in names).
//!
//! Kubernetes hashes Go's spew dump of the typed `PodTemplateSpec`; k2d hashes
//! the template's canonical JSON (keys sorted) instead. The value therefore
//! differs from a real cluster's for the same template, but it has the same
//! form, is stable across k2d restarts, and changes exactly when the template
//! does — which is all the controller relies on (it finds a Deployment's
//! ReplicaSet by template equality, as Kubernetes does, not by hash).

use serde_json::Value;

const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// FNV-1a, 32 bits.
pub fn fnv1a32(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in bytes {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// `rand.SafeEncodeString`: each byte mapped into the vowel-free alphabet.
pub fn safe_encode(s: &str) -> String {
    s.bytes().map(|b| ALPHANUMS[b as usize % ALPHANUMS.len()] as char).collect()
}

/// The hash of a pod template (`collision_count` as in `status.collisionCount`).
pub fn template_hash(template: &Value, collision_count: Option<i64>) -> String {
    let mut bytes = Vec::new();
    canonical(template, &mut bytes);
    if let Some(c) = collision_count {
        // ComputeHash writes the count's little-endian bytes after the dump.
        bytes.extend_from_slice(&(c as u32).to_le_bytes());
    }
    safe_encode(&fnv1a32(&bytes).to_string())
}

/// JSON with object keys sorted, so key order never changes the hash.
fn canonical(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(Value::from(k.as_str()).to_string().as_bytes());
                out.push(b':');
                canonical(&m[k.as_str()], out);
            }
            out.push(b'}');
        }
        Value::Array(a) => {
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical(x, out);
            }
            out.push(b']');
        }
        other => out.extend_from_slice(other.to_string().as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fnv_known_values() {
        assert_eq!(fnv1a32(b""), 0x811c_9dc5);
        assert_eq!(fnv1a32(b"a"), 0xe40c_292c);
        assert_eq!(fnv1a32(b"foobar"), 0xbf9c_f968);
    }

    #[test]
    fn encoding_matches_the_reference_hash() {
        // The reference ReplicaSet nginx-776d6489c8: its hash is the encoding
        // of the 32-bit sum 3328204574 (digits map to "45679bcdf"-shifted letters).
        assert_eq!(safe_encode("3328204574"), "776d6489c8");
        // kubelet-sim's web-sim-866b85f95b likewise.
        assert_eq!(safe_encode("4226419516"), "866b85f95b");
    }

    #[test]
    fn hash_changes_with_the_template_only() {
        let a = json!({"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "i:1"}]}});
        let b = json!({"spec": {"containers": [{"image": "i:1", "name": "c"}]}, "metadata": {"labels": {"app": "x"}}});
        let c = json!({"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "i:2"}]}});
        let h = template_hash(&a, None);
        assert!((6..=10).contains(&h.len()));
        assert!(h.bytes().all(|x| ALPHANUMS.contains(&x)));
        assert_eq!(h, template_hash(&b, None));
        assert_ne!(h, template_hash(&c, None));
        assert_ne!(h, template_hash(&a, Some(1)));
    }
}
