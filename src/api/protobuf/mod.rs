//! Decoding Kubernetes protobuf request bodies
//! (`application/vnd.kubernetes.protobuf`) into the JSON the same client would
//! have sent.
//!
//! kubectl 1.32+ writes typed objects (`create ns|configmap|secret|sa|...`)
//! as protobuf. Everything behind the request parser speaks JSON, so rather
//! than a second object model we translate once, at the door, into the
//! `serde_json::Value` Go's `encoding/json` would have produced for the same
//! Go struct: same names, same order, same omitted and `null` fields. Replies
//! stay JSON, which kubectl accepts.
//!
//! The body is `k8s\0` followed by a `runtime.Unknown` {typeMeta=1
//! {apiVersion=1, kind=2}, raw=2, contentEncoding=3, contentType=4}; `raw` is
//! the object's own message, read with the field tables in [`table`].

mod schema;
mod table;
mod wire;

use schema::{Card, Field, Message, Presence, Ty};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use wire::{Reader, Wire, WireError};

pub use schema::root;

/// The media type this module reads.
pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// The 4-byte prefix of every Kubernetes protobuf body.
const MAGIC: &[u8; 4] = b"k8s\0";

/// Nesting deeper than this is hostile: the deepest real object (a Pod in a
/// CronJob) is about 15 levels.
const MAX_DEPTH: u32 = 64;

/// At most this many JSON values per body, so a small body of empty
/// sub-messages cannot expand into gigabytes of defaults.
const MAX_VALUES: usize = 250_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The body names a kind we have no field table for.
    UnknownKind { api_version: String, kind: String },
    /// The body is not valid protobuf for its kind.
    Malformed(String),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::UnknownKind { api_version, kind } => {
                write!(f, "no protobuf schema for {api_version}, Kind={kind}")
            }
            DecodeError::Malformed(m) => f.write_str(m),
        }
    }
}

impl From<WireError> for DecodeError {
    fn from(e: WireError) -> DecodeError {
        DecodeError::Malformed(e.0)
    }
}

fn malformed<T>(msg: impl Into<String>) -> Result<T, DecodeError> {
    Err(DecodeError::Malformed(msg.into()))
}

/// The envelope's type information and object bytes.
struct Envelope<'a> {
    api_version: String,
    kind: String,
    raw: &'a [u8],
}

fn envelope(body: &[u8]) -> Result<Envelope<'_>, DecodeError> {
    let Some(rest) = body.strip_prefix(MAGIC) else {
        // Worded like apimachinery's error (Go prints the prefix as [107 56 115 0]).
        return malformed(
            "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]",
        );
    };
    let mut env = Envelope { api_version: String::new(), kind: String::new(), raw: &[] };
    let mut r = Reader::new(rest);
    while let Some((num, w)) = r.field()? {
        match (num, w) {
            (1, Wire::Len(tm)) => {
                let mut t = Reader::new(tm);
                while let Some((n, w)) = t.field()? {
                    match (n, w) {
                        (1, Wire::Len(s)) => env.api_version = utf8(s),
                        (2, Wire::Len(s)) => env.kind = utf8(s),
                        _ => {}
                    }
                }
            }
            (2, Wire::Len(raw)) => env.raw = raw,
            (3, Wire::Len(enc)) if !enc.is_empty() => {
                return malformed(format!("unsupported content encoding {:?}", utf8(enc)));
            }
            (3 | 4, Wire::Len(_)) => {}
            (1..=4, w) => {
                return malformed(format!("envelope field {num} has wire type {}", w.type_name()));
            }
            _ => {}
        }
    }
    Ok(env)
}

/// Decode a protobuf request body. `expected_kind` (from the URL) is used
/// only when the envelope carries no kind.
pub fn decode(body: &[u8], expected_kind: &str) -> Result<Value, DecodeError> {
    let env = envelope(body)?;
    let kind = if env.kind.is_empty() { expected_kind } else { &env.kind };
    let Some(schema) = root(&env.api_version, kind) else {
        return Err(DecodeError::UnknownKind {
            api_version: env.api_version.clone(),
            kind: kind.to_string(),
        });
    };
    let mut obj = Map::new();
    // TypeMeta comes first in every Go object, kind before apiVersion.
    obj.insert("kind".into(), Value::String(kind.to_string()));
    if !env.api_version.is_empty() {
        obj.insert("apiVersion".into(), Value::String(env.api_version.clone()));
    }
    let mut d = Decoder { budget: MAX_VALUES };
    d.message_into(env.raw, schema, 0, &mut obj)?;
    Ok(Value::Object(obj))
}

