//! The 80-bit x87 `long double` that Redis's `INCRBYFLOAT` computes in, emulated exactly:
//! parsing as `strtold` rounds, one addition, and printing as `printf("%.17Lf")` with
//! Redis's trailing-zero trim. Pure arithmetic on big integers; knows nothing of keys.
//!
//! Why not `f64`: Redis answers `1.1 + 2.2` with `3.3`, and a 53-bit double with
//! `3.30000000000000027`; clients compare these strings. A 64-bit mantissa rounded the way
//! the x87 rounds gives Redis's text digit for digit.

use num_bigint::BigUint;
use num_traits::{One, Zero};

/// Bits of the mantissa, the integer bit included.
const MANTISSA_BITS: u64 = 64;
/// The smallest exponent `e` of a value `m * 2^e` (subnormals use it with `m < 2^63`).
const MIN_EXP: i64 = -16382 - 63;
/// The largest exponent `e` of a finite value `m * 2^e`.
const MAX_EXP: i64 = 16383 - 63;
/// Redis refuses a float text this long or longer (`MAX_LONG_DOUBLE_CHARS`).
const MAX_CHARS: usize = 5 * 1024;

/// A finite x87 extended value `±m * 2^e`, or an infinity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum LongDouble {
    Finite { negative: bool, m: u64, e: i64 },
    Infinite { negative: bool },
}

impl LongDouble {
    /// Parses `text` as Redis's `string2ld` does: decimal (`-1.5`, `.5`, `1e3`, `+2`) or
    /// `inf`/`infinity`; `None` for anything else (spaces, NaN, trailing bytes, overflow or
    /// underflow to zero of a non-zero text). Hexadecimal floats, which `strtold` also
    /// reads, are refused.
    pub(super) fn parse(text: &[u8]) -> Option<LongDouble> {
        if text.is_empty() || text.len() >= MAX_CHARS {
            return None;
        }
        let (negative, body) = match text[0] {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
            return Some(LongDouble::Infinite { negative });
        }
        let (mantissa, exponent) = match body.iter().position(|b| matches!(b, b'e' | b'E')) {
            Some(at) => (&body[..at], Some(&body[at + 1..])),
            None => (body, None),
        };
        let (int, frac) = match mantissa.iter().position(|b| *b == b'.') {
            Some(at) => (&mantissa[..at], &mantissa[at + 1..]),
            None => (mantissa, &mantissa[..0]),
        };
        let all_digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
        if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
            return None;
        }
        let mut exp10: i64 = match exponent {
            None => 0,
            Some(e) => {
                let (sign, digits) = match e.first() {
                    Some(b'-') => (-1, &e[1..]),
                    Some(b'+') => (1, &e[1..]),
                    _ => (1, e),
                };
                if digits.is_empty() || !all_digits(digits) {
                    return None;
                }
                // Saturate: anything past ±10^6 over- or underflows whatever the digits.
                let n = digits
                    .iter()
                    .try_fold(0i64, |n, d| n.checked_mul(10)?.checked_add(i64::from(d - b'0')))
                    .unwrap_or(i64::MAX)
                    .min(1_000_000);
                sign * n
            }
        };
        exp10 -= frac.len() as i64;
        let digits: Vec<u8> = int.iter().chain(frac).copied().collect();
        let d = BigUint::parse_bytes(&digits, 10)?;
        if d.is_zero() {
            return Some(LongDouble::Finite { negative, m: 0, e: 0 });
        }
        // The value is about 10^magnitude: refuse what cannot be a finite non-zero value
        // before building huge powers of ten.
        let magnitude = d.to_string().len() as i64 + exp10;
        if !(-4952..=4933).contains(&magnitude) {
            return None;
        }
        let (num, den) = if exp10 >= 0 {
            (d * pow10(exp10 as u64), BigUint::one())
        } else {
            (d, pow10(exp10.unsigned_abs()))
        };
        match round(negative, num, den, 0) {
            LongDouble::Finite { m: 0, .. } | LongDouble::Infinite { .. } => None,
            v => Some(v),
        }
    }

    /// `self + other`, rounded to nearest (ties to even) as the x87 does; an infinity when
    /// it overflows or either side is one (NaN for `inf + -inf` is an infinity too: both
    /// are refused alike by the caller).
    pub(super) fn add(&self, other: &LongDouble) -> LongDouble {
        let (
            LongDouble::Finite {
                negative: na,
                m: ma,
                e: ea,
            },
            LongDouble::Finite {
                negative: nb,
                m: mb,
                e: eb,
            },
        ) = (self, other)
        else {
            let negative = matches!(self, LongDouble::Infinite { negative: true });
            return LongDouble::Infinite { negative };
        };
        let low = (*ea).min(*eb);
        let a = BigUint::from(*ma) << (ea - low) as u64;
        let b = BigUint::from(*mb) << (eb - low) as u64;
        let (negative, sum) = if na == nb {
            (*na, a + b)
        } else if a >= b {
            (*na, a - b)
        } else {
            (*nb, b - a)
        };
        if sum.is_zero() {
            // Round to nearest: x + (-x) is +0, and -0 + -0 is -0.
            return LongDouble::Finite {
                negative: *na && *nb,
                m: 0,
                e: 0,
            };
        }
        round(negative, sum, BigUint::one(), low)
    }

    /// Whether this is an infinity.
    pub(super) fn is_infinite(&self) -> bool {
        matches!(self, LongDouble::Infinite { .. })
    }

    /// The text Redis stores for this value: `%.17Lf` with trailing zeros (and a bare dot)
    /// removed, and `-0` written `0`. Infinities are written `inf`/`-inf`.
    pub(super) fn to_redis_string(&self) -> String {
        let (negative, m, e) = match *self {
            LongDouble::Infinite { negative } => return if negative { "-inf" } else { "inf" }.to_string(),
            LongDouble::Finite { negative, m, e } => (negative, m, e),
        };
        // n = round(|value| * 10^17), ties to even, as glibc's printf rounds.
        let scaled = BigUint::from(m) * pow10(17);
        let n = if e >= 0 {
            scaled << e as u64
        } else {
            let shift = e.unsigned_abs();
            let q = &scaled >> shift;
            let r = &scaled - (&q << shift);
            let half = BigUint::one() << (shift - 1);
            if r > half || (r == half && q.bit(0)) {
                q + 1u32
            } else {
                q
            }
        };
        let digits = format!("{n:0>18}");
        let (int, frac) = digits.split_at(digits.len() - 17);
        let frac = frac.trim_end_matches('0');
        let mut out = String::with_capacity(digits.len() + 2);
        if negative {
            out.push('-');
        }
        out.push_str(int);
        if !frac.is_empty() {
            out.push('.');
            out.push_str(frac);
        }
        if out == "-0" {
            out.remove(0);
        }
        out
    }
}

