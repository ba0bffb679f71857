//! Figures: rendering to PNG and SVG with an embedded font, and the geometry they need.

pub mod contour;
pub mod hull;
pub mod palette;
pub mod panel;

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

/// The font every figure uses, embedded so that figures render on a machine with no fonts
/// installed (DejaVu Sans; licence in `assets/fonts/DejaVuSans-LICENSE.txt`).
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// The family name figures ask for; the embedded font is registered under it.
pub const FAMILY: &str = "sans-serif";

/// An error while drawing or writing a figure.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PlotError(pub String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for PlotError {
    fn from(error: DrawingAreaErrorKind<E>) -> Self {
        PlotError(error.to_string())
    }
}

/// Result of drawing.
pub type PlotResult<T = ()> = Result<T, PlotError>;

fn register_font() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        for style in [
            FontStyle::Normal,
            FontStyle::Bold,
            FontStyle::Italic,
            FontStyle::Oblique,
        ] {
            plotters::style::register_font(FAMILY, style, FONT)
                .unwrap_or_else(|_| panic!("the embedded font is a valid TrueType file"));
        }
    });
}

/// A figure that can be drawn on any plotters backend.
pub trait Figure {
    /// Pixel size of the PNG (and the SVG's nominal size).
    fn size(&self) -> (u32, u32) {
        (900, 600)
    }

    /// Draws the figure on `root`.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> PlotResult
    where
        DB::ErrorType: 'static;
}

/// Renders `figure` to `<dir>/<name>.png` and `<dir>/<name>.svg`, each written atomically.
/// Returns the two paths.
pub fn save(figure: &impl Figure, dir: &Path, name: &str) -> PlotResult<Vec<PathBuf>> {
    register_font();
    let size = figure.size();
    let io = |e: std::io::Error, path: &Path| PlotError(format!("{}: {e}", path.display()));

    let png = dir.join(format!("{name}.png"));
    // plotters picks the image format from the extension, which the temporary file keeps.
    let temp = mdn::AtomicFile::create(&png).map_err(|e| io(e, &png))?;
    {
        let root = BitMapBackend::new(temp.temp_path(), size).into_drawing_area();
        root.fill(&WHITE)?;
        figure.draw(&root)?;
        root.present()?;
    }
    temp.commit().map_err(|e| io(e, &png))?;

    let svg = dir.join(format!("{name}.svg"));
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        root.fill(&WHITE)?;
        figure.draw(&root)?;
        root.present()?;
    }
    mdn::write_atomically(&svg, text.as_bytes()).map_err(|e| io(e, &svg))?;
    Ok(vec![png, svg])
}

/// Text style of titles.
pub fn title_style() -> TextStyle<'static> {
    (FAMILY, 22).into_font().style(FontStyle::Bold).into()
}

/// Text style of axis labels and legends.
pub fn label_style() -> TextStyle<'static> {
    (FAMILY, 16).into()
}

// Every size is an even number of pixels: plotters' ab_glyph path places each glyph at
// `(size / 2 + its top) as i32`, which rounds towards zero, so with an odd size glyphs above and
// below that line round in opposite directions and a full stop sits a pixel above the digits
// ("0·2"). `tests::text_sits_on_one_baseline` checks every style.

/// Text style of tick labels.
pub fn tick_style() -> TextStyle<'static> {
    (FAMILY, 14).into()
}

/// A tick label for `value` on an axis spanning `span`: as many decimals as the span needs
/// (two significant digits of it), trailing zeros dropped, and no "-0" — so an epoch axis
/// reads 500, not 500.0, and a tick at zero reads 0, not -0.0.
pub fn tick_label(value: f64, span: f64) -> String {
    let decimals = if span > 0.0 && span.is_finite() {
        (1.0 - span.log10().floor()).clamp(0.0, 12.0) as usize
    } else {
        3
    };
    let mut text = format!("{value:.decimals$}");
    if text.contains('.') {
        text = text.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    if text == "-0" {
        text = "0".to_string();
    }
    text
}

/// `n` evenly spaced values from `lo` to `hi` inclusive.
pub fn linspace(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    match n {
        0 => Vec::new(),
        1 => vec![lo],
        _ => (0..n)
            .map(|i| lo + (hi - lo) * i as f64 / (n - 1) as f64)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_have_the_decimals_the_axis_needs() {
        assert_eq!(tick_label(0.2, 1.2), "0.2");
        assert_eq!(tick_label(1.0, 1.2), "1");
        assert_eq!(tick_label(-0.000_000_1, 1.6), "0");
        assert_eq!(tick_label(-1.2, 1.6), "-1.2");
        assert_eq!(tick_label(500.0, 2600.0), "500");
        assert_eq!(tick_label(3.0, 5.5), "3");
        assert_eq!(tick_label(0.01, 0.06), "0.01");
        assert_eq!(tick_label(0.015, 0.06), "0.015");
        assert_eq!(tick_label(-7.0, 6.0), "-7");
    }

    /// The lowest row holding ink in each run of inked columns of `text` drawn in `style`:
    /// one entry per glyph (for text whose glyphs do not touch).
    fn glyph_bottoms(text: &str, style: TextStyle<'static>) -> Vec<u32> {
        let (w, h) = (120u32, 60u32);
        let mut pixels = vec![255u8; (w * h * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
            root.draw(&Text::new(text, (4, 4), style)).unwrap();
            root.present().unwrap();
        }
        let inked = |x: u32, y: u32| pixels[((y * w + x) * 3) as usize] < 200;
        let mut bottoms = Vec::new();
        let mut current: Option<u32> = None;
        for x in 0..w {
            match ((0..h).rev().find(|&y| inked(x, y)), current) {
                (Some(y), Some(b)) => current = Some(b.max(y)),
                (Some(y), None) => current = Some(y),
                (None, Some(b)) => {
                    bottoms.push(b);
                    current = None;
                }
                (None, None) => {}
            }
        }
        bottoms
    }

    #[test]
    fn text_sits_on_one_baseline() {
        // A style finds its font when it is made, so the font comes first.
        register_font();
        // "2", "." and "7" all end on the baseline (no overshoot below it).
        for (name, style) in [
            ("tick", tick_style()),
            ("label", label_style()),
            ("title", title_style()),
        ] {
            let bottoms = glyph_bottoms("2 . 7", style);
            assert_eq!(bottoms.len(), 3, "{name}: {bottoms:?}");
            assert!(
                bottoms.iter().all(|&b| b == bottoms[0]),
                "{name}: the glyphs of \"2 . 7\" end on rows {bottoms:?}"
            );
        }
        // The failure this guards against: an odd size.
        let odd = glyph_bottoms("2 . 7", (FAMILY, 13).into());
        assert_ne!(
            odd[1], odd[0],
            "plotters fixed its rounding: odd sizes are fine now"
        );
    }
}
