//! Gauss-Legendre quadrature, used by the Bayesian and group-sequential integrals. Nodes are
//! computed by Newton's method on the Legendre polynomial, not taken from a table.

use std::f64::consts::PI;

/// Nodes and weights of the n-point Gauss-Legendre rule on [-1, 1].
pub fn gauss_legendre(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut x = vec![0.0; n];
    let mut w = vec![0.0; n];
    let nf = n as f64;
    for i in 0..n.div_ceil(2) {
        // Chebyshev-like starting guess, then Newton on P_n.
        let mut z = (PI * (i as f64 + 0.75) / (nf + 0.5)).cos();
        let mut dp = 1.0;
        for _ in 0..100 {
            let (mut p0, mut p1) = (1.0, 0.0);
            for j in 0..n {
                let p2 = p1;
                p1 = p0;
                let jf = j as f64;
                p0 = ((2.0 * jf + 1.0) * z * p1 - jf * p2) / (jf + 1.0);
            }
            dp = nf * (z * p0 - p1) / (z * z - 1.0);
            let dz = p0 / dp;
            z -= dz;
            if dz.abs() < 1e-16 {
                break;
            }
        }
        x[i] = -z;
        x[n - 1 - i] = z;
        let wi = 2.0 / ((1.0 - z * z) * dp * dp);
        w[i] = wi;
        w[n - 1 - i] = wi;
    }
    (x, w)
}

/// Composite Gauss-Legendre integral of `f` over [a, b] with `panels` equal panels of the
/// given rule.
pub fn integrate<F: FnMut(f64) -> f64>(
    mut f: F,
    a: f64,
    b: f64,
    panels: usize,
    rule: &(Vec<f64>, Vec<f64>),
) -> f64 {
    let h = (b - a) / panels as f64;
    let mut total = 0.0;
    for p in 0..panels {
        let lo = a + h * p as f64;
        let mid = lo + 0.5 * h;
        for (x, w) in rule.0.iter().zip(&rule.1) {
            total += w * f(mid + 0.5 * h * x);
        }
    }
    total * 0.5 * h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integrates_polynomials_exactly() {
        let rule = gauss_legendre(10);
        let v = integrate(|x| x.powi(19) + x.powi(4), 0.0, 1.0, 1, &rule);
        assert!((v - (1.0 / 20.0 + 1.0 / 5.0)).abs() < 1e-14);
    }
}
