//! Kubernetes resource quantities (`100m`, `64Mi`, `1.5`, `2e3`), parsed into
//! an exact integer count of nano-units so sums and comparisons are exact, as
//! `resource.Quantity` is, without floating point.

use std::fmt;

/// A parsed quantity, in units of 10⁻⁹ (the smallest Kubernetes suffix, `n`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Quantity {
    nanos: i128,
}

const NANO: i128 = 1_000_000_000;

impl Quantity {
    pub const ZERO: Quantity = Quantity { nanos: 0 };

    /// Parses the Kubernetes quantity syntax: a signed decimal number followed by
    /// a binary suffix (`Ki` … `Ei`), a decimal suffix (`n u m "" k M G T P E`) or a
    /// decimal exponent (`e3`, `E-2`). Digits finer than a nano-unit round up, as
    /// Kubernetes rounds. `None` for anything else (or values beyond ~10²⁹).
    pub fn parse(s: &str) -> Option<Quantity> {
        let s = s.trim();
        let (neg, body) = match s.as_bytes().first()? {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let num_end = body.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(body.len());
        let (num, suffix) = body.split_at(num_end);
        let (int_part, frac_part) = num.split_once('.').unwrap_or((num, ""));
        if (int_part.is_empty() && frac_part.is_empty()) || frac_part.contains('.') {
            return None;
        }
        // Decimal exponent (power of ten) and binary exponent (power of two) of the suffix.
        let (exp10, exp2): (i32, u32) = match suffix {
            "" => (0, 0),
            "n" => (-9, 0),
            "u" => (-6, 0),
            "m" => (-3, 0),
            "k" => (3, 0),
            "M" => (6, 0),
            "G" => (9, 0),
            "T" => (12, 0),
            "P" => (15, 0),
            "E" => (18, 0),
            "Ki" => (0, 10),
            "Mi" => (0, 20),
            "Gi" => (0, 30),
            "Ti" => (0, 40),
            "Pi" => (0, 50),
            "Ei" => (0, 60),
            _ => {
                let exp = suffix.strip_prefix(['e', 'E'])?;
                let digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                (exp.parse::<i32>().ok()?, 0)
            }
        };
        let mut mantissa: i128 = 0;
        for b in int_part.bytes().chain(frac_part.bytes()) {
            mantissa = mantissa.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
        }
        // value = mantissa × 10^(exp10 − frac digits) × 2^exp2, in nanos: × 10^9.
        let scale = exp10.checked_add(9)?.checked_sub(i32::try_from(frac_part.len()).ok()?)?;
        let mut n = mantissa.checked_mul(1i128.checked_shl(exp2)?)?;
        if scale >= 0 {
            n = n.checked_mul(10i128.checked_pow(u32::try_from(scale).ok()?)?)?;
        } else {
            let div = 10i128.checked_pow(u32::try_from(-scale).ok()?);
            n = match div {
                Some(d) => (n + d - 1) / d,
                // Smaller than any representable fraction: rounds up to one nano-unit.
                None => i128::from(n > 0),
            };
        }
        Some(Quantity { nanos: if neg { -n } else { n } })
    }

    /// The value in nano-units.
    #[cfg(test)]
    pub fn nanos(self) -> i128 {
        self.nanos
    }

    /// `Quantity.MilliValue()`: thousandths, rounded up.
    pub fn milli_value(self) -> i64 {
        clamp(ceil_div(self.nanos, NANO / 1000))
    }

    /// `Quantity.Value()`: whole units, rounded up.
    pub fn value(self) -> i64 {
        clamp(ceil_div(self.nanos, NANO))
    }

    pub fn is_zero(self) -> bool {
        self.nanos == 0
    }

    pub fn is_positive(self) -> bool {
        self.nanos > 0
    }

    pub fn saturating_add(self, other: Quantity) -> Quantity {
        Quantity { nanos: self.nanos.saturating_add(other.nanos) }
    }
}

impl fmt::Display for Quantity {
    /// Plain decimal form (`0.1`, `67108864`); only for messages and tests.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (int, frac) = (self.nanos / NANO, (self.nanos % NANO).abs());
        if frac == 0 {
            write!(f, "{int}")
        } else {
            let sign = if self.nanos < 0 && int == 0 { "-" } else { "" };
            let frac = format!("{frac:09}");
            write!(f, "{sign}{int}.{}", frac.trim_end_matches('0'))
        }
    }
}

fn ceil_div(a: i128, b: i128) -> i128 {
    let q = a / b;
    if a % b > 0 { q + 1 } else { q }
}

fn clamp(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap_or_else(|| panic!("{s} should parse"))
    }

    #[test]
    fn suffixes() {
        assert_eq!(q("64Mi").value(), 64 * 1024 * 1024);
        assert_eq!(q("1Ki").value(), 1024);
        assert_eq!(q("2Gi").value(), 2 << 30);
        assert_eq!(q("1Ei").value(), 1 << 60);
        assert_eq!(q("128M").value(), 128_000_000);
        assert_eq!(q("1k").value(), 1000);
        assert_eq!(q("1G").value(), 1_000_000_000);
        assert_eq!(q("100m").milli_value(), 100);
        assert_eq!(q("250u").nanos(), 250_000);
        assert_eq!(q("5n").nanos(), 5);
        assert_eq!(q("2").milli_value(), 2000);
    }

    #[test]
    fn decimals_and_exponents() {
        assert_eq!(q("0.5").milli_value(), 500);
        assert_eq!(q("1.5Gi").value(), 3 << 29);
        assert_eq!(q(".5").milli_value(), 500);
        assert_eq!(q("1e3").value(), 1000);
        assert_eq!(q("1E3").value(), 1000);
        assert_eq!(q("12e-3").milli_value(), 12);
        assert_eq!(q("+1").value(), 1);
        assert_eq!(q("-1").value(), -1);
        assert_eq!(q("0").nanos(), 0);
    }

    #[test]
    fn rounding_is_upwards() {
        // 100m CPU is 0.1 whole units: Value() rounds up to 1.
        assert_eq!(q("100m").value(), 1);
        assert_eq!(q("1.0001m").milli_value(), 2);
        // Below a nano-unit still counts as one.
        assert_eq!(q("1e-12").nanos(), 1);
        assert_eq!(q("0.1n").nanos(), 1);
    }

    #[test]
    fn exact_comparison_across_forms() {
        assert_eq!(q("1Gi"), q("1073741824"));
        assert_eq!(q("0.1"), q("100m"));
        assert_eq!(q("100m").saturating_add(q("200m")), q("0.3"));
        assert!(q("1") > q("999m"));
    }

    #[test]
    fn rejects_bad_syntax() {
        for bad in
            ["", "abc", "1Kb", "1K", "Mi", "1..2", "1.2.3", "1e", "1e+", "--1", "1 Mi", "1mi"]
        {
            assert_eq!(Quantity::parse(bad), None, "{bad}");
        }
        assert_eq!(Quantity::parse("1e400"), None);
    }

    #[test]
    fn display() {
        assert_eq!(q("100m").to_string(), "0.1");
        assert_eq!(q("64Mi").to_string(), "67108864");
        assert_eq!(q("-500m").to_string(), "-0.5");
    }
}