fn pow10(n: u64) -> BigUint {
    BigUint::from(10u32).pow(n as u32)
}

/// `±(num / den) * 2^scale` rounded to a 64-bit mantissa, ties to even; subnormal below the
/// normal range, an infinity above it. `num` must not be zero.
fn round(negative: bool, num: BigUint, den: BigUint, scale: i64) -> LongDouble {
    // Choose e so that 2^63 <= num / den / 2^(e - scale) < 2^64.
    let mut e = num.bits() as i64 - den.bits() as i64 - MANTISSA_BITS as i64 + scale;
    let quotient = |e: i64| {
        let shift = e - scale;
        let (n, d) = if shift >= 0 {
            (num.clone(), &den << shift as u64)
        } else {
            (&num << shift.unsigned_abs(), den.clone())
        };
        let q = &n / &d;
        let r = n - &q * &d;
        (q, r, d)
    };
    let (mut q, mut r, mut d) = quotient(e);
    if q.bits() > MANTISSA_BITS {
        e += 1;
        (q, r, d) = quotient(e);
    } else if q.bits() < MANTISSA_BITS {
        e -= 1;
        (q, r, d) = quotient(e);
    }
    if e < MIN_EXP {
        e = MIN_EXP;
        (q, r, d) = quotient(e);
    }
    let twice = r << 1u32;
    if twice > d || (twice == d && q.bit(0)) {
        q += 1u32;
    }
    if q.bits() > MANTISSA_BITS {
        q >>= 1u32;
        e += 1;
    }
    if e > MAX_EXP {
        return LongDouble::Infinite { negative };
    }
    let digits = q.to_u64_digits();
    LongDouble::Finite {
        negative,
        m: digits.first().copied().unwrap_or(0),
        e,
    }
}

#[cfg(test)]
mod tests {
    use super::LongDouble;

    fn incr(value: &str, by: &str) -> Option<String> {
        let sum = LongDouble::parse(value.as_bytes())?.add(&LongDouble::parse(by.as_bytes())?);
        (!sum.is_infinite()).then(|| sum.to_redis_string())
    }

    #[test]
    fn sums_print_as_redis_prints_them() {
        // Each expected text is what redis-server 7.0 answered for INCRBYFLOAT.
        for (value, by, redis) in [
            ("10.50", "0.1", "10.6"),
            ("1.1", "2.2", "3.3"),
            ("3.0e3", "0", "3000"),
            ("5.0e3", "2.0e2", "5200"),
            ("0", "-0", "0"),
            ("-1", "0.5", "-0.5"),
            ("100000.1", "0.1", "100000.20000000000000284"),
            ("1e20", "1", "100000000000000000000"),
            ("0.1", "0.2", "0.3"),
            ("1", "1e-20", "1"),
            ("123456789.123456789", "0", "123456789.12345678899873747"),
            ("+.5", "1.", "1.5"),
            ("1e-4940", "0", "0"),
        ] {
            assert_eq!(incr(value, by).as_deref(), Some(redis), "{value} + {by}");
        }
    }

    #[test]
    fn refuses_what_strtold_redis_refuses() {
        for bad in [
            "", " 1", "1 ", "abc", "1e", "1e+", ".", "nan", "1.2.3", "--1", "1e99999", "1e-99999",
        ] {
            assert_eq!(LongDouble::parse(bad.as_bytes()), None, "{bad:?}");
        }
        assert!(LongDouble::parse(b"inf").is_some_and(|v| v.is_infinite()));
        assert_eq!(incr("1e4932", "1e4932"), None, "overflow is refused");
    }
}
