//! A grid of chart panels: the one figure type the experiments compose their plots from.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::contour::contour_segments;
use super::palette::viridis;
use super::{Figure, PlotResult, label_style, tick_label, tick_style, title_style};

/// Something drawn in a panel.
#[derive(Debug, Clone)]
pub enum Mark {
    /// A polyline through the points, in order.
    Line(Vec<(f64, f64)>),
    /// A polyline broken wherever consecutive points are `None`-separated.
    BrokenLine(Vec<Option<(f64, f64)>>),
    /// Filled circles.
    Dots {
        /// Centres.
        points: Vec<(f64, f64)>,
        /// Radius in pixels.
        radius: u32,
    },
    /// Straight segments.
    Segments(Vec<((f64, f64), (f64, f64))>),
    /// A closed polygon outline.
    Polygon(Vec<(f64, f64)>),
    /// Circles coloured by value on the panel's colour scale.
    ColorDots {
        /// Centres.
        points: Vec<(f64, f64)>,
        /// One value per centre, mapped through the colour scale.
        values: Vec<f64>,
        /// Radius in pixels.
        radius: u32,
    },
    /// Vertical lines at the given x positions, spanning the panel.
    VerticalLines(Vec<f64>),
}

/// A mark with its colour, opacity, stroke width and optional legend label.
#[derive(Debug, Clone)]
pub struct Series {
    /// What to draw.
    pub mark: Mark,
    /// Colour.
    pub color: RGBColor,
    /// Opacity in [0, 1].
    pub opacity: f64,
    /// Line width in pixels.
    pub width: u32,
    /// Legend entry.
    pub label: Option<String>,
}

impl Series {
    /// A series of `mark` in `color`, opaque, 2 px wide, unlabelled.
    pub fn new(mark: Mark, color: RGBColor) -> Self {
        Self {
            mark,
            color,
            opacity: 1.0,
            width: 2,
            label: None,
        }
    }

    /// Sets the legend label.
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Sets the opacity.
    pub fn opacity(mut self, opacity: f64) -> Self {
        self.opacity = opacity;
        self
    }

    /// Sets the line width.
    pub fn width(mut self, width: u32) -> Self {
        self.width = width;
        self
    }
}

/// A field sampled on a grid, drawn as coloured cells with contour lines.
#[derive(Debug, Clone)]
pub struct HeatMap {
    /// Grid x coordinates (cell centres), increasing.
    pub xs: Vec<f64>,
    /// Grid y coordinates (cell centres), increasing.
    pub ys: Vec<f64>,
    /// `values[i * ys.len() + j]` at `(xs[i], ys[j])`.
    pub values: Vec<f64>,
    /// Levels at which to draw contour lines.
    pub contours: Vec<f64>,
}

/// Where the legend goes.
#[derive(Debug, Clone, Copy)]
pub enum LegendAt {
    /// Upper left corner.
    UpperLeft,
    /// Upper right corner.
    UpperRight,
    /// Lower left corner.
    LowerLeft,
    /// Lower right corner.
    LowerRight,
}

/// One chart.
#[derive(Debug, Clone)]
pub struct Panel {
    /// Title above the chart.
    pub title: String,
    /// Label of the x axis.
    pub x_label: String,
    /// Label of the y axis.
    pub y_label: String,
    /// Range of the x axis.
    pub x_range: (f64, f64),
    /// Range of the y axis.
    pub y_range: (f64, f64),
    /// Optional heat map drawn first.
    pub heat: Option<HeatMap>,
    /// Marks drawn in order.
    pub series: Vec<Series>,
    /// Colour scale (lo, hi, label) for the heat map and coloured dots, shown as a bar.
    pub color_scale: Option<(f64, f64, String)>,
    /// Legend position (shown when a series has a label).
    pub legend: LegendAt,
}

