//! Label and field selectors, parsed and matched the way kube-apiserver does.
//!
//! The grammar, the order of checks and the error texts follow apimachinery's
//! `labels/selector.go`, `fields/selector.go` and the per-kind field label
//! conversions, because clients (and their users) see those messages verbatim in
//! 400 responses.

// `ApiError` is large (it carries Status details); every API function returns
// it, as the brief asks, so the size lint is silenced here rather than boxing.

use crate::api::error::{ApiError, ApiResult, go_quote};
use crate::kinds::ResourceType;
use serde_json::{Map, Value};
use std::fmt;

// ---------------------------------------------------------------------------
// Label selectors
// ---------------------------------------------------------------------------

/// A label selector operator (`selection.Operator`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Equals,
    DoubleEquals,
    NotEquals,
    In,
    NotIn,
    Exists,
    DoesNotExist,
    GreaterThan,
    LessThan,
}

/// One `key op values` term; a selector is the AND of its requirements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub key: String,
    pub op: Op,
    /// Sorted and de-duplicated, as Go's `sets.String` leaves them.
    pub values: Vec<String>,
}

impl Requirement {
    /// `labels.NewRequirement`: validates key, operator arity and values.
    /// Errors are already rendered as apimachinery's aggregated field errors.
    pub fn new(
        key: &str,
        op: Op,
        values: Vec<String>,
        path: Option<&str>,
    ) -> Result<Requirement, String> {
        let child = |c: &str| match path {
            Some(p) => format!("{p}.{c}"),
            None => c.to_string(),
        };
        let mut errs: Vec<String> = Vec::new();
        if let Some(e) = key_error(key) {
            errs.push(format!("{}: Invalid value: {}: {e}", child("key"), go_quote(key)));
        }
        let vpath = child("values");
        let list = || serde_json::to_string(&values).unwrap_or_default();
        match op {
            Op::In | Op::NotIn if values.is_empty() => errs.push(format!(
                "{vpath}: Invalid value: {}: for 'in', 'notin' operators, values set can't be empty",
                list()
            )),
            Op::Equals | Op::DoubleEquals | Op::NotEquals if values.len() != 1 => errs.push(format!(
                "{vpath}: Invalid value: {}: exact-match compatibility requires one single value",
                list()
            )),
            Op::Exists | Op::DoesNotExist if !values.is_empty() => errs.push(format!(
                "{vpath}: Invalid value: {}: values set must be empty for exists and does not exist",
                list()
            )),
            Op::GreaterThan | Op::LessThan => {
                if values.len() != 1 {
                    errs.push(format!(
                        "{vpath}: Invalid value: {}: for 'Gt', 'Lt' operators, exactly one value is required",
                        list()
                    ));
                }
                for (i, v) in values.iter().enumerate() {
                    if parse_go_int(v).is_none() {
                        errs.push(format!(
                            "{vpath}[{i}]: Invalid value: {}: for 'Gt', 'Lt' operators, the value must be an integer",
                            go_quote(v)
                        ));
                    }
                }
            }
            _ => {}
        }
        for (i, v) in values.iter().enumerate() {
            if let Some(e) = label_value_error(v) {
                errs.push(format!("{vpath}[{i}][{key}]: Invalid value: {}: {e}", go_quote(v)));
            }
        }
        if errs.is_empty() {
            Ok(Requirement { key: key.to_string(), op, values })
        } else {
            Err(aggregate(errs))
        }
    }

    pub fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        let got = labels.and_then(|l| l.get(&self.key)).map(|v| v.as_str().unwrap_or(""));
        let has = |v: &str| self.values.iter().any(|x| x == v);
        match self.op {
            Op::In | Op::Equals | Op::DoubleEquals => got.is_some_and(has),
            Op::NotIn | Op::NotEquals => got.is_none_or(|v| !has(v)),
            Op::Exists => got.is_some(),
            Op::DoesNotExist => got.is_none(),
            Op::GreaterThan | Op::LessThan => {
                let (Some(have), [want]) = (got.and_then(parse_go_int), self.values.as_slice())
                else {
                    return false;
                };
                let Some(want) = parse_go_int(want) else { return false };
                if self.op == Op::GreaterThan { have > want } else { have < want }
            }
        }
    }
}

