//! Contour lines of a function sampled on a grid (marching squares).

/// A contour segment between two points.
pub type Segment = ((f64, f64), (f64, f64));

/// Line segments where the gridded field equals `level`.
///
/// `values[i * ys.len() + j]` is the field at `(xs[i], ys[j])`. Each grid cell contributes
/// up to two segments, placed by linear interpolation along the cell's edges; saddle cells
/// are resolved by the cell-centre average.
pub fn contour_segments(xs: &[f64], ys: &[f64], values: &[f64], level: f64) -> Vec<Segment> {
    let (nx, ny) = (xs.len(), ys.len());
    assert_eq!(values.len(), nx * ny, "one value per grid point");
    let v = |i: usize, j: usize| values[i * ny + j];
    let mut segments = Vec::new();
    for i in 0..nx.saturating_sub(1) {
        for j in 0..ny.saturating_sub(1) {
            // Corners counter-clockwise from (i, j).
            let corners = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1)];
            let vals = corners.map(|(a, b)| v(a, b));
            let point = |k: usize| (xs[corners[k].0], ys[corners[k].1]);
            // Where the level crosses edge k (corner k to corner k+1).
            let crossing = |k: usize| {
                let (a, b) = (k, (k + 1) % 4);
                let t = (level - vals[a]) / (vals[b] - vals[a]);
                let (pa, pb) = (point(a), point(b));
                (pa.0 + t * (pb.0 - pa.0), pa.1 + t * (pb.1 - pa.1))
            };
            let above: Vec<bool> = vals.iter().map(|&x| x >= level).collect();
            let edges: Vec<usize> = (0..4).filter(|&k| above[k] != above[(k + 1) % 4]).collect();
            match edges.len() {
                2 => segments.push((crossing(edges[0]), crossing(edges[1]))),
                4 => {
                    // Saddle: pair the edges so the centre stays on its side.
                    let centre_above = vals.iter().sum::<f64>() / 4.0 >= level;
                    if centre_above == above[0] {
                        segments.push((crossing(0), crossing(1)));
                        segments.push((crossing(2), crossing(3)));
                    } else {
                        segments.push((crossing(3), crossing(0)));
                        segments.push((crossing(1), crossing(2)));
                    }
                }
                _ => {}
            }
        }
    }
    segments
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn circle_contour_lies_on_the_circle() {
        let grid: Vec<f64> = (0..=60).map(|i| -1.5 + 3.0 * i as f64 / 60.0).collect();
        let values: Vec<f64> = grid
            .iter()
            .flat_map(|&x| grid.iter().map(move |&y| x * x + y * y))
            .collect();
        let segments = contour_segments(&grid, &grid, &values, 1.0);
        assert!(segments.len() > 50);
        for (a, b) in segments {
            for p in [a, b] {
                let r = (p.0 * p.0 + p.1 * p.1).sqrt();
                assert!((r - 1.0).abs() < 0.01, "point {p:?} at radius {r}");
            }
        }
    }

    #[test]
    fn no_contour_outside_the_range() {
        let xs = [0.0, 1.0];
        assert!(contour_segments(&xs, &xs, &[0.0, 0.0, 0.0, 0.0], 1.0).is_empty());
    }
}