impl Panel {
    /// An empty panel.
    pub fn new(
        title: impl Into<String>,
        x_label: &str,
        y_label: &str,
        x_range: (f64, f64),
        y_range: (f64, f64),
    ) -> Self {
        Self {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            x_range,
            y_range,
            heat: None,
            series: Vec::new(),
            color_scale: None,
            legend: LegendAt::UpperLeft,
        }
    }

    /// Adds a series.
    pub fn with(mut self, series: Series) -> Self {
        self.series.push(series);
        self
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> PlotResult
    where
        DB::ErrorType: 'static,
    {
        let (width, _) = area.dim_in_pixel();
        let (main, bar) = match &self.color_scale {
            Some(_) => {
                let (m, b) = area.split_horizontally(width.saturating_sub(95));
                (m, Some(b))
            }
            None => (area.clone(), None),
        };
        let (x0, x1) = self.x_range;
        let (y0, y1) = self.y_range;
        let mut chart = ChartBuilder::on(&main)
            .caption(&self.title, title_style())
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        let (x_span, y_span) = (x1 - x0, y1 - y0);
        chart
            .configure_mesh()
            .x_label_formatter(&|v| tick_label(*v, x_span))
            .y_label_formatter(&|v| tick_label(*v, y_span))
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .axis_desc_style(label_style())
            .label_style(tick_style())
            .light_line_style(RGBColor(235, 235, 235))
            .bold_line_style(RGBColor(215, 215, 215))
            .draw()?;

        let (lo, hi) = self.color_scale.as_ref().map_or((0.0, 1.0), |s| (s.0, s.1));
        if let Some(heat) = &self.heat {
            let cell = |v: &[f64], i: usize| {
                let prev = if i == 0 {
                    v[0] - (v[1] - v[0])
                } else {
                    v[i - 1]
                };
                let next = if i + 1 == v.len() {
                    v[i] + (v[i] - v[i - 1])
                } else {
                    v[i + 1]
                };
                (0.5 * (prev + v[i]), 0.5 * (v[i] + next))
            };
            let ny = heat.ys.len();
            chart.draw_series((0..heat.xs.len()).flat_map(|i| {
                (0..ny).map(move |j| {
                    let (xa, xb) = cell(&heat.xs, i);
                    let (ya, yb) = cell(&heat.ys, j);
                    let color = viridis(heat.values[i * ny + j], lo, hi);
                    Rectangle::new([(xa, ya), (xb, yb)], color.filled())
                })
            }))?;
            for &level in &heat.contours {
                let segments = contour_segments(&heat.xs, &heat.ys, &heat.values, level);
                chart.draw_series(
                    segments
                        .into_iter()
                        .map(|(a, b)| PathElement::new(vec![a, b], WHITE.mix(0.9).stroke_width(1))),
                )?;
            }
        }

        for series in &self.series {
            let style = series.color.mix(series.opacity).stroke_width(series.width);
            let fill = series.color.mix(series.opacity).filled();
            let anno = match &series.mark {
                Mark::Line(points) => chart.draw_series(LineSeries::new(points.clone(), style))?,
                Mark::BrokenLine(points) => {
                    let runs: Vec<Vec<(f64, f64)>> = points
                        .split(Option::is_none)
                        .map(|run| run.iter().flatten().copied().collect())
                        .filter(|run: &Vec<(f64, f64)>| !run.is_empty())
                        .collect();
                    chart.draw_series(runs.into_iter().map(|run| PathElement::new(run, style)))?
                }
                Mark::Dots { points, radius } => {
                    chart.draw_series(points.iter().map(|&p| Circle::new(p, *radius, fill)))?
                }
                Mark::Segments(segments) => chart.draw_series(
                    segments
                        .iter()
                        .map(|&(a, b)| PathElement::new(vec![a, b], style)),
                )?,
                Mark::Polygon(points) => {
                    let mut closed = points.clone();
                    if let Some(&first) = points.first() {
                        closed.push(first);
                    }
                    chart.draw_series(std::iter::once(PathElement::new(closed, style)))?
                }
                Mark::ColorDots {
                    points,
                    values,
                    radius,
                } => chart.draw_series(points.iter().zip(values).map(|(&p, &v)| {
                    Circle::new(p, *radius, viridis(v, lo, hi).mix(series.opacity).filled())
                }))?,
                Mark::VerticalLines(xs) => chart.draw_series(
                    xs.iter()
                        .map(|&x| PathElement::new(vec![(x, y0), (x, y1)], style)),
                )?,
            };
            if let Some(label) = &series.label {
                let color = series.color;
                anno.label(label.clone()).legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 18, y + 5)], color.filled())
                });
            }
        }
        if self.series.iter().any(|s| s.label.is_some()) {
            let position = match self.legend {
                LegendAt::UpperLeft => SeriesLabelPosition::UpperLeft,
                LegendAt::UpperRight => SeriesLabelPosition::UpperRight,
                LegendAt::LowerLeft => SeriesLabelPosition::LowerLeft,
                LegendAt::LowerRight => SeriesLabelPosition::LowerRight,
            };
            chart
                .configure_series_labels()
                .position(position)
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(160, 160, 160))
                .label_font(label_style())
                .draw()?;
        }

        if let (Some(bar), Some((lo, hi, label))) = (bar, &self.color_scale) {
            draw_color_bar(&bar, *lo, *hi, label)?;
        }
        Ok(())
    }
}