impl fmt::Display for Requirement {
    /// Go's `Requirement.String()`, used where Kubernetes prints a selector
    /// (Scale `status.selector`, wide Table columns).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.op == Op::DoesNotExist {
            f.write_str("!")?;
        }
        f.write_str(&self.key)?;
        let op = match self.op {
            Op::Equals => "=",
            Op::DoubleEquals => "==",
            Op::NotEquals => "!=",
            Op::In => " in ",
            Op::NotIn => " notin ",
            Op::GreaterThan => ">",
            Op::LessThan => "<",
            Op::Exists | Op::DoesNotExist => return Ok(()),
        };
        f.write_str(op)?;
        let set = matches!(self.op, Op::In | Op::NotIn);
        if set {
            f.write_str("(")?;
        }
        // Go prints set values sorted without reordering the selector itself.
        let mut values: Vec<&str> = self.values.iter().map(String::as_str).collect();
        values.sort_unstable();
        f.write_str(&values.join(","))?;
        if set {
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// A parsed label selector. `nothing` is the selector of a null
/// `LabelSelector` object, which matches no object at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    pub requirements: Vec<Requirement>,
    nothing: bool,
}

impl LabelSelector {
    /// Parse the `labelSelector` query parameter (`labels.Parse`).
    /// Errors are 400 BadRequest with the apiserver's message.
    pub fn parse(s: &str) -> ApiResult<LabelSelector> {
        let mut p = Parser { items: lex(s), pos: 0 };
        let mut requirements = p.parse().map_err(ApiError::bad_request)?;
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(LabelSelector { requirements, nothing: false })
    }

    /// `metav1.LabelSelectorAsSelector` for a `{matchLabels, matchExpressions}`
    /// object (workload selectors). `null` selects nothing; `{}` everything.
    pub fn from_label_selector_object(v: &Value) -> ApiResult<LabelSelector> {
        let Some(obj) = v.as_object() else {
            return Ok(LabelSelector { requirements: Vec::new(), nothing: true });
        };
        let mut requirements = Vec::new();
        if let Some(Value::Object(ml)) = obj.get("matchLabels") {
            for (k, v) in ml {
                let val = v.as_str().unwrap_or_default().to_string();
                requirements.push(
                    Requirement::new(k, Op::Equals, vec![val], None)
                        .map_err(ApiError::bad_request)?,
                );
            }
        }
        if let Some(Value::Array(exprs)) = obj.get("matchExpressions") {
            for e in exprs {
                let key = e.get("key").and_then(Value::as_str).unwrap_or_default();
                let op_name = e.get("operator").and_then(Value::as_str).unwrap_or_default();
                let op = match op_name {
                    "In" => Op::In,
                    "NotIn" => Op::NotIn,
                    "Exists" => Op::Exists,
                    "DoesNotExist" => Op::DoesNotExist,
                    other => {
                        return Err(ApiError::bad_request(format!(
                            "{} is not a valid label selector operator",
                            go_quote(other)
                        )));
                    }
                };
                let values: Vec<String> = e
                    .get("values")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().map(|x| x.as_str().unwrap_or_default().to_string()).collect())
                    .unwrap_or_default();
                requirements
                    .push(Requirement::new(key, op, values, None).map_err(ApiError::bad_request)?);
            }
        }
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(LabelSelector { requirements, nothing: false })
    }

    /// Whether the selector does not restrict the selection (matches everything).
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        !self.nothing && self.requirements.is_empty()
    }

    pub fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        !self.nothing && self.requirements.iter().all(|r| r.matches(labels))
    }

    /// Match an object by its `metadata.labels`.
    pub fn matches_object(&self, obj: &Value) -> bool {
        self.matches(obj.get("metadata").and_then(|m| m.get("labels")).and_then(Value::as_object))
    }
}

impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Error,
    End,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
}

