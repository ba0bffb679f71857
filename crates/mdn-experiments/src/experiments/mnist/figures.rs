//! The MNIST experiment's figures: digit images with captions, and p(t|image) beside each
//! image with its label and modes marked.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::*;
use crate::plot::{Figure, PlotResult, label_style, tick_label, tick_style, title_style};

/// Ink colour of a grey level (0 background, 255 ink): dark ink on white paper.
fn ink(level: u8) -> RGBColor {
    let g = 255 - level;
    RGBColor(g, g, g)
}

/// Draws a digit image centred in `area`, as large as fits, with a light frame.
fn draw_digit<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    pixels: &[u8],
    rows: usize,
    cols: usize,
) -> PlotResult
where
    DB::ErrorType: 'static,
{
    let (w, h) = area.dim_in_pixel();
    let scale = (f64::from(w) / cols as f64).min(f64::from(h) / rows as f64);
    let ox = (f64::from(w) - scale * cols as f64) / 2.0;
    let oy = (f64::from(h) - scale * rows as f64) / 2.0;
    let at = |x: f64, y: f64| {
        (
            (ox + x * scale).round() as i32,
            (oy + y * scale).round() as i32,
        )
    };
    area.draw(&Rectangle::new(
        [at(0.0, 0.0), at(cols as f64, rows as f64)],
        RGBColor(250, 250, 250).filled(),
    ))?;
    for r in 0..rows {
        for c in 0..cols {
            let level = pixels[r * cols + c];
            if level == 0 {
                continue;
            }
            let (x0, y0) = at(c as f64, r as f64);
            let (x1, y1) = at(c as f64 + 1.0, r as f64 + 1.0);
            area.draw(&Rectangle::new([(x0, y0), (x1, y1)], ink(level).filled()))?;
        }
    }
    area.draw(&Rectangle::new(
        [at(0.0, 0.0), at(cols as f64, rows as f64)],
        RGBColor(170, 170, 170).stroke_width(1),
    ))?;
    Ok(())
}

/// Centred text lines starting at `y`.
fn draw_lines<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    lines: &[(String, RGBColor)],
    y: i32,
) -> PlotResult
where
    DB::ErrorType: 'static,
{
    let (w, _) = area.dim_in_pixel();
    for (k, (text, color)) in lines.iter().enumerate() {
        let style = label_style()
            .color(color)
            .pos(Pos::new(HPos::Center, VPos::Top));
        area.draw_text(text, &style, (w as i32 / 2, y + 20 * k as i32))?;
    }
    Ok(())
}

/// Lines of text with their colours.
type Caption = Vec<(String, RGBColor)>;

/// Digit images in a grid, each with caption lines below.
pub(super) struct DigitGrid {
    title: String,
    note: String,
    rows: usize,
    cols: usize,
    /// Pixels and caption lines of each image.
    cells: Vec<(Vec<u8>, Caption)>,
    columns: usize,
    cell: (u32, u32),
    image_side: u32,
}

const HEADER: u32 = 70;

