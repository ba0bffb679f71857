//! Colours: a qualitative palette for series and a perceptual map for densities.

use plotters::style::RGBColor;
use plotters::style::colors::colormaps::{ColorMap, ViridisRGB};

/// Tableau-10 colours: distinguishable series (components, models, branches).
pub const SERIES: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// The colour of series `i` (cycling).
pub fn series(i: usize) -> RGBColor {
    SERIES[i % SERIES.len()]
}

/// Viridis colour of `value` scaled from [lo, hi] (clamped).
pub fn viridis(value: f64, lo: f64, hi: f64) -> RGBColor {
    let v = if hi > lo {
        ((value - lo) / (hi - lo)).clamp(0.0, 1.0)
    } else {
        0.0
    };
    ViridisRGB.get_color_normalized(v as f32, 0.0, 1.0)
}