fn literal_token(s: &[u8]) -> Option<Tok> {
    Some(match s {
        b")" => Tok::ClosedPar,
        b"," => Tok::Comma,
        b"!" => Tok::DoesNotExist,
        b"==" => Tok::DoubleEquals,
        b"=" => Tok::Equals,
        b">" => Tok::GreaterThan,
        b"in" => Tok::In,
        b"<" => Tok::LessThan,
        b"!=" => Tok::NotEquals,
        b"notin" => Tok::NotIn,
        b"(" => Tok::OpenPar,
        _ => return None,
    })
}

fn is_special(b: u8) -> bool {
    matches!(b, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Tokenise the whole input up front, like Go's `Parser.scan`. A NUL byte ends
/// the input there, as it does in the Go lexer.
fn lex(s: &str) -> Vec<(Tok, String)> {
    let b = s.as_bytes();
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    let b = &b[..end];
    let mut i = 0;
    let mut out = Vec::new();
    loop {
        while i < b.len() && is_space(b[i]) {
            i += 1;
        }
        if i >= b.len() {
            out.push((Tok::End, String::new()));
            return out;
        }
        let start = i;
        if is_special(b[i]) {
            // Longest run of special characters that still forms a known token.
            let mut last: Option<(Tok, usize)> = None;
            while i < b.len() && is_special(b[i]) {
                match literal_token(&b[start..=i]) {
                    Some(t) => last = Some((t, i + 1)),
                    None if last.is_some() => break,
                    None => {}
                }
                i += 1;
            }
            match last {
                Some((t, e)) => {
                    i = e;
                    out.push((t, String::from_utf8_lossy(&b[start..e]).into_owned()));
                }
                None => {
                    let found = String::from_utf8_lossy(&b[start..i]);
                    out.push((Tok::Error, format!("error expected: keyword found '{found}'")));
                }
            }
        } else {
            while i < b.len() && !is_special(b[i]) && !is_space(b[i]) {
                i += 1;
            }
            let word = &b[start..i];
            let tok = match literal_token(word) {
                Some(t @ (Tok::In | Tok::NotIn)) => t,
                _ => Tok::Identifier,
            };
            out.push((tok, String::from_utf8_lossy(word).into_owned()));
        }
    }
}

struct Parser {
    items: Vec<(Tok, String)>,
    pos: usize,
}

/// In value position `in` and `notin` are ordinary words.
fn as_value(t: Tok) -> Tok {
    if matches!(t, Tok::In | Tok::NotIn) { Tok::Identifier } else { t }
}

impl Parser {
    fn peek(&self, values: bool) -> (Tok, String) {
        let (t, l) = self.items[self.pos.min(self.items.len() - 1)].clone();
        (if values { as_value(t) } else { t }, l)
    }

    fn next(&mut self, values: bool) -> (Tok, String) {
        let r = self.peek(values);
        if self.pos < self.items.len() - 1 {
            self.pos += 1;
        }
        r
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, String> {
        let mut reqs = Vec::new();
        loop {
            let (t, lit) = self.peek(true);
            match t {
                Tok::Identifier | Tok::DoesNotExist => {
                    let r = self
                        .requirement()
                        .map_err(|e| format!("unable to parse requirement: {e}"))?;
                    reqs.push(r);
                    let (t, l) = self.next(true);
                    match t {
                        Tok::End => return Ok(reqs),
                        Tok::Comma => {
                            let (t2, l2) = self.peek(true);
                            if t2 != Tok::Identifier && t2 != Tok::DoesNotExist {
                                return Err(format!(
                                    "found '{l2}', expected: identifier after ','"
                                ));
                            }
                        }
                        _ => return Err(format!("found '{l}', expected: ',' or 'end of string'")),
                    }
                }
                Tok::End => return Ok(reqs),
                _ => {
                    return Err(format!(
                        "found '{lit}', expected: !, identifier, or 'end of string'"
                    ));
                }
            }
        }
    }

    fn requirement(&mut self) -> Result<Requirement, String> {
        let (key, op) = self.key_and_inferred_op()?;
        if let Some(op @ (Op::Exists | Op::DoesNotExist)) = op {
            return Requirement::new(&key, op, Vec::new(), None);
        }
        let op = self.operator()?;
        let values = match op {
            Op::In | Op::NotIn => self.value_set()?,
            _ => self.exact_value()?,
        };
        Requirement::new(&key, op, values, None)
    }

    fn key_and_inferred_op(&mut self) -> Result<(String, Option<Op>), String> {
        let mut op = None;
        let (mut t, mut lit) = self.next(true);
        if t == Tok::DoesNotExist {
            op = Some(Op::DoesNotExist);
            (t, lit) = self.next(true);
        }
        if t != Tok::Identifier {
            return Err(format!("found '{lit}', expected: identifier"));
        }
        if let Some(e) = key_error(&lit) {
            return Err(format!("<nil>: Invalid value: {}: {e}", go_quote(&lit)));
        }
        if matches!(self.peek(true).0, Tok::End | Tok::Comma) && op.is_none() {
            op = Some(Op::Exists);
        }
        Ok((lit, op))
    }

    fn operator(&mut self) -> Result<Op, String> {
        let (t, lit) = self.next(false);
        Ok(match t {
            Tok::In => Op::In,
            Tok::Equals => Op::Equals,
            Tok::DoubleEquals => Op::DoubleEquals,
            Tok::GreaterThan => Op::GreaterThan,
            Tok::LessThan => Op::LessThan,
            Tok::NotIn => Op::NotIn,
            Tok::NotEquals => Op::NotEquals,
            _ => return Err(format!("found '{lit}', expected: in, notin, =, ==, !=, gt, lt")),
        })
    }

    fn value_set(&mut self) -> Result<Vec<String>, String> {
        let (t, lit) = self.next(true);
        if t != Tok::OpenPar {
            return Err(format!("found '{lit}' expected: '('"));
        }
        let (t, lit) = self.peek(true);
        match t {
            Tok::Identifier | Tok::Comma => {
                let s = self.identifiers()?;
                if self.next(true).0 != Tok::ClosedPar {
                    return Err(format!("found '{lit}', expected: ')'"));
                }
                Ok(s)
            }
            Tok::ClosedPar => {
                self.next(true);
                Ok(vec![String::new()])
            }
            _ => Err(format!("found '{lit}', expected: ',', ')' or identifier")),
        }
    }

    fn identifiers(&mut self) -> Result<Vec<String>, String> {
        let mut set: Vec<String> = Vec::new();
        let insert = |set: &mut Vec<String>, v: String| {
            if let Err(i) = set.binary_search(&v) {
                set.insert(i, v);
            }
        };
        loop {
            let (t, lit) = self.next(true);
            match t {
                Tok::Identifier => {
                    insert(&mut set, lit);
                    let (t2, l2) = self.peek(true);
                    match t2 {
                        Tok::Comma => continue,
                        Tok::ClosedPar => return Ok(set),
                        _ => return Err(format!("found '{l2}', expected: ',' or ')'")),
                    }
                }
                Tok::Comma => {
                    if set.is_empty() {
                        insert(&mut set, String::new());
                    }
                    match self.peek(true).0 {
                        Tok::ClosedPar => {
                            insert(&mut set, String::new());
                            return Ok(set);
                        }
                        Tok::Comma => {
                            self.next(true);
                            insert(&mut set, String::new());
                        }
                        _ => {}
                    }
                }
                _ => return Err(format!("found '{lit}', expected: ',', or identifier")),
            }
        }
    }

    fn exact_value(&mut self) -> Result<Vec<String>, String> {
        if matches!(self.peek(true).0, Tok::End | Tok::Comma) {
            return Ok(vec![String::new()]);
        }
        let (t, lit) = self.next(true);
        if t == Tok::Identifier {
            Ok(vec![lit])
        } else {
            Err(format!("found '{lit}', expected: identifier"))
        }
    }
}

/// `strconv.ParseInt(s, 10, 64)`.
fn parse_go_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `utilerrors.NewAggregate(...).Error()`: one message alone, several in brackets.
fn aggregate(mut errs: Vec<String>) -> String {
    let mut seen = Vec::new();
    errs.retain(|e| {
        if seen.contains(e) {
            false
        } else {
            seen.push(e.clone());
            true
        }
    });
    if errs.len() == 1 { errs.remove(0) } else { format!("[{}]", errs.join(", ")) }
}

/// `validation.RegexError`, including its quirky double spaces.
fn regex_error(msg: &str, re: &str, examples: &[&str]) -> String {
    let mut s = format!("{msg} (e.g. ");
    for (i, e) in examples.iter().enumerate() {
        if i > 0 {
            s.push_str(" or ");
        }
        s.push_str(&format!("'{e}', "));
    }
    s.push_str(&format!("regex used for validation is '{re}')"));
    s
}

const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`
fn is_qualified_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*`
fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|l| {
            let b = l.as_bytes();
            let ok = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
            !b.is_empty()
                && ok(&b[0])
                && ok(&b[b.len() - 1])
                && b.iter().all(|c| ok(c) || *c == b'-')
        })
}

/// `validation.IsQualifiedName` joined with `; `, or `None` when valid.
pub(crate) fn key_error(k: &str) -> Option<String> {
    let parts: Vec<&str> = k.split('/').collect();
    let mut errs: Vec<String> = Vec::new();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".into());
            } else {
                if prefix.len() > 253 {
                    errs.push("prefix part must be no more than 253 characters".into());
                }
                if !is_dns1123_subdomain(prefix) {
                    errs.push(format!(
                        "prefix part {}",
                        regex_error(
                            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
                            "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*",
                            &["example.com"],
                        )
                    ));
                }
            }
            *name
        }
        _ => {
            return Some(format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(
                    QUALIFIED_NAME_MSG,
                    QUALIFIED_NAME_FMT,
                    &["MyName", "my.name", "123-abc"]
                )
            ));
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".into());
    } else if name.len() > 63 {
        errs.push("name part must be no more than 63 characters".into());
    }
    if !is_qualified_name_part(name) {
        errs.push(format!(
            "name part {}",
            regex_error(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, &["MyName", "my.name", "123-abc"])
        ));
    }
    if errs.is_empty() { None } else { Some(errs.join("; ")) }
}

