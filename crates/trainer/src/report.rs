//! Run outputs besides the adapters: per-step metrics (`run.metrics` Parquet), the loss-curve PNG
//! and `report.md`.
//!
//! The PNG is drawn with plotters' bitmap backend and carries no text, so it needs no system
//! font (CI machines and the GPU box have none we can rely on); `report.md` gives the axes and
//! the numbers beside it.

use std::path::Path;

use artifacts::{RunMetric, Timestamp};
use plotters::prelude::*;

use crate::error::TrainerError;

/// Values of one metric by step, in step order.
pub fn series(metrics: &[RunMetric], name: &str) -> Vec<(i64, f64)> {
    let mut v: Vec<(i64, f64)> = metrics
        .iter()
        .filter(|m| m.name == name)
        .map(|m| (m.step, m.value))
        .collect();
    v.sort_by_key(|p| p.0);
    v
}

/// A metric row recorded now.
pub fn metric(run_id: &str, step: u64, name: &str, value: f64) -> RunMetric {
    RunMetric {
        run_id: run_id.to_owned(),
        stage: "trainer".to_owned(),
        step: step as i64,
        name: name.to_owned(),
        value,
        recorded_at: Timestamp::now(),
    }
}

/// Draws the training loss (blue) and validation loss (red, with dots) against the step, and
/// writes the PNG atomically (drawn to a temp name in the same folder, then renamed).
pub fn plot_loss(path: &Path, metrics: &[RunMetric]) -> Result<(), TrainerError> {
    let train = series(metrics, "train_loss");
    let val = series(metrics, "val_loss");
    let all: Vec<&(i64, f64)> = train.iter().chain(val.iter()).collect();
    let max_step = all.iter().map(|p| p.0).max().unwrap_or(1).max(1);
    let (lo, hi) = all
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
            (lo.min(p.1), hi.max(p.1))
        });
    let (lo, hi) = if lo.is_finite() && hi > lo {
        (lo, hi)
    } else {
        (0.0, 1.0)
    };
    let pad = (hi - lo) * 0.05;
    // The temp name keeps the `.png` extension: plotters picks the encoder from it.
    let tmp = path.with_file_name(".loss.partial.png");
    let draw_err = |e: String| TrainerError::Io {
        action: "draw the loss curve",
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    };
    {
        let root = BitMapBackend::new(&tmp, (800, 480)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| draw_err(e.to_string()))?;
        let area = root.margin(20, 20, 20, 20);
        let mut chart = ChartBuilder::on(&area)
            .build_cartesian_2d(0f64..max_step as f64, (lo - pad)..(hi + pad))
            .map_err(|e| draw_err(e.to_string()))?;
        // A light grid every tenth of each axis, drawn as lines so no label text is needed.
        for i in 0..=10 {
            let x = max_step as f64 * f64::from(i) / 10.0;
            let y = lo - pad + (hi - lo + 2.0 * pad) * f64::from(i) / 10.0;
            chart
                .draw_series(LineSeries::new(
                    [(x, lo - pad), (x, hi + pad)],
                    RGBColor(225, 225, 225),
                ))
                .map_err(|e| draw_err(e.to_string()))?;
            chart
                .draw_series(LineSeries::new(
                    [(0.0, y), (max_step as f64, y)],
                    RGBColor(225, 225, 225),
                ))
                .map_err(|e| draw_err(e.to_string()))?;
        }
        chart
            .draw_series(LineSeries::new(
                train.iter().map(|&(s, v)| (s as f64, v)),
                BLUE.stroke_width(2),
            ))
            .map_err(|e| draw_err(e.to_string()))?;
        chart
            .draw_series(LineSeries::new(
                val.iter().map(|&(s, v)| (s as f64, v)),
                RED.stroke_width(2),
            ))
            .map_err(|e| draw_err(e.to_string()))?;
        chart
            .draw_series(
                val.iter()
                    .map(|&(s, v)| Circle::new((s as f64, v), 4, RED.filled())),
            )
            .map_err(|e| draw_err(e.to_string()))?;
        root.present().map_err(|e| draw_err(e.to_string()))?;
    }
    std::fs::rename(&tmp, path).map_err(|source| TrainerError::Io {
        action: "rename the loss curve to",
        path: path.to_path_buf(),
        source,
    })
}

/// Peak resident memory of this process (`VmHWM`), in bytes, where the OS reports it.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