impl Figure for DigitGrid {
    fn size(&self) -> (u32, u32) {
        let rows = self.cells.len().div_ceil(self.columns).max(1) as u32;
        (
            self.cell.0 * self.columns as u32,
            HEADER + self.cell.1 * rows,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> PlotResult
    where
        DB::ErrorType: 'static,
    {
        let (header, body) = root.split_vertically(HEADER);
        draw_header(&header, &self.title, &self.note)?;
        let rows = self.cells.len().div_ceil(self.columns).max(1);
        let areas = body.split_evenly((rows, self.columns));
        for ((pixels, caption), area) in self.cells.iter().zip(&areas) {
            let (w, _) = area.dim_in_pixel();
            let side = self.image_side.min(w - 10);
            let image = area.margin(8, 0, (w - side) / 2, (w - side) / 2);
            let (image, _) = image.split_vertically(side);
            draw_digit(&image, pixels, self.rows, self.cols)?;
            draw_lines(area, caption, 8 + side as i32 + 6)?;
        }
        Ok(())
    }
}

/// A bold title and a one-line note, centred.
fn draw_header<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    note: &str,
) -> PlotResult
where
    DB::ErrorType: 'static,
{
    let (w, _) = area.dim_in_pixel();
    let centre = Pos::new(HPos::Center, VPos::Top);
    area.draw_text(title, &title_style().pos(centre), (w as i32 / 2, 10))?;
    area.draw_text(
        note,
        &label_style().color(&RGBColor(70, 70, 70)).pos(centre),
        (w as i32 / 2, 42),
    )?;
    Ok(())
}

fn modes_text(reading: &Reading) -> String {
    let top = &reading.modes[0];
    let mut text = format!("modes {:.1}", top.location[0]);
    if let Some(second) = reading.modes.get(1) {
        text.push_str(&format!(
            ", {:.1} ({:.0}%)",
            second.location[0],
            100.0 * (second.log_density - top.log_density).exp()
        ));
    }
    text
}

const GOOD: RGBColor = RGBColor(30, 120, 30);
const BAD: RGBColor = RGBColor(200, 30, 30);
const TEXT: RGBColor = RGBColor(20, 20, 20);

pub(super) fn digit_grid_figure(
    test: &Digits,
    readings: &[Reading],
    chosen: &[(usize, &str)],
) -> DigitGrid {
    let cells = chosen
        .iter()
        .map(|&(i, kind)| {
            let read = digit_of(readings[i].best_mode());
            let color = if read == test.labels[i] { GOOD } else { BAD };
            (
                test.images.image(i).to_vec(),
                vec![
                    (format!("test #{i}: label {}", test.labels[i]), TEXT),
                    (format!("{kind}; read as {read}"), color),
                ],
            )
        })
        .collect();
    DigitGrid {
        title: "Sample MNIST test digits".into(),
        note: "First row: confidently read digits; then the most ambiguous ones (largest \
               second mode of p(t|image)). Green: best mode right; red: wrong."
            .into(),
        rows: test.images.rows,
        cols: test.images.cols,
        cells,
        columns: 4,
        cell: (330, 200),
        image_side: 140,
    }
}

pub(super) fn ambiguous_figure(test: &Digits, readings: &[Reading], count: usize) -> DigitGrid {
    let mut order: Vec<usize> = (0..readings.len())
        .filter(|&i| readings[i].modes.len() >= 2)
        .collect();
    order.sort_by(|&a, &b| {
        readings[b]
            .second_ratio()
            .total_cmp(&readings[a].second_ratio())
            .then(a.cmp(&b))
    });
    order.truncate(count);
    let cells = order
        .iter()
        .map(|&i| {
            let r = &readings[i];
            let read = digit_of(r.best_mode());
            let label = test.labels[i];
            let color = if read == label { GOOD } else { BAD };
            (
                test.images.image(i).to_vec(),
                vec![
                    (format!("#{i}, label {label}"), TEXT),
                    (modes_text(r), color),
                ],
            )
        })
        .collect();
    DigitGrid {
        title: "The most ambiguous test digits and their top two modes".into(),
        note: "Under each image: its label, then the two highest modes of p(t|image) with the \
               second's density as a percentage of the first's (green: highest mode right)."
            .into(),
        rows: test.images.rows,
        cols: test.images.cols,
        cells,
        columns: 6,
        cell: (250, 175),
        image_side: 112,
    }
}

/// p(t|image) of one image beside its picture.
struct DensityCell {
    pixels: Vec<u8>,
    heading: String,
    label: u8,
    curve: Vec<(f64, f64)>,
    /// (location, density, within a factor 10 of the highest).
    modes: Vec<(f64, f64, bool)>,
    correct: bool,
}

pub(super) struct DensityGrid {
    title: String,
    note: String,
    rows: usize,
    cols: usize,
    cells: Vec<DensityCell>,
    columns: usize,
}

const DENSITY_CELL: (u32, u32) = (470, 270);
const MODE_COLOR: RGBColor = RGBColor(214, 39, 40);
const WEAK_MODE_COLOR: RGBColor = RGBColor(150, 150, 150);
const LABEL_COLOR: RGBColor = RGBColor(44, 160, 44);
const CURVE_COLOR: RGBColor = RGBColor(31, 119, 180);

impl Figure for DensityGrid {
    fn size(&self) -> (u32, u32) {
        let rows = self.cells.len().div_ceil(self.columns).max(1) as u32;
        (
            DENSITY_CELL.0 * self.columns as u32,
            HEADER + 34 + DENSITY_CELL.1 * rows,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> PlotResult
    where
        DB::ErrorType: 'static,
    {
        let (header, body) = root.split_vertically(HEADER);
        draw_header(&header, &self.title, &self.note)?;
        let (key, body) = body.split_vertically(34);
        draw_key(&key)?;
        let rows = self.cells.len().div_ceil(self.columns).max(1);
        let areas = body.split_evenly((rows, self.columns));
        for (cell, area) in self.cells.iter().zip(&areas) {
            self.draw_cell(cell, area)?;
        }
        Ok(())
    }
}

/// The legend of the density grid, drawn once above it.
fn draw_key<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>) -> PlotResult
where
    DB::ErrorType: 'static,
{
    let style = label_style();
    let entries: [(&str, u8); 4] = [
        ("p(t | image)", 0),
        ("true label", 1),
        ("modes within 10× of the highest", 2),
        ("weaker modes", 3),
    ];
    let widths: Vec<i32> = entries
        .iter()
        .map(|(text, _)| {
            area.estimate_text_size(text, &style)
                .map(|(w, _)| w as i32 + 60)
        })
        .collect::<Result<_, _>>()?;
    let (w, _) = area.dim_in_pixel();
    let mut x = (w as i32 - widths.iter().sum::<i32>()) / 2;
    let y = 16;
    for ((text, kind), width) in entries.iter().zip(widths) {
        match kind {
            0 => area.draw(&PathElement::new(
                vec![(x, y), (x + 28, y)],
                CURVE_COLOR.stroke_width(3),
            ))?,
            1 => area.draw(&PathElement::new(
                vec![(x + 14, y - 9), (x + 14, y + 9)],
                LABEL_COLOR.stroke_width(3),
            ))?,
            2 => area.draw(&Circle::new((x + 14, y), 6, MODE_COLOR.filled()))?,
            _ => area.draw(&Circle::new((x + 14, y), 5, WEAK_MODE_COLOR.filled()))?,
        }
        area.draw_text(
            text,
            &style.pos(Pos::new(HPos::Left, VPos::Center)),
            (x + 36, y),
        )?;
        x += width;
    }
    Ok(())
}

impl DensityGrid {
    fn draw_cell<DB: DrawingBackend>(
        &self,
        cell: &DensityCell,
        area: &DrawingArea<DB, Shift>,
    ) -> PlotResult
    where
        DB::ErrorType: 'static,
    {
        let (left, right) = area.split_horizontally(110);
        let thumb = left.margin(40, 0, 10, 4);
        let (thumb, below) = thumb.split_vertically(96);
        draw_digit(&thumb, &cell.pixels, self.rows, self.cols)?;
        draw_lines(
            &below,
            &[(
                format!("label {}", cell.label),
                if cell.correct { GOOD } else { BAD },
            )],
            6,
        )?;

        let top = cell.curve.iter().map(|p| p.1).fold(0.0f64, f64::max);
        let y_max = (top * 1.18).max(0.2);
        let mut chart = ChartBuilder::on(&right)
            .caption(&cell.heading, label_style())
            .margin(6)
            .margin_right(14)
            .x_label_area_size(40)
            .y_label_area_size(48)
            .build_cartesian_2d(T_RANGE.0..T_RANGE.1, 0.0..y_max)?;
        chart
            .configure_mesh()
            .x_labels(12)
            .y_labels(5)
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| tick_label(*v, y_max))
            .x_desc("t (digit value)")
            .y_desc("p(t | image)")
            .axis_desc_style(tick_style())
            .label_style(tick_style())
            .max_light_lines(0)
            .bold_line_style(RGBColor(225, 225, 225))
            .draw()?;
        let label = f64::from(cell.label);
        chart.draw_series(std::iter::once(DashedPathElement::new(
            vec![(label, 0.0), (label, y_max)],
            6,
            4,
            LABEL_COLOR.stroke_width(2),
        )))?;
        chart.draw_series(LineSeries::new(
            cell.curve.clone(),
            CURVE_COLOR.stroke_width(2),
        ))?;
        for &(t, p, strong) in cell.modes.iter().rev() {
            let (color, radius) = if strong {
                (MODE_COLOR, 5)
            } else {
                (WEAK_MODE_COLOR, 4)
            };
            chart.draw_series(std::iter::once(Circle::new((t, p), radius, color.filled())))?;
            if strong {
                // The mode's value, a few pixels up and right of its dot.
                chart.draw_series(std::iter::once(
                    EmptyElement::at((t, p))
                        + Text::new(
                            format!("{t:.1}"),
                            (6, -3),
                            label_style()
                                .color(&MODE_COLOR)
                                .pos(Pos::new(HPos::Left, VPos::Bottom)),
                        ),
                ))?;
            }
        }
        Ok(())
    }
}

pub(super) fn density_figure(
    test: &Digits,
    readings: &[Reading],
    chosen: &[(usize, &str)],
) -> DensityGrid {
    let ts = linspace(T_RANGE.0, T_RANGE.1, 1101);
    let cells = chosen
        .iter()
        .map(|&(i, kind)| {
            let r = &readings[i];
            let floor = r.modes[0].log_density + RIVAL_RATIO.ln();
            DensityCell {
                pixels: test.images.image(i).to_vec(),
                heading: format!("test #{i} ({kind})"),
                label: test.labels[i],
                curve: ts.iter().copied().zip(r.mixture.prob_many(&ts)).collect(),
                modes: r
                    .modes
                    .iter()
                    .filter(|m| (T_RANGE.0..=T_RANGE.1).contains(&m.location[0]))
                    .map(|m| (m.location[0], m.density(), m.log_density >= floor))
                    .collect(),
                correct: digit_of(r.best_mode()) == test.labels[i],
            }
        })
        .collect();
    DensityGrid {
        title: "MDN: predicted density of the digit value t for the sample test digits".into(),
        note: "First row: confident digits, one sharp peak; then the most ambiguous ones, \
               whose density has two or more peaks."
            .into(),
        rows: test.images.rows,
        cols: test.images.cols,
        cells,
        columns: 4,
    }
}
