//! The figures of `mdn eval --report DIR`: is the model calibrated?
//!
//! - `pit_histogram`: the histogram of the PIT values F(t) per target. A calibrated model's
//!   PIT values are uniform (flat bars at 1); a ∪ shape means the densities are too narrow, a
//!   ∩ shape too wide, a slope a bias.
//! - `coverage`: observed against nominal coverage of the central intervals, per target; a
//!   calibrated model's curve lies on the diagonal.
//! - `density` (models with one numeric input and one target): p(t|x) as a heat map over
//!   the range of the data, with the data over it.

use std::path::{Path, PathBuf};

use mdn::{InputColumn, Model, PIT_BINS};
use plotters::style::RGBColor;

use crate::error::Result;
use crate::plot::palette::series;
use crate::plot::panel::{HeatMap, LegendAt, Mark, Panel, PanelGrid, Series};
use crate::plot::{self, linspace};

/// Bars of the PIT histogram figure (the accumulated histogram has [`PIT_BINS`] bins).
const PIT_BARS: usize = 20;

/// What the figures show: each target's PIT histogram (as [`mdn::ScoreAccumulator`] keeps
/// it) and, for the density figure, a sample of (x, t) points of the data.
pub struct Calibration<'a> {
    /// Target names, in order.
    pub targets: &'a [String],
    /// For each target, the weight of its PIT values in each of [`PIT_BINS`] bins.
    pub pit: Vec<&'a [f64]>,
    /// Up to a few thousand (x, t) pairs of the data, for a one-input, one-target model.
    pub points: &'a [(f64, f64)],
}

fn pit_figure(c: &Calibration) -> PanelGrid {
    let per_bar = PIT_BINS / PIT_BARS;
    let mut panels = Vec::new();
    for (j, name) in c.targets.iter().enumerate() {
        let total: f64 = c.pit[j].iter().sum::<f64>().max(f64::MIN_POSITIVE);
        // Density of the PIT values per bar: 1 everywhere for a calibrated model.
        let heights: Vec<f64> = c.pit[j]
            .chunks(per_bar)
            .map(|bar| bar.iter().sum::<f64>() / total * PIT_BARS as f64)
            .collect();
        let top = heights.iter().copied().fold(1.5, f64::max) * 1.1;
        let width = 1.0 / PIT_BARS as f64;
        let bars: Vec<((f64, f64), (f64, f64))> = heights
            .iter()
            .enumerate()
            .flat_map(|(k, &h)| {
                let (a, b) = (k as f64 * width, (k + 1) as f64 * width);
                [((a, 0.0), (a, h)), ((a, h), (b, h)), ((b, h), (b, 0.0))]
            })
            .collect();
        panels.push(
            Panel::new(
                format!("PIT histogram, {name}"),
                "F(t) under the predicted density",
                "density",
                (0.0, 1.0),
                (0.0, top),
            )
            .with(Series::new(Mark::Segments(bars), series(0)).label("observed"))
            .with(
                Series::new(Mark::Line(vec![(0.0, 1.0), (1.0, 1.0)]), RGBColor(0, 0, 0))
                    .width(1)
                    .label("uniform (calibrated)"),
            ),
        );
    }
    PanelGrid::row(panels)
}

fn coverage_figure(c: &Calibration) -> PanelGrid {
    let levels: Vec<f64> = (1..20).map(|k| f64::from(k) * 0.05).collect();
    let mut panel = Panel::new(
        "Coverage of the central intervals",
        "nominal level",
        "observed coverage",
        (0.0, 1.0),
        (0.0, 1.0),
    )
    .with(
        Series::new(Mark::Line(vec![(0.0, 0.0), (1.0, 1.0)]), RGBColor(0, 0, 0))
            .width(1)
            .label("calibrated"),
    );
    panel.legend = LegendAt::UpperLeft;
    for (j, name) in c.targets.iter().enumerate() {
        let histogram = c.pit[j];
        let total: f64 = histogram.iter().sum::<f64>().max(f64::MIN_POSITIVE);
        let curve: Vec<(f64, f64)> = levels
            .iter()
            .map(|&level| {
                let first = ((1.0 - level) / 2.0 * PIT_BINS as f64).round() as usize;
                let last = ((1.0 + level) / 2.0 * PIT_BINS as f64).round() as usize;
                (level, histogram[first..last].iter().sum::<f64>() / total)
            })
            .collect();
        panel = panel
            .with(Series::new(Mark::Line(curve.clone()), series(j + 1)).label(name.clone()))
            .with(Series::new(
                Mark::Dots {
                    points: curve,
                    radius: 3,
                },
                series(j + 1),
            ));
    }
    PanelGrid::single(panel)
}

fn density_figure(model: &Model, c: &Calibration) -> Result<Option<PanelGrid>> {
    let schema = model.schema();
    let one_numeric = matches!(schema.inputs.as_slice(), [InputColumn::Numeric { .. }]);
    if !one_numeric || schema.targets.len() != 1 || c.points.is_empty() {
        return Ok(None);
    }
    let range = |values: &mut dyn Iterator<Item = f64>| {
        let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        let pad = 0.05 * (hi - lo).max(1e-9);
        (lo - pad, hi + pad)
    };
    let x_range = range(&mut c.points.iter().map(|p| p.0));
    let t_range = range(&mut c.points.iter().map(|p| p.1));
    let xs = linspace(x_range.0, x_range.1, 120);
    let ts = linspace(t_range.0, t_range.1, 120);
    let mut values = vec![0.0; xs.len() * ts.len()];
    for (prediction, row) in model
        .predict(&xs)?
        .iter()
        .zip(values.chunks_exact_mut(ts.len()))
    {
        prediction.prob_batch(&ts, row);
    }
    // Capped at the 99th percentile, so that one sharp peak does not wash out the rest.
    let mut sorted = values.clone();
    sorted.sort_by(f64::total_cmp);
    let cap = sorted[(sorted.len() * 99) / 100].max(f64::MIN_POSITIVE);
    let (input, target) = (schema.inputs[0].name(), &schema.targets[0].name);
    let mut panel = Panel::new(
        format!("p({target} | {input}) and the data"),
        input,
        target,
        x_range,
        t_range,
    )
    .with(
        Series::new(
            Mark::Dots {
                points: c.points.to_vec(),
                radius: 1,
            },
            RGBColor(255, 255, 255),
        )
        .opacity(0.6),
    );
    panel.heat = Some(HeatMap {
        xs,
        ys: ts,
        values: values.iter().map(|v| v.min(cap)).collect(),
        contours: vec![0.1 * cap, 0.5 * cap],
    });
    panel.color_scale = Some((0.0, cap, "density (capped at the 99th percentile)".into()));
    Ok(Some(PanelGrid::single(panel)))
}

/// Writes the calibration figures (PNG and SVG) into `dir`, which must exist; returns the
/// files written.
pub fn write_figures(dir: &Path, model: &Model, c: &Calibration) -> Result<Vec<PathBuf>> {
    let mut files = plot::save(&pit_figure(c), dir, "pit_histogram")?;
    files.extend(plot::save(&coverage_figure(c), dir, "coverage")?);
    if let Some(figure) = density_figure(model, c)? {
        files.extend(plot::save(&figure, dir, "density")?);
    }
    Ok(files)
}
