//! Number formatting for calculation results, one convention everywhere: whole counts with
//! thousands separators ("3,841"), probabilities and p-values to four significant digits
//! (scientific below 0.0001), rates as percentages, other values to six significant digits.

/// A whole count with thousands separators: 7682 → "7,682".
pub fn int(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `x` to `digits` significant digits, without trailing zeros, in plain notation when
/// 1e-4 ≤ |x| < 1e15 and scientific otherwise ("7.847e-5").
pub fn sig(x: f64, digits: usize) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if !(1e-4..1e15).contains(&a) {
        let s = format!("{:.*e}", digits.saturating_sub(1), x);
        // "7.8470e-5" → "7.847e-5".
        if let Some((m, e)) = s.split_once('e') {
            let m = if m.contains('.') {
                m.trim_end_matches('0').trim_end_matches('.')
            } else {
                m
            };
            return format!("{m}e{e}");
        }
        return s;
    }
    let mag = a.log10().floor() as i32;
    let decimals = (digits as i32 - 1 - mag).max(0) as usize;
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A probability or p-value: four significant digits.
pub fn prob(x: f64) -> String {
    sig(x, 4)
}

/// A rate as a percentage to four significant digits: 0.105 → "10.5%".
pub fn pct(x: f64) -> String {
    format!("{}%", sig(x * 100.0, 4))
}

/// A general value: six significant digits.
pub fn num(x: f64) -> String {
    sig(x, 6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_follow_one_convention() {
        assert_eq!(int(7682), "7,682");
        assert_eq!(int(999), "999");
        assert_eq!(int(1_000_000), "1,000,000");
        assert_eq!(prob(0.0354885), "0.03549");
        assert_eq!(prob(7.84745e-5), "7.847e-5");
        assert_eq!(prob(0.8), "0.8");
        assert_eq!(pct(0.105), "10.5%");
        assert_eq!(pct(0.1), "10%");
        assert_eq!(num(3840.847), "3840.85");
        assert_eq!(num(-0.00749217), "-0.00749217");
    }
}