/// `validation.IsValidLabelValue` joined with `; `, or `None` when valid.
pub(crate) fn label_value_error(v: &str) -> Option<String> {
    let mut errs = Vec::new();
    if v.len() > 63 {
        errs.push("must be no more than 63 characters".to_string());
    }
    if !v.is_empty() && !is_qualified_name_part(v) {
        errs.push(regex_error(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
            "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?",
            &["MyValue", "my_value", "12345"],
        ));
    }
    if errs.is_empty() { None } else { Some(errs.join("; ")) }
}

// ---------------------------------------------------------------------------
// Field selectors
// ---------------------------------------------------------------------------

/// One `field=value` / `field!=value` term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldTerm {
    pub field: String,
    pub value: String,
    pub negate: bool,
}

/// A parsed `fieldSelector`; the AND of its terms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    pub terms: Vec<FieldTerm>,
}

impl FieldSelector {
    /// `fields.ParseSelector`: `,`-separated terms (a `\,` is data), operators
    /// `!=`, `==`, `=`, values unescaped (`\\`, `\,`, `\=`).
    pub fn parse(s: &str) -> ApiResult<FieldSelector> {
        let mut parts = split_terms(s);
        parts.sort();
        let mut terms = Vec::new();
        for part in parts.iter().filter(|p| !p.is_empty()) {
            let Some((lhs, op, rhs)) = split_term(part) else {
                return Err(ApiError::bad_request(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                )));
            };
            let value = unescape_value(rhs).map_err(ApiError::bad_request)?;
            terms.push(FieldTerm { field: lhs.to_string(), value, negate: op == "!=" });
        }
        Ok(FieldSelector { terms })
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The field label conversion of the kind: every field must be one the kind
    /// supports, else 400 with the kind's own wording.
    pub fn validate_for(&self, rt: &ResourceType) -> ApiResult<()> {
        for t in &self.terms {
            if let Err(msg) = check_field_label(rt, &t.field) {
                return Err(ApiError::bad_request(msg));
            }
        }
        Ok(())
    }

