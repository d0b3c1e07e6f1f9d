//! Charts as standalone SVG documents: a line chart (series of points, optional markers and a
//! vertical rule) and a histogram. The output is plain SVG 1.1 text with inline styles and no
//! external assets, so it opens in a browser, embeds in HTML and renders on GitHub.
//!
//! Invariants: the same input gives the same bytes (coordinates are printed with two decimals);
//! every data point is drawn inside the plot area when it is inside the axes' range, which
//! covers all finite data; non-finite points are skipped, never drawn at the edge; text is
//! XML-escaped.

use std::fmt::Write as _;

/// Chart size in SVG user units (pixels).
pub const WIDTH: f64 = 760.0;
pub const HEIGHT: f64 = 420.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 48.0;
const BOTTOM: f64 = 56.0;

/// Colours of successive series (colour-blind-safe, Okabe–Ito).
const PALETTE: [&str; 6] = [
    "#000000", "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00",
];

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// A solid line.
    Line,
    /// A dashed line.
    Dashed,
    /// A solid line with a dot at every point.
    LineDots,
}

/// One named series of (x, y) points, drawn in the order given.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub style: Style,
}

/// A line chart. `x_ticks`: labelled positions instead of automatic ticks; `rule`: a vertical
/// line at x with a label (e.g. the end of the calibration period).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LineChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    pub x_ticks: Option<Vec<(f64, String)>>,
    pub rule: Option<(f64, String)>,
}

/// A histogram: bars over [lo, hi) with a height each.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Histogram {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub bins: Vec<(f64, f64, f64)>,
}

/// "Nice" tick positions covering [lo, hi]: steps of 1, 2 or 5 × 10^k, about `target` of them.
/// Returns (first tick ≤ lo, step, count). For lo = hi (or a non-finite range) the range is
/// widened to [lo − 1, lo + 1] (or [0, 1]).
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> (f64, f64, usize) {
    let (lo, hi) = if lo.is_finite() && hi.is_finite() && hi > lo {
        (lo, hi)
    } else if lo.is_finite() {
        (lo - 1.0, lo + 1.0)
    } else {
        (0.0, 1.0)
    };
    let raw = (hi - lo) / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).floor() * step;
    let last = (hi / step).ceil() * step;
    let count = ((last - first) / step).round() as usize + 1;
    (first, step, count)
}

/// Text safe inside an SVG element or attribute.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// A tick label: integers without decimals, others with as few as the step needs.
fn label(v: f64, step: f64) -> String {
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10().floor()) as usize
    };
    let s = format!("{v:.decimals$}");
    if s.starts_with('-') && s[1..].bytes().all(|b| b == b'0' || b == b'.') {
        s[1..].to_string()
    } else if decimals == 0 && v.abs() >= 10_000.0 {
        thousands(&s)
    } else {
        s
    }
}

fn thousands(s: &str) -> String {
    let (sign, digits) = s.strip_prefix('-').map_or(("", s), |d| ("-", d));
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    format!("{sign}{out}")
}

/// Maps data coordinates to the plot area.
struct Frame {
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
}

impl Frame {
    fn px(&self, x: f64) -> f64 {
        LEFT + (x - self.x0) / (self.x1 - self.x0) * (WIDTH - LEFT - RIGHT)
    }
    fn py(&self, y: f64) -> f64 {
        HEIGHT - BOTTOM - (y - self.y0) / (self.y1 - self.y0) * (HEIGHT - TOP - BOTTOM)
    }
}

fn open(out: &mut String, title: &str) {
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n<title>{t}</title>\n<rect width=\"{WIDTH}\" height=\"{HEIGHT}\" fill=\"#ffffff\"/>\n<text x=\"{cx:.2}\" y=\"24\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">{t}</text>\n",
        t = escape(title),
        cx = WIDTH / 2.0,
    );
}

