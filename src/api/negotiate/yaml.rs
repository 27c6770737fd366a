//! A block-style YAML writer for JSON values that reproduces go-yaml v2's
//! output (what kube-apiserver sends for `Accept: application/yaml`): sorted
//! keys, lists at their key's indentation, `|` literals for multi-line strings,
//! and go-yaml's choice between plain, `'single'` and `"double"` quoting.
//!
//! Not reproduced: go-yaml folds scalars longer than 80 columns.

use serde_json::{Map, Value};

/// The YAML document for `v` (a trailing newline included).
pub fn to_string(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Object(m) if !m.is_empty() => map(m, 0, &mut out),
        Value::Array(a) if !a.is_empty() => list(a, 0, &mut out),
        _ => {
            out.push_str(&scalar(v, 0, false));
            out.push('\n');
        }
    }
    out
}

fn pad(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn sorted_keys(m: &Map<String, Value>) -> Vec<&String> {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    keys
}

/// A block map whose first key is already positioned (by a `- ` or indent).
fn map(m: &Map<String, Value>, indent: usize, out: &mut String) {
    for (i, k) in sorted_keys(m).into_iter().enumerate() {
        if i > 0 {
            pad(out, indent);
        }
        out.push_str(&string(k, indent, true));
        out.push(':');
        value(&m[k], indent, true, out);
    }
}

fn list(a: &[Value], indent: usize, out: &mut String) {
    for (i, v) in a.iter().enumerate() {
        if i > 0 {
            pad(out, indent);
        }
        out.push('-');
        value(v, indent, false, out);
    }
}

/// Writes what follows `key:` or `-`, through the end of the line(s).
fn value(v: &Value, indent: usize, in_map: bool, out: &mut String) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            if in_map {
                out.push('\n');
                pad(out, indent + 2);
            } else {
                out.push(' ');
            }
            map(m, indent + 2, out);
        }
        Value::Array(a) if !a.is_empty() => {
            if in_map {
                // go-yaml v2 does not indent a list under its key.
                out.push('\n');
                pad(out, indent);
                list(a, indent, out);
            } else {
                out.push(' ');
                list(a, indent + 2, out);
            }
        }
        _ => {
            out.push(' ');
            out.push_str(&scalar(v, indent + 2, false));
            out.push('\n');
        }
    }
}

fn scalar(v: &Value, indent: usize, key: bool) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s, indent, key),
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
    }
}

/// Choose the style go-yaml v2 (libyaml's emitter) would use for a string.
fn string(s: &str, indent: usize, key: bool) -> String {
    let a = analyze(s);
    if s.contains('\n') && !key && a.block_allowed {
        return literal(s, indent);
    }
    if s.contains('\n') || !resolves_to_str(s) || is_base60_float(s) || a.special {
        return double_quoted(s);
    }
    if a.plain_allowed {
        return s.to_string();
    }
    if a.single_allowed {
        return format!("'{}'", s.replace('\'', "''"));
    }
    double_quoted(s)
}

struct Analysis {
    plain_allowed: bool,
    single_allowed: bool,
    block_allowed: bool,
    special: bool,
}