/// A vertical viridis bar from `lo` (bottom) to `hi` (top) with ticks.
fn draw_color_bar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    lo: f64,
    hi: f64,
    label: &str,
) -> PlotResult
where
    DB::ErrorType: 'static,
{
    let mut chart = ChartBuilder::on(area)
        .margin_top(45)
        .margin_bottom(60)
        .margin_right(8)
        .y_label_area_size(0)
        .right_y_label_area_size(50)
        .build_cartesian_2d(0.0..1.0, lo..hi)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .disable_y_mesh()
        .disable_x_axis()
        .y_label_formatter(&|v| tick_label(*v, hi - lo))
        .y_desc(label)
        .axis_desc_style(label_style())
        .label_style(tick_style())
        .draw()?;
    let steps = 100;
    chart.draw_series((0..steps).map(|k| {
        let a = lo + (hi - lo) * k as f64 / steps as f64;
        let b = lo + (hi - lo) * (k + 1) as f64 / steps as f64;
        Rectangle::new(
            [(0.0, a), (1.0, b)],
            viridis(0.5 * (a + b), lo, hi).filled(),
        )
    }))?;
    Ok(())
}

/// Panels laid out in a grid, filled row by row.
#[derive(Debug, Clone)]
pub struct PanelGrid {
    /// The panels.
    pub panels: Vec<Panel>,
    /// Panels per row.
    pub columns: usize,
    /// Pixel size of the whole figure.
    pub size: (u32, u32),
}

impl PanelGrid {
    /// One panel.
    pub fn single(panel: Panel) -> Self {
        Self {
            panels: vec![panel],
            columns: 1,
            size: (900, 620),
        }
    }

    /// Panels side by side, each about 720 × 600 pixels.
    pub fn row(panels: Vec<Panel>) -> Self {
        let n = panels.len().max(1) as u32;
        Self {
            columns: panels.len().max(1),
            panels,
            size: (720 * n, 600),
        }
    }
}

impl Figure for PanelGrid {
    fn size(&self) -> (u32, u32) {
        self.size
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> PlotResult
    where
        DB::ErrorType: 'static,
    {
        let columns = self.columns.max(1);
        let rows = self.panels.len().div_ceil(columns);
        let areas = root.split_evenly((rows, columns));
        for (panel, area) in self.panels.iter().zip(areas.iter()) {
            panel.draw(area)?;
        }
        Ok(())
    }
}