/// Go's JSON for invalid UTF-8 replaces it, so never fail on it.
fn utf8(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// What one field collected while its message was read.
enum Slot {
    One(Value),
    List(Vec<Value>),
    Map(BTreeMap<String, Value>),
}

struct Decoder {
    /// JSON values still allowed (see [`MAX_VALUES`]).
    budget: usize,
}

impl Decoder {
    fn spend(&mut self) -> Result<(), DecodeError> {
        match self.budget.checked_sub(1) {
            Some(b) => {
                self.budget = b;
                Ok(())
            }
            None => malformed(format!("object has more than {MAX_VALUES} values")),
        }
    }

    fn message(&mut self, buf: &[u8], m: &Message, depth: u32) -> Result<Value, DecodeError> {
        let mut obj = Map::new();
        self.message_into(buf, m, depth, &mut obj)?;
        Ok(Value::Object(obj))
    }

    /// Read `buf` as message `m` and add its JSON fields to `obj`, in Go's order.
    fn message_into(
        &mut self,
        buf: &[u8],
        m: &Message,
        depth: u32,
        obj: &mut Map<String, Value>,
    ) -> Result<(), DecodeError> {
        if depth > MAX_DEPTH {
            return malformed(format!("{} nested more than {MAX_DEPTH} levels deep", m.name));
        }
        let mut slots: Vec<Option<Slot>> = m.fields.iter().map(|_| None).collect();
        let mut r = Reader::new(buf);
        while let Some((num, w)) = r.field()? {
            // Unknown numbers are fields newer than our table: skip, as Go does.
            let Some((i, f)) = m.field(num) else { continue };
            let ctx = |e: DecodeError| match e {
                DecodeError::Malformed(s) => {
                    DecodeError::Malformed(format!("{}.{}: {s}", m.name, field_label(f)))
                }
                other => other,
            };
            match f.card {
                Card::One => {
                    let v = self.value(f.ty, w, depth).map_err(ctx)?;
                    slots[i] = Some(Slot::One(v));
                }
                Card::List => {
                    let items = match slots[i].get_or_insert_with(|| Slot::List(Vec::new())) {
                        Slot::List(items) => items,
                        _ => unreachable!("a list field only ever holds a list slot"),
                    };
                    match (f.ty, w) {
                        // Packed repeated scalars: one length-delimited run of varints.
                        (Ty::I32 | Ty::I64 | Ty::Bool, Wire::Len(run)) => {
                            let mut pr = Reader::new(run);
                            while !pr.at_end() {
                                let v = pr.varint().map_err(|e| ctx(e.into()))?;
                                self.spend()?;
                                items.push(scalar(f.ty, v));
                            }
                        }
                        _ => items.push(self.value(f.ty, w, depth).map_err(ctx)?),
                    }
                }
                Card::Map => {
                    let Wire::Len(entry) = w else {
                        return Err(ctx(wire_type_error(w)));
                    };
                    let (k, v) = self.map_entry(entry, f.ty, depth).map_err(ctx)?;
                    match slots[i].get_or_insert_with(|| Slot::Map(BTreeMap::new())) {
                        Slot::Map(entries) => entries.insert(k, v),
                        _ => unreachable!("a map field only ever holds a map slot"),
                    };
                }
            }
        }
        for (f, slot) in m.fields.iter().zip(slots) {
            let value = match slot {
                Some(Slot::One(v)) => v,
                Some(Slot::List(items)) => Value::Array(items),
                Some(Slot::Map(entries)) => Value::Object(entries.into_iter().collect()),
                None => match f.presence {
                    Presence::Req | Presence::Inline => self.zero(f, depth)?,
                    Presence::Nullable => Value::Null,
                    Presence::OmitEmpty | Presence::Ptr => continue,
                },
            };
            match f.presence {
                Presence::Inline => {
                    if let Value::Object(inner) = value {
                        obj.extend(inner);
                    }
                }
                Presence::OmitEmpty if is_empty(&value) => {}
                _ => {
                    obj.insert(f.name.to_string(), value);
                }
            }
        }
        Ok(())
    }

    /// One map entry {key=1, value=2}; a missing part is its zero value, as in Go.
    fn map_entry(
        &mut self,
        buf: &[u8],
        ty: Ty,
        depth: u32,
    ) -> Result<(String, Value), DecodeError> {
        let mut key = String::new();
        let mut value = None;
        let mut r = Reader::new(buf);
        while let Some((num, w)) = r.field()? {
            match (num, w) {
                (1, Wire::Len(k)) => key = utf8(k),
                (1, w) => return Err(wire_type_error(w)),
                (2, w) => value = Some(self.value(ty, w, depth)?),
                _ => {}
            }
        }
        let value = match value {
            Some(v) => v,
            None => self.zero_of(ty, depth)?,
        };
        Ok((key, value))
    }

    /// One field payload as JSON.
    fn value(&mut self, ty: Ty, w: Wire<'_>, depth: u32) -> Result<Value, DecodeError> {
        self.spend()?;
        match (ty, w) {
            (Ty::I32 | Ty::I64 | Ty::Bool, Wire::Varint(v)) => Ok(scalar(ty, v)),
            (Ty::Str, Wire::Len(b)) => Ok(Value::String(utf8(b))),
            (Ty::Bytes, Wire::Len(b)) => Ok(Value::String(base64_std(b))),
            (Ty::Time, Wire::Len(b)) => time(b, false),
            (Ty::MicroTime, Wire::Len(b)) => time(b, true),
            (Ty::IntOrStr, Wire::Len(b)) => int_or_string(b),
            (Ty::Qty, Wire::Len(b)) => quantity(b),
            (Ty::Raw, Wire::Len(b)) => raw_json(b),
            (Ty::StrList, Wire::Len(b)) => {
                let mut items = Vec::new();
                let mut r = Reader::new(b);
                while let Some((num, w)) = r.field()? {
                    match (num, w) {
                        (1, Wire::Len(s)) => {
                            self.spend()?;
                            items.push(Value::String(utf8(s)));
                        }
                        (1, w) => return Err(wire_type_error(w)),
                        _ => {}
                    }
                }
                Ok(Value::Array(items))
            }
            (Ty::Msg(m), Wire::Len(b)) => self.message(b, m, depth + 1),
            (_, w) => Err(wire_type_error(w)),
        }
    }

    /// What Go prints for a field that was never sent but is always printed.
    fn zero(&mut self, f: &Field, depth: u32) -> Result<Value, DecodeError> {
        match f.card {
            Card::One => self.zero_of(f.ty, depth),
            Card::List | Card::Map => Ok(Value::Null),
        }
    }

    fn zero_of(&mut self, ty: Ty, depth: u32) -> Result<Value, DecodeError> {
        self.spend()?;
        Ok(match ty {
            Ty::Str => Value::String(String::new()),
            Ty::I32 | Ty::I64 | Ty::IntOrStr => Value::from(0),
            Ty::Bool => Value::Bool(false),
            Ty::Qty => Value::String("0".into()),
            Ty::Bytes | Ty::Time | Ty::MicroTime | Ty::Raw | Ty::StrList => Value::Null,
            // A struct's zero value prints its own always-printed fields.
            Ty::Msg(m) => self.message(&[], m, depth + 1)?,
        })
    }
}

fn scalar(ty: Ty, v: u64) -> Value {
    match ty {
        // Go truncates an int32 read from a 64-bit varint.
        Ty::I32 => Value::from(v as i32),
        Ty::Bool => Value::Bool(v != 0),
        _ => Value::from(v as i64),
    }
}

fn wire_type_error(w: Wire<'_>) -> DecodeError {
    DecodeError::Malformed(format!("unexpected wire type {}", w.type_name()))
}

fn field_label(f: &Field) -> String {
    if f.name.is_empty() { format!("<inline {}>", f.num) } else { f.name.to_string() }
}

/// Go's omitempty test, for the value kinds a table field can produce.
fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_i64() == Some(0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

fn base64_std(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// Reads a small message of varint fields 1 and 2 (Timestamp, IntOrString head).
fn varints12(buf: &[u8]) -> Result<(i64, i64, Option<String>), DecodeError> {
    let (mut a, mut b, mut s) = (0i64, 0i64, None);
    let mut r = Reader::new(buf);
    while let Some((num, w)) = r.field()? {
        match (num, w) {
            (1, Wire::Varint(v)) => a = v as i64,
            (2, Wire::Varint(v)) => b = v as i64,
            (3, Wire::Len(v)) => s = Some(utf8(v)),
            (1..=3, w) => return Err(wire_type_error(w)),
            _ => {}
        }
    }
    Ok((a, b, s))
}

/// `metav1.Time`/`MicroTime`. An empty message is Go's zero time, which
/// prints as `null`. Time keeps whole seconds only, like apimachinery.
fn time(buf: &[u8], micro: bool) -> Result<Value, DecodeError> {
    if buf.is_empty() {
        return Ok(Value::Null);
    }
    let (secs, nanos, _) = varints12(buf)?;
    let nanos = nanos as i32;
    if micro && !(0..1_000_000_000).contains(&nanos) {
        return malformed(format!("timestamp nanos {nanos} out of range"));
    }
    let Some(s) = rfc3339(secs, micro.then_some(nanos as u32 / 1000)) else {
        return malformed(format!("timestamp {secs} outside years 0-9999"));
    };
    Ok(Value::String(s))
}

/// UTC RFC 3339 (`2006-01-02T15:04:05Z`, or `.000000Z` with micros), or
/// `None` outside the years Go's JSON encoder accepts.
fn rfc3339(secs: i64, micros: Option<u32>) -> Option<String> {
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Days to civil date (Howard Hinnant's algorithm), proleptic Gregorian.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    if !(0..=9999).contains(&year) {
        return None;
    }
    let (h, mi, s) = (sod / 3600, sod % 3600 / 60, sod % 60);
    let frac = micros.map(|u| format!(".{u:06}")).unwrap_or_default();
    Some(format!("{year:04}-{month:02}-{day:02}T{h:02}:{mi:02}:{s:02}{frac}Z"))
}

/// `intstr.IntOrString` {type=1 (0 int, 1 string), intVal=2, strVal=3}.
fn int_or_string(buf: &[u8]) -> Result<Value, DecodeError> {
    let (ty, int_val, str_val) = varints12(buf)?;
    Ok(match ty {
        1 => Value::String(str_val.unwrap_or_default()),
        _ => Value::from(int_val as i32),
    })
}

/// `resource.Quantity` {string=1}: clients send the canonical form already.
fn quantity(buf: &[u8]) -> Result<Value, DecodeError> {
    let mut s = String::new();
    let mut r = Reader::new(buf);
    while let Some((num, w)) = r.field()? {
        match (num, w) {
            (1, Wire::Len(v)) => s = utf8(v),
            (1, w) => return Err(wire_type_error(w)),
            _ => {}
        }
    }
    if s.is_empty() {
        s.push('0');
    }
    Ok(Value::String(s))
}

/// `runtime.RawExtension` / `metav1.FieldsV1` {raw=1}: Go prints the bytes
/// verbatim, so they must be JSON; none is `null`.
fn raw_json(buf: &[u8]) -> Result<Value, DecodeError> {
    let mut raw: &[u8] = &[];
    let mut r = Reader::new(buf);
    while let Some((num, w)) = r.field()? {
        match (num, w) {
            (1, Wire::Len(v)) => raw = v,
            (1, w) => return Err(wire_type_error(w)),
            _ => {}
        }
    }
    if raw.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(raw).or_else(|e| malformed(format!("embedded object is not JSON: {e}")))
}

#[cfg(test)]
mod tests;
