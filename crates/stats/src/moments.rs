//! Sufficient statistics of paired unit-level values (a metric y and a covariate or
//! denominator x): the sums every variance-reduction and ratio-metric formula needs, so that
//! callers can pass aggregates from a warehouse instead of raw rows.

use serde::{Deserialize, Serialize};

use crate::error::{Result, StatsError, all_finite, finite};

/// Sums over the units of one group.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Moments {
    /// Number of units.
    pub n: f64,
    /// Sum of y.
    pub sum_y: f64,
    /// Sum of y squared.
    pub sum_y2: f64,
    /// Sum of x.
    pub sum_x: f64,
    /// Sum of x squared.
    pub sum_x2: f64,
    /// Sum of x times y.
    pub sum_xy: f64,
}

impl Moments {
    /// Sums over raw paired values.
    pub fn from_data(y: &[f64], x: &[f64]) -> Result<Moments> {
        if y.len() != x.len() {
            return Err(StatsError::InvalidInput {
                what: "unit-level data",
                reason: format!(
                    "metric and covariate need one value per unit, got {} and {}",
                    y.len(),
                    x.len()
                ),
            });
        }
        all_finite("metric value", y)?;
        all_finite("covariate value", x)?;
        let mut m = Moments {
            n: y.len() as f64,
            ..Moments::default()
        };
        for (&yi, &xi) in y.iter().zip(x) {
            m.sum_y += yi;
            m.sum_y2 += yi * yi;
            m.sum_x += xi;
            m.sum_x2 += xi * xi;
            m.sum_xy += xi * yi;
        }
        m.validate("unit-level data")?;
        Ok(m)
    }

    /// Checks the sums describe at least two units and finite values.
    pub fn validate(&self, what: &'static str) -> Result<()> {
        for (name, v) in [
            ("n", self.n),
            ("sum_y", self.sum_y),
            ("sum_y2", self.sum_y2),
            ("sum_x", self.sum_x),
            ("sum_x2", self.sum_x2),
            ("sum_xy", self.sum_xy),
        ] {
            finite(name, v)?;
        }
        if self.n < 2.0 {
            return Err(StatsError::InvalidInput {
                what,
                reason: format!("need at least 2 units, got n = {}", self.n),
            });
        }
        Ok(())
    }

    /// Component-wise sum of two groups.
    pub fn combine(&self, o: &Moments) -> Moments {
        Moments {
            n: self.n + o.n,
            sum_y: self.sum_y + o.sum_y,
            sum_y2: self.sum_y2 + o.sum_y2,
            sum_x: self.sum_x + o.sum_x,
            sum_x2: self.sum_x2 + o.sum_x2,
            sum_xy: self.sum_xy + o.sum_xy,
        }
    }

    /// Mean of y.
    pub fn mean_y(&self) -> f64 {
        self.sum_y / self.n
    }

    /// Mean of x.
    pub fn mean_x(&self) -> f64 {
        self.sum_x / self.n
    }

    /// Sample variance of y (n - 1 denominator).
    pub fn var_y(&self) -> f64 {
        ((self.sum_y2 - self.sum_y * self.sum_y / self.n) / (self.n - 1.0)).max(0.0)
    }

    /// Sample variance of x.
    pub fn var_x(&self) -> f64 {
        ((self.sum_x2 - self.sum_x * self.sum_x / self.n) / (self.n - 1.0)).max(0.0)
    }

    /// Sample covariance of x and y.
    pub fn cov_xy(&self) -> f64 {
        (self.sum_xy - self.sum_x * self.sum_y / self.n) / (self.n - 1.0)
    }
}