fn is_printable(c: char) -> bool {
    matches!(c, '\n' | '\u{20}'..='\u{7e}' | '\u{85}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
        && c != '\u{feff}'
}

/// A condensed `yaml_emitter_analyze_scalar` for block context.
fn analyze(s: &str) -> Analysis {
    let chars: Vec<char> = s.chars().collect();
    let mut a =
        Analysis { plain_allowed: true, single_allowed: true, block_allowed: true, special: false };
    if chars.is_empty() {
        a.plain_allowed = false;
        return a;
    }
    if (s.starts_with("---") || s.starts_with("..."))
        && chars.get(3).is_none_or(|c| c.is_whitespace())
    {
        a.plain_allowed = false;
    }
    let blank_at = |i: usize| chars.get(i).is_none_or(|c| matches!(c, ' ' | '\t' | '\n' | '\r'));
    let (mut prev_space, mut prev_break) = (false, false);
    let (mut space_break, mut break_space, mut line_breaks) = (false, false, false);
    for (i, &c) in chars.iter().enumerate() {
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => a.plain_allowed = false,
                '?' | ':' | '-' if blank_at(1) => a.plain_allowed = false,
                _ => {}
            }
        } else {
            match c {
                ':' if blank_at(i + 1) => a.plain_allowed = false,
                '#' if matches!(chars[i - 1], ' ' | '\t' | '\n') => a.plain_allowed = false,
                _ => {}
            }
        }
        if !is_printable(c) {
            a.special = true;
        }
        if c == '\n' {
            line_breaks = true;
        }
        if c == ' ' {
            if i == 0 || i == chars.len() - 1 {
                a.plain_allowed = false;
            }
            if i == chars.len() - 1 {
                a.block_allowed = false;
            }
            if prev_break {
                break_space = true;
            }
            prev_space = true;
            prev_break = false;
        } else if c == '\n' {
            if i == 0 || i == chars.len() - 1 {
                a.plain_allowed = false;
            }
            if prev_space {
                space_break = true;
            }
            prev_break = true;
            prev_space = false;
        } else {
            prev_space = false;
            prev_break = false;
        }
    }
    if break_space {
        a.plain_allowed = false;
        a.single_allowed = false;
    }
    if space_break || a.special {
        a.plain_allowed = false;
        a.single_allowed = false;
        a.block_allowed = false;
    }
    if line_breaks {
        a.plain_allowed = false;
    }
    a
}

fn literal(s: &str, indent: usize) -> String {
    let mut head = String::from("|");
    if s.starts_with([' ', '\n']) {
        head.push('2');
    }
    let trailing = s.len() - s.trim_end_matches('\n').len();
    match trailing {
        0 => head.push('-'),
        1 => {}
        _ => head.push('+'),
    }
    let body = s.strip_suffix('\n').unwrap_or(s);
    let mut out = head;
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            out.extend(std::iter::repeat_n(' ', indent));
            out.push_str(line);
        }
    }
    out
}

fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{b}' => out.push_str("\\v"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\u{1b}' => out.push_str("\\e"),
            '\u{85}' => out.push_str("\\N"),
            '\u{a0}' => out.push_str("\\_"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if !is_printable(c) => {
                let n = c as u32;
                if n <= 0xff {
                    out.push_str(&format!("\\x{n:02X}"));
                } else if n <= 0xffff {
                    out.push_str(&format!("\\u{n:04X}"));
                } else {
                    out.push_str(&format!("\\U{n:08X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// go-yaml v2's `resolve`: would this text, written plain, read back as a
/// string (and not a bool, null, number or timestamp of YAML 1.1)?
fn resolves_to_str(s: &str) -> bool {
    const SPECIAL: &[&str] = &[
        "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "n", "N", "no",
        "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "", "~", "null", "Null",
        "NULL", ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf",
        "-.Inf", "-.INF", "<<",
    ];
    if SPECIAL.contains(&s) {
        return false;
    }
    match s.as_bytes()[0] {
        b'.' => s.parse::<f64>().is_err() || !looks_numeric(s),
        b'0'..=b'9' | b'+' | b'-' => {
            if is_timestamp(s) {
                return false;
            }
            let plain = s.replace('_', "");
            !(go_parse_int(&plain) || is_yaml_float(&plain) || is_binary(&plain))
        }
        _ => true,
    }
}

/// Rust's f64 parser also takes "inf"/"nan"; Go's ParseFloat on a leading '.'
/// only succeeds for digits.
fn looks_numeric(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-' | b'_'))
}

/// `strconv.ParseInt(s, 0, 64)` or `ParseUint`: decimal, `0x`, `0o`, `0b`, or
/// a leading-`0` octal.
fn go_parse_int(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (digits, radix) =
        if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            (h, 16)
        } else if let Some(o) = body.strip_prefix("0o").or_else(|| body.strip_prefix("0O")) {
            (o, 8)
        } else if let Some(b) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
            (b, 2)
        } else if body.len() > 1 && body.starts_with('0') {
            (&body[1..], 8)
        } else {
            (body, 10)
        };
    !digits.is_empty() && u64::from_str_radix(digits, radix).is_ok()
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_float(s: &str) -> bool {
    let b = s.strip_prefix(['+', '-']).unwrap_or(s).as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.first() == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

fn is_binary(s: &str) -> bool {
    let body = s.strip_prefix('-').unwrap_or(s);
    body.strip_prefix("0b")
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b == b'0' || b == b'1'))
}

/// go-yaml's timestamp forms: `YYYY-M-D`, optionally `T`/`t`/space, a time,
/// fraction and zone.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 8 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let num = |i: &mut usize, max: usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() && *i - start < max {
            *i += 1;
        }
        *i > start
    };
    let mut i = 5;
    if !num(&mut i, 2) || b.get(i) != Some(&b'-') {
        return false;
    }
    i += 1;
    if !num(&mut i, 2) {
        return false;
    }
    if i == b.len() {
        return true;
    }
    if !matches!(b[i], b'T' | b't' | b' ') {
        return false;
    }
    i += 1;
    for sep in [b':', b':'] {
        if !num(&mut i, 2) || b.get(i) != Some(&sep) {
            return false;
        }
        i += 1;
    }
    if !num(&mut i, 2) {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !num(&mut i, 9) {
            return false;
        }
    }
    match &s[i..] {
        "" | "Z" => true,
        z => {
            let zb = z.as_bytes();
            zb.len() == 6 && matches!(zb[0], b'+' | b'-') && zb[3] == b':'
        }
    }
}

/// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`
fn is_base60_float(s: &str) -> bool {
    if !s.contains(':') {
        return false;
    }
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (main, frac) = match body.split_once('.') {
        Some((m, f)) => (m, Some(f)),
        None => (body, None),
    };
    if frac.is_some_and(|f| !f.bytes().all(|b| b.is_ascii_digit() || b == b'_')) {
        return false;
    }
    let mut parts = main.split(':');
    let first = parts.next().unwrap_or("");
    if !first.starts_with(|c: char| c.is_ascii_digit())
        || !first.bytes().all(|b| b.is_ascii_digit() || b == b'_')
    {
        return false;
    }
    parts.all(|p| {
        let pb = p.as_bytes();
        match pb.len() {
            1 => pb[0].is_ascii_digit(),
            2 => (b'0'..=b'5').contains(&pb[0]) && pb[1].is_ascii_digit(),
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Includes go-yaml v2's YAML 1.1 quirks: the key `n` is a bool to it, and
    /// `08` a float.
    #[test]
    fn quoting_follows_go_yaml() {
        let v = json!({
            "a": "232", "b": "2026-11-26T07:14:41Z", "c": "true", "d": "", "e": "plain text",
            "f": "x: y", "g": "- x", "h": " lead", "i": "1.5", "j": "0x1F", "k": "Normal",
            "l": "#c", "m": "a #b", "n": "it's", "o": "tab\there", "p": "1:30", "q": "yes",
            "r": "f:data", "s": "08", "t": "1e5", "u": ".5", "v": "~"
        });
        let out = to_string(&v);
        let expect = "a: \"232\"\nb: \"2026-11-26T07:14:41Z\"\nc: \"true\"\nd: \"\"\ne: plain text\nf: 'x: y'\ng: '- x'\nh: ' lead'\ni: \"1.5\"\nj: \"0x1F\"\nk: Normal\nl: '#c'\nm: 'a #b'\n\"n\": it's\no: \"tab\\there\"\np: \"1:30\"\nq: \"yes\"\nr: f:data\ns: \"08\"\nt: \"1e5\"\nu: \".5\"\nv: \"~\"\n";
        assert_eq!(out, expect);
    }

    #[test]
    fn structure() {
        let v = json!({"list": [{"a": 1, "b": [1, 2]}, [3], {}], "empty": [], "m": {}, "n": null, "lit": "a\n\nb\n", "keep": "x\n\n", "strip": "x\ny"});
        assert_eq!(
            to_string(&v),
            "empty: []\nkeep: |+\n  x\n\nlist:\n- a: 1\n  b:\n  - 1\n  - 2\n- - 3\n- {}\nlit: |\n  a\n\n  b\nm: {}\n\"n\": null\nstrip: |-\n  x\n  y\n"
        );
    }
}