/// Axes, grid, ticks and axis labels. `x_ticks`: explicit labelled positions.
fn axes(
    out: &mut String,
    f: &Frame,
    x_ticks: &[(f64, String)],
    y_ticks: &[(f64, String)],
    x_label: &str,
    y_label: &str,
) {
    let (l, r, t, b) = (LEFT, WIDTH - RIGHT, TOP, HEIGHT - BOTTOM);
    for (y, s) in y_ticks {
        let py = f.py(*y);
        let _ = writeln!(
            out,
            "<line x1=\"{l:.2}\" y1=\"{py:.2}\" x2=\"{r:.2}\" y2=\"{py:.2}\" stroke=\"#e5e5e5\"/><text x=\"{:.2}\" y=\"{:.2}\" text-anchor=\"end\">{}</text>",
            l - 6.0,
            py + 4.0,
            escape(s)
        );
    }
    for (x, s) in x_ticks {
        let px = f.px(*x);
        let _ = writeln!(
            out,
            "<line x1=\"{px:.2}\" y1=\"{b:.2}\" x2=\"{px:.2}\" y2=\"{:.2}\" stroke=\"#444444\"/><text x=\"{px:.2}\" y=\"{:.2}\" text-anchor=\"middle\">{}</text>",
            b + 5.0,
            b + 19.0,
            escape(s)
        );
    }
    let _ = writeln!(
        out,
        "<rect x=\"{l:.2}\" y=\"{t:.2}\" width=\"{:.2}\" height=\"{:.2}\" fill=\"none\" stroke=\"#444444\"/>",
        r - l,
        b - t
    );
    let _ = writeln!(
        out,
        "<text x=\"{:.2}\" y=\"{:.2}\" text-anchor=\"middle\">{}</text>",
        (l + r) / 2.0,
        HEIGHT - 14.0,
        escape(x_label)
    );
    let _ = writeln!(
        out,
        "<text x=\"16\" y=\"{:.2}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {:.2})\">{}</text>",
        (t + b) / 2.0,
        (t + b) / 2.0,
        escape(y_label)
    );
}

fn auto_ticks(lo: f64, hi: f64, target: usize) -> Vec<(f64, String)> {
    let (first, step, n) = nice_ticks(lo, hi, target);
    (0..n)
        .map(|i| {
            let v = first + i as f64 * step;
            (v, label(v, step))
        })
        .collect()
}

fn finite_points(s: &[Series]) -> impl Iterator<Item = (f64, f64)> + '_ {
    s.iter()
        .flat_map(|s| s.points.iter().copied())
        .filter(|(x, y)| x.is_finite() && y.is_finite())
}

/// Render a line chart. The y axis starts at 0 when every y is ≥ 0.
pub fn line_chart(c: &LineChart) -> String {
    let (mut xl, mut xh, mut yl, mut yh) = (f64::INFINITY, f64::NEG_INFINITY, 0f64, 0f64);
    let mut any = false;
    for (x, y) in finite_points(&c.series) {
        any = true;
        xl = xl.min(x);
        xh = xh.max(x);
        yl = yl.min(y);
        yh = yh.max(y);
    }
    if let Some(t) = &c.x_ticks {
        for (x, _) in t {
            xl = xl.min(*x);
            xh = xh.max(*x);
        }
    }
    if !any && c.x_ticks.is_none() {
        (xl, xh) = (0.0, 1.0);
    }
    let y_ticks = auto_ticks(yl, yh, 6);
    let x_ticks = match &c.x_ticks {
        Some(t) => t.clone(),
        None => auto_ticks(xl, xh, 8),
    };
    let (x0, x1) = match &c.x_ticks {
        // Explicit ticks (categories): half a step of room at each end.
        Some(_) => {
            let pad = if xh > xl { 0.5 } else { 1.0 };
            (xl - pad, xh + pad)
        }
        None => (x_ticks[0].0, x_ticks[x_ticks.len() - 1].0),
    };
    let f = Frame {
        x0,
        x1,
        y0: y_ticks[0].0,
        y1: y_ticks[y_ticks.len() - 1].0,
    };
    let mut out = String::new();
    open(&mut out, &c.title);
    axes(&mut out, &f, &x_ticks, &y_ticks, &c.x_label, &c.y_label);
    if let Some((x, text)) = &c.rule {
        if x.is_finite() && *x >= f.x0 && *x <= f.x1 {
            let px = f.px(*x);
            let _ = writeln!(
                out,
                "<line x1=\"{px:.2}\" y1=\"{TOP:.2}\" x2=\"{px:.2}\" y2=\"{:.2}\" stroke=\"#888888\" stroke-dasharray=\"2 3\"/><text x=\"{:.2}\" y=\"{:.2}\" fill=\"#555555\">{}</text>",
                HEIGHT - BOTTOM,
                px + 4.0,
                TOP + 14.0,
                escape(text)
            );
        }
    }
    for (i, s) in c.series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let mut d = String::new();
        let mut pen_up = true;
        for &(x, y) in &s.points {
            if !(x.is_finite() && y.is_finite()) {
                pen_up = true;
                continue;
            }
            let _ = write!(
                d,
                "{}{:.2} {:.2} ",
                if pen_up { "M" } else { "L" },
                f.px(x),
                f.py(y)
            );
            pen_up = false;
        }
        let dash = if s.style == Style::Dashed {
            " stroke-dasharray=\"7 4\""
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "<path d=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"{dash}><title>{}</title></path>",
            d.trim_end(),
            escape(&s.name)
        );
        if s.style == Style::LineDots {
            for &(x, y) in s
                .points
                .iter()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
            {
                let _ = writeln!(
                    out,
                    "<circle cx=\"{:.2}\" cy=\"{:.2}\" r=\"3.5\" fill=\"{colour}\"/>",
                    f.px(x),
                    f.py(y)
                );
            }
        }
    }
    legend(&mut out, &c.series);
    out.push_str("</svg>\n");
    out
}