    /// Match an object; fields the object lacks read as the empty string.
    pub fn matches(&self, obj: &Value, rt: &ResourceType) -> bool {
        self.terms.iter().all(|t| {
            let got = field_value(obj, rt, &t.field);
            (got == t.value) != t.negate
        })
    }

    #[cfg(test)]
    /// The value the selector requires for `field` (`RequiresExactMatch`), e.g.
    /// to answer `metadata.name=x` from the index instead of scanning.
    pub fn exact(&self, field: &str) -> Option<&str> {
        self.terms.iter().find(|t| t.field == field && !t.negate).map(|t| t.value.as_str())
    }
}

fn field_value(obj: &Value, rt: &ResourceType, field: &str) -> String {
    let meta = |k: &str| {
        obj.get("metadata").and_then(|m| m.get(k)).and_then(Value::as_str).unwrap_or("").to_string()
    };
    match field {
        "metadata.name" => meta("name"),
        "metadata.namespace" => meta("namespace"),
        _ => rt.behavior.field(obj, field).unwrap_or_default(),
    }
}

/// Kinds without a registered conversion accept only the two metadata fields,
/// with apimachinery's generic message; the others use `field label not
/// supported: x`.
fn check_field_label(rt: &ResourceType, field: &str) -> Result<(), String> {
    match rt.behavior.field_labels() {
        None => {
            if field == "metadata.name" || field == "metadata.namespace" {
                Ok(())
            } else {
                Err(format!(
                    "{} is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
                    go_quote(field)
                ))
            }
        }
        Some(list) if list.contains(&field) => Ok(()),
        Some(_) => Err(format!("field label not supported: {field}")),
    }
}

/// Split on unescaped commas, keeping the escapes in the terms.
fn split_terms(s: &str) -> Vec<String> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut cur = String::new();
    let mut in_slash = false;
    for c in s.chars() {
        if in_slash {
            in_slash = false;
        } else if c == '\\' {
            in_slash = true;
        } else if c == ',' {
            terms.push(std::mem::take(&mut cur));
            continue;
        }
        cur.push(c);
    }
    terms.push(cur);
    terms
}

/// The first operator occurrence from the left splits the term.
fn split_term(term: &str) -> Option<(&str, &'static str, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for op in ["!=", "==", "="] {
            if let Some(rhs) = rest.strip_prefix(op) {
                return Some((&term[..i], op, rhs));
            }
        }
    }
    None
}

fn unescape_value(s: &str) -> Result<String, String> {
    if !s.contains(['\\', ',', '=']) {
        return Ok(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut in_slash = false;
    for c in s.chars() {
        if in_slash {
            match c {
                '\\' | ',' | '=' => out.push(c),
                _ => return Err(format!("invalid field selector: invalid escape sequence: \\{c}")),
            }
            in_slash = false;
            continue;
        }
        match c {
            '\\' => in_slash = true,
            // Go prints the rune with %v, i.e. as its number.
            ',' | '=' => {
                return Err(format!(
                    "invalid field selector: unescaped character in value: {}",
                    c as u32
                ));
            }
            _ => out.push(c),
        }
    }
    if in_slash {
        return Err("invalid field selector: invalid escape sequence: \\".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds;
    use serde_json::json;

    fn labels(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    fn err(s: &str) -> String {
        LabelSelector::parse(s).unwrap_err().message
    }

    #[test]
    fn reference_bad_label_selector() {
        let e = LabelSelector::parse("app===x").unwrap_err();
        let reference =
            std::fs::read_to_string("/work/shared/reference/errors/400-bad-label-selector.json");
        let expected = match reference {
            Ok(s) => serde_json::from_str::<Value>(&s).unwrap(),
            Err(_) => {
                json!({"message": "unable to parse requirement: found '=', expected: identifier", "code": 400})
            }
        };
        assert_eq!(e.to_status()["message"], expected["message"]);
        assert_eq!(e.code, 400);
        if expected.get("kind").is_some() {
            assert_eq!(e.to_status(), expected);
        }
    }

    #[test]
    fn all_operators_parse_and_match() {
        let l = labels(json!({"app": "web", "tier": "front", "n": "5"}));
        let yes = [
            "app=web",
            "app==web",
            "app!=db",
            "app in (web,db)",
            "app notin (db)",
            "app",
            "!missing",
            "n>3",
            "n<10",
            " app = web , tier in ( front ) ",
            "missing notin (x)",
            "missing!=x",
            "",
        ];
        for s in yes {
            let sel = LabelSelector::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert!(sel.matches(Some(&l)), "{s} should match");
        }
        let no = [
            "app=db",
            "app!=web",
            "app in (db)",
            "app notin (web)",
            "missing",
            "!app",
            "n>5",
            "n<5",
            "app>1",
        ];
        for s in no {
            let sel = LabelSelector::parse(s).unwrap();
            assert!(!sel.matches(Some(&l)), "{s} should not match");
        }
        assert!(LabelSelector::parse("").unwrap().is_empty());
        assert!(!LabelSelector::parse("a").unwrap().is_empty());
        assert!(LabelSelector::parse("a=").unwrap().matches(Some(&labels(json!({"a": ""})))));
        assert!(!LabelSelector::parse("a").unwrap().matches(None));
    }

    #[test]
    fn keywords_are_values_in_value_position() {
        let sel = LabelSelector::parse("x in (in,notin)").unwrap();
        assert_eq!(sel.requirements[0].values, vec!["in", "notin"]);
        assert!(LabelSelector::parse("x=in").unwrap().matches(Some(&labels(json!({"x": "in"})))));
    }

    #[test]
    fn parse_errors_match_apimachinery() {
        assert_eq!(err(",a"), "found ',', expected: !, identifier, or 'end of string'");
        assert_eq!(err("a,"), "found '', expected: identifier after ','");
        assert_eq!(
            err("a b"),
            "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"
        );
        assert_eq!(err("a in b"), "unable to parse requirement: found 'b' expected: '('");
        assert_eq!(
            err("a in (b c)"),
            "unable to parse requirement: found 'c', expected: ',' or ')'"
        );
        assert_eq!(
            err("a in (=)"),
            "unable to parse requirement: found '=', expected: ',', ')' or identifier"
        );
        assert_eq!(err("a=b c"), "found 'c', expected: ',' or 'end of string'");
        assert_eq!(
            err("a>b"),
            "unable to parse requirement: values[0]: Invalid value: \"b\": for 'Gt', 'Lt' operators, the value must be an integer"
        );
        assert_eq!(
            err("a_=b"),
            "unable to parse requirement: <nil>: Invalid value: \"a_\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
        );
        assert_eq!(
            err("a=b_"),
            "unable to parse requirement: values[0][a]: Invalid value: \"b_\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
        );
        assert!(err("Ex/a=b").starts_with("unable to parse requirement: <nil>: Invalid value: \"Ex/a\": prefix part a lowercase RFC 1123"));
        assert!(err("a/b/c").contains("a qualified name must consist"));
    }

    #[test]
    fn valid_keys_with_prefix() {
        let sel = LabelSelector::parse("app.kubernetes.io/name=web,node-role.kubernetes.io/edge")
            .unwrap();
        assert_eq!(sel.requirements.len(), 2);
        assert_eq!(sel.to_string(), "app.kubernetes.io/name=web,node-role.kubernetes.io/edge");
    }

    #[test]
    fn selector_object() {
        let sel = LabelSelector::from_label_selector_object(&json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]}]
        }))
        .unwrap();
        assert!(sel.matches(Some(&labels(json!({"app": "web", "tier": "a"})))));
        assert!(!sel.matches(Some(&labels(json!({"app": "web", "tier": "c"})))));
        assert_eq!(sel.to_string(), "app=web,tier in (a,b)");
        assert!(LabelSelector::from_label_selector_object(&json!({})).unwrap().is_empty());
        let none = LabelSelector::from_label_selector_object(&Value::Null).unwrap();
        assert!(!none.is_empty());
        assert!(!none.matches(None));
        let bad = LabelSelector::from_label_selector_object(
            &json!({"matchExpressions": [{"key": "a", "operator": "Foo"}]}),
        )
        .unwrap_err();
        assert_eq!(bad.message, "\"Foo\" is not a valid label selector operator");
        let empty_in = LabelSelector::from_label_selector_object(
            &json!({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}),
        )
        .unwrap_err();
        assert_eq!(
            empty_in.message,
            "values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty"
        );
    }

    #[test]
    fn field_selector_parse_and_escapes() {
        let fs = FieldSelector::parse("metadata.name=a\\,b,type!=x").unwrap();
        assert_eq!(fs.terms.len(), 2);
        assert_eq!(fs.terms[0].value, "a,b");
        assert!(fs.terms.iter().any(|t| t.field == "type" && t.negate));
        assert_eq!(FieldSelector::parse("a==b").unwrap().terms[0].value, "b");
        assert_eq!(
            FieldSelector::parse("ab").unwrap_err().message,
            "invalid selector: 'ab'; can't understand 'ab'"
        );
        assert_eq!(
            FieldSelector::parse("a=b=c").unwrap_err().message,
            "invalid field selector: unescaped character in value: 61"
        );
        assert_eq!(
            FieldSelector::parse("a=b\\x").unwrap_err().message,
            "invalid field selector: invalid escape sequence: \\x"
        );
        assert_eq!(FieldSelector::parse("a=b\\=c\\\\").unwrap().terms[0].value, "b=c\\");
        assert!(FieldSelector::parse("").unwrap().is_empty());
        assert_eq!(
            FieldSelector::parse("metadata.name=x").unwrap().exact("metadata.name"),
            Some("x")
        );
    }

    #[test]
    fn field_labels_per_kind() {
        let pods_like = FieldSelector::parse("spec.bogus=x").unwrap();
        let e = pods_like.validate_for(&kinds::secret::SECRETS).unwrap_err();
        assert_eq!(e.message, "field label not supported: spec.bogus");
        let reference =
            std::fs::read_to_string("/work/shared/reference/errors/400-bad-field-selector.json");
        if let Ok(r) = reference {
            assert_eq!(e.to_status(), serde_json::from_str::<Value>(&r).unwrap());
        }
        let e = pods_like.validate_for(&kinds::configmap::CONFIGMAPS).unwrap_err();
        assert_eq!(
            e.message,
            "\"spec.bogus\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
        );
        let ns = FieldSelector::parse("metadata.namespace=x").unwrap();
        assert!(ns.validate_for(&kinds::configmap::CONFIGMAPS).is_ok());
        assert!(ns.validate_for(&kinds::node::NODES).is_err());
        assert!(
            FieldSelector::parse("type=Opaque")
                .unwrap()
                .validate_for(&kinds::secret::SECRETS)
                .is_ok()
        );
        assert!(
            FieldSelector::parse("status.phase=Active")
                .unwrap()
                .validate_for(&kinds::namespace::NAMESPACES)
                .is_ok()
        );
        assert!(
            FieldSelector::parse("regarding.name=x")
                .unwrap()
                .validate_for(&kinds::event::EVENTS_K8S_IO)
                .is_ok()
        );
        assert!(
            FieldSelector::parse("involvedObject.name=x")
                .unwrap()
                .validate_for(&kinds::event::EVENTS)
                .is_ok()
        );
    }

    #[test]
    fn field_selector_matches() {
        let obj = json!({"metadata": {"name": "a", "namespace": "demo"}, "type": "Opaque"});
        let rt = &kinds::secret::SECRETS;
        assert!(FieldSelector::parse("metadata.name=a").unwrap().matches(&obj, rt));
        assert!(
            FieldSelector::parse("metadata.namespace=demo,type=Opaque").unwrap().matches(&obj, rt)
        );
        assert!(!FieldSelector::parse("metadata.name!=a").unwrap().matches(&obj, rt));
        assert!(!FieldSelector::parse("type=kubernetes.io/tls").unwrap().matches(&obj, rt));
        let ev = json!({"metadata": {"name": "e"}, "involvedObject": {"kind": "Pod", "name": "p"}});
        assert!(
            FieldSelector::parse("involvedObject.kind=Pod,involvedObject.name=p")
                .unwrap()
                .matches(&ev, &kinds::event::EVENTS)
        );
        let node = json!({"metadata": {"name": "n"}, "spec": {}});
        assert!(
            FieldSelector::parse("spec.unschedulable=false")
                .unwrap()
                .matches(&node, &kinds::node::NODES)
        );
    }
}