/// The legend, top left inside the plot area.
fn legend(out: &mut String, series: &[Series]) {
    let (x, mut y) = (LEFT + 12.0, TOP + 16.0);
    for (i, s) in series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let dash = if s.style == Style::Dashed {
            " stroke-dasharray=\"7 4\""
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "<line x1=\"{x:.2}\" y1=\"{:.2}\" x2=\"{:.2}\" y2=\"{:.2}\" stroke=\"{colour}\" stroke-width=\"2\"{dash}/><text x=\"{:.2}\" y=\"{:.2}\">{}</text>",
            y - 4.0,
            x + 24.0,
            y - 4.0,
            x + 30.0,
            y,
            escape(&s.name)
        );
        y += 17.0;
    }
}

/// Render a histogram (bars from 0 to each bin's height).
pub fn histogram(h: &Histogram) -> String {
    let bins: Vec<_> = h
        .bins
        .iter()
        .copied()
        .filter(|(lo, hi, n)| lo.is_finite() && hi.is_finite() && n.is_finite() && hi > lo)
        .collect();
    let xl = bins.iter().map(|b| b.0).fold(f64::INFINITY, f64::min);
    let xh = bins.iter().map(|b| b.1).fold(f64::NEG_INFINITY, f64::max);
    let yh = bins.iter().map(|b| b.2).fold(0.0, f64::max);
    let (xl, xh) = if bins.is_empty() {
        (0.0, 1.0)
    } else {
        (xl, xh)
    };
    let x_ticks = auto_ticks(xl, xh, 10);
    let y_ticks = auto_ticks(0.0, yh, 6);
    let f = Frame {
        x0: x_ticks[0].0.min(xl),
        x1: x_ticks[x_ticks.len() - 1].0.max(xh),
        y0: y_ticks[0].0,
        y1: y_ticks[y_ticks.len() - 1].0,
    };
    let mut out = String::new();
    open(&mut out, &h.title);
    axes(&mut out, &f, &x_ticks, &y_ticks, &h.x_label, &h.y_label);
    for (lo, hi, n) in bins {
        let (x0, x1, y) = (f.px(lo), f.px(hi), f.py(n.max(0.0)));
        let _ = writeln!(
            out,
            "<rect x=\"{:.2}\" y=\"{y:.2}\" width=\"{:.2}\" height=\"{:.2}\" fill=\"{}\" stroke=\"#ffffff\"><title>{}–{}: {}</title></rect>",
            x0,
            (x1 - x0).max(0.0),
            (f.py(0.0) - y).max(0.0),
            PALETTE[1],
            lo,
            hi,
            n
        );
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Every element opened is closed, in order (the charts use no comments, CDATA or
    /// processing instructions).
    fn well_formed(svg: &str) -> bool {
        let mut stack: Vec<String> = Vec::new();
        let mut rest = svg;
        while let Some(i) = rest.find('<') {
            let j = match rest[i..].find('>') {
                Some(j) => i + j,
                None => return false,
            };
            let tag = &rest[i + 1..j];
            if let Some(name) = tag.strip_prefix('/') {
                if stack.pop().as_deref() != Some(name.trim()) {
                    return false;
                }
            } else if !tag.ends_with('/') {
                stack.push(tag.split_whitespace().next().unwrap_or("").to_string());
            }
            rest = &rest[j + 1..];
        }
        stack.is_empty()
    }

    fn coords(svg: &str, attr: &str) -> Vec<f64> {
        svg.match_indices(&format!(" {attr}=\""))
            .map(|(i, m)| {
                let s = &svg[i + m.len()..];
                s[..s.find('"').unwrap()].parse().unwrap()
            })
            .collect()
    }

    #[test]
    fn nice_ticks_cover_the_range_with_round_steps() {
        for (lo, hi) in [
            (0.0, 4339.0),
            (0.0, 1.0),
            (-3.2, 17.9),
            (0.0, 0.37),
            (5.0, 5.0),
        ] {
            let (first, step, n) = nice_ticks(lo, hi, 6);
            let last = first + step * (n - 1) as f64;
            assert!(
                first <= lo && last >= hi.max(lo),
                "{lo} {hi}: {first} {step} {n}"
            );
            let m = step / 10f64.powf(step.log10().floor());
            assert!(
                [1.0, 2.0, 5.0, 10.0].iter().any(|k| (m - k).abs() < 1e-9),
                "{step}"
            );
            assert!((3..=13).contains(&n), "{lo} {hi}: {n} ticks");
        }
        assert_eq!(nice_ticks(0.0, 4339.0, 6), (0.0, 1000.0, 6));
    }

    #[test]
    fn labels() {
        assert_eq!(label(2000.0, 1000.0), "2000");
        assert_eq!(label(20000.0, 10000.0), "20,000");
        assert_eq!(label(0.25, 0.05), "0.25");
        assert_eq!(label(-0.0, 0.1), "0.0");
        assert_eq!(escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }

    #[test]
    fn line_chart_points_stay_in_the_plot_area_and_svg_is_well_formed() {
        let c = LineChart {
            title: "Tracking <weekly> & cumulative".into(),
            x_label: "week".into(),
            y_label: "repeat purchases".into(),
            series: vec![
                Series {
                    name: "actual".into(),
                    points: (1..=78).map(|k| (k as f64, (k * k) as f64)).collect(),
                    style: Style::Line,
                },
                Series {
                    name: "BG/NBD".into(),
                    points: vec![(1.0, 2.0), (f64::NAN, 3.0), (78.0, 6000.0)],
                    style: Style::Dashed,
                },
            ],
            x_ticks: None,
            rule: Some((39.0, "calibration end".into())),
        };
        let svg = line_chart(&c);
        assert!(well_formed(&svg), "{svg}");
        assert!(svg.contains("Tracking &lt;weekly&gt; &amp; cumulative"));
        // The NaN point lifts the pen: the dashed series has two separate moves.
        assert!(svg.matches("d=\"M").count() == 2 && svg.matches(" M").count() >= 1);
        let path_nums: Vec<f64> = svg
            .split("d=\"")
            .skip(1)
            .flat_map(|s| {
                s[..s.find('"').unwrap()]
                    .split(['M', 'L', ' '])
                    .filter(|t| !t.is_empty())
                    .map(|t| t.parse::<f64>().unwrap())
                    .collect::<Vec<_>>()
            })
            .collect();
        for xy in path_nums.chunks(2) {
            assert!(
                xy[0] >= LEFT - 1e-9 && xy[0] <= WIDTH - RIGHT + 1e-9,
                "{xy:?}"
            );
            assert!(
                xy[1] >= TOP - 1e-9 && xy[1] <= HEIGHT - BOTTOM + 1e-9,
                "{xy:?}"
            );
        }
        // Same input, same bytes.
        assert_eq!(svg, line_chart(&c));
    }

    #[test]
    fn larger_values_are_drawn_higher() {
        let c = LineChart {
            series: vec![Series {
                name: "s".into(),
                points: vec![(0.0, 1.0), (1.0, 5.0), (2.0, 3.0)],
                style: Style::LineDots,
            }],
            x_ticks: Some(vec![
                (0.0, "0".into()),
                (1.0, "1".into()),
                (2.0, "2+".into()),
            ]),
            ..Default::default()
        };
        let svg = line_chart(&c);
        assert!(well_formed(&svg));
        let cy = coords(&svg, "cy");
        assert_eq!(cy.len(), 3);
        assert!(cy[1] < cy[2] && cy[2] < cy[0], "{cy:?}");
        let cx = coords(&svg, "cx");
        assert!(cx[0] < cx[1] && cx[1] < cx[2]);
    }

    #[test]
    fn histogram_bar_heights_are_proportional() {
        let h = Histogram {
            title: "P(alive)".into(),
            x_label: "P(alive)".into(),
            y_label: "customers".into(),
            bins: vec![(0.0, 0.1, 100.0), (0.1, 0.2, 50.0), (0.9, 1.0, 25.0)],
        };
        let svg = histogram(&h);
        assert!(well_formed(&svg));
        let heights: Vec<f64> = coords(&svg, "height").into_iter().skip(3).collect();
        // Skipped: the document's, the background's and the plot frame's heights.
        assert_eq!(heights.len(), 3, "{svg}");
        assert!((heights[0] / heights[1] - 2.0).abs() < 0.01);
        assert!((heights[0] / heights[2] - 4.0).abs() < 0.01);
        // No bins: still a valid, empty chart.
        assert!(well_formed(&histogram(&Histogram::default())));
        assert!(well_formed(&line_chart(&LineChart::default())));
    }
}
