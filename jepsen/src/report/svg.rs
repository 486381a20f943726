//! Hand-written SVG building blocks for the report's plots: a plot frame mapping data to
//! pixels (linear or log₁₀ y axis), axes with "nice" ticks, shaded time windows, legends and
//! markers. Output is deterministic text; every label is escaped.

use std::fmt::Write as _;

/// Escapes text for HTML and SVG (element content and attribute values).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Colours of outcomes, shared by plots and tables.
pub const OK_COLOUR: &str = "#2e7d32";
/// `fail`: certainly did not happen.
pub const FAIL_COLOUR: &str = "#c62828";
/// `info` or pending: may have happened.
pub const INFO_COLOUR: &str = "#ef8c00";
/// Shading of nemesis windows.
pub const NEMESIS_COLOUR: &str = "#9e9e9e";

/// A plot area: pixel size, margins, and the data ranges shown.
#[derive(Clone, Debug)]
pub struct Frame {
    /// Total width in pixels.
    pub width: f64,
    /// Total height in pixels.
    pub height: f64,
    /// Left margin (room for y tick labels).
    pub left: f64,
    /// Right margin (room for a legend).
    pub right: f64,
    /// Top margin.
    pub top: f64,
    /// Bottom margin (room for x tick labels).
    pub bottom: f64,
    /// Data x range.
    pub x_range: (f64, f64),
    /// Data y range (both positive when `y_log`).
    pub y_range: (f64, f64),
    /// Logarithmic y axis?
    pub y_log: bool,
    /// Draw y ticks and labels (off when rows are labelled separately)?
    pub y_ticks: bool,
}

impl Frame {
    /// A frame with the report's default size and margins.
    pub fn new(x_range: (f64, f64), y_range: (f64, f64), y_log: bool) -> Frame {
        let widen = |(lo, hi): (f64, f64)| if hi > lo { (lo, hi) } else { (lo, lo + 1.0) };
        Frame {
            width: 900.0,
            height: 320.0,
            left: 70.0,
            right: 150.0,
            top: 16.0,
            bottom: 44.0,
            x_range: widen(x_range),
            y_range: widen(y_range),
            y_log,
            y_ticks: true,
        }
    }

    /// Pixel x of a data x.
    pub fn x(&self, x: f64) -> f64 {
        let (lo, hi) = self.x_range;
        let plot_width = self.width - self.left - self.right;
        self.left + (x - lo) / (hi - lo) * plot_width
    }

    /// Pixel y of a data y.
    pub fn y(&self, y: f64) -> f64 {
        let (lo, hi) = self.y_range;
        let fraction = if self.y_log {
            (y.max(lo).log10() - lo.log10()) / (hi.log10() - lo.log10())
        } else {
            (y - lo) / (hi - lo)
        };
        let plot_height = self.height - self.top - self.bottom;
        self.top + (1.0 - fraction.clamp(0.0, 1.0)) * plot_height
    }

    /// The bottom edge of the plot area in pixels.
    pub fn y_bottom(&self) -> f64 {
        self.height - self.bottom
    }

    /// The right edge of the plot area in pixels.
    pub fn x_right(&self) -> f64 {
        self.width - self.right
    }

    /// Opens the `<svg>` element with an accessible title.
    pub fn open(&self, out: &mut String, title: &str) {
        let _ = write!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" class="plot" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img"><title>{t}</title>"#,
            w = self.width,
            h = self.height,
            t = escape(title)
        );
    }

    /// Draws both axes with ticks, grid lines and labels.
    pub fn axes(&self, out: &mut String, x_label: &str, y_label: &str) {
        let (bottom, right) = (self.y_bottom(), self.x_right());
        for tick in nice_ticks(self.x_range.0, self.x_range.1, 8) {
            let x = self.x(tick);
            let _ = write!(
                out,
                r##"<line x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{bottom}" class="grid"/><text x="{x:.1}" y="{ty:.1}" text-anchor="middle" class="tick">{label}</text>"##,
                top = self.top,
                ty = bottom + 14.0,
                label = format_tick(tick)
            );
        }
        let y_ticks = if !self.y_ticks {
            Vec::new()
        } else if self.y_log {
            log_ticks(self.y_range.0, self.y_range.1)
        } else {
            nice_ticks(self.y_range.0, self.y_range.1, 6)
        };
        for tick in y_ticks {
            let y = self.y(tick);
            let _ = write!(
                out,
                r##"<line x1="{left}" y1="{y:.1}" x2="{right}" y2="{y:.1}" class="grid"/><text x="{tx}" y="{ty:.1}" text-anchor="end" class="tick">{label}</text>"##,
                left = self.left,
                tx = self.left - 6.0,
                ty = y + 4.0,
                label = format_tick(tick)
            );
        }
        let _ = write!(
            out,
            r##"<rect x="{l}" y="{t}" width="{w:.1}" height="{h:.1}" class="frame"/><text x="{cx:.1}" y="{lx:.1}" text-anchor="middle" class="label">{xl}</text><text transform="translate(14 {cy:.1}) rotate(-90)" text-anchor="middle" class="label">{yl}</text>"##,
            l = self.left,
            t = self.top,
            w = right - self.left,
            h = bottom - self.top,
            cx = (self.left + right) / 2.0,
            lx = self.height - 6.0,
            cy = (self.top + bottom) / 2.0,
            xl = escape(x_label),
            yl = escape(y_label)
        );
    }

    /// Shades `[start, end]` (data x) across the plot's height, with a hover title.
    pub fn shade(&self, out: &mut String, start: f64, end: f64, title: &str) {
        let x0 = self.x(start).max(self.left);
        let x1 = self.x(end).min(self.x_right()).max(x0 + 1.0);
        let _ = write!(
            out,
            r##"<rect x="{x0:.1}" y="{t}" width="{w:.1}" height="{h:.1}" fill="{NEMESIS_COLOUR}" fill-opacity="0.25" class="nemesis"><title>{title}</title></rect>"##,
            t = self.top,
            w = x1 - x0,
            h = self.y_bottom() - self.top,
            title = escape(title)
        );
    }

    /// A legend in the right margin: one row per (swatch, label).
    pub fn legend(&self, out: &mut String, rows: &[(Swatch, String)]) {
        let x = self.x_right() + 12.0;
        for (i, (swatch, label)) in rows.iter().enumerate() {
            let y = self.top + 10.0 + 18.0 * i as f64;
            swatch.draw(out, x + 6.0, y);
            let _ = write!(
                out,
                r##"<text x="{tx:.1}" y="{ty:.1}" class="legend">{label}</text>"##,
                tx = x + 16.0,
                ty = y + 4.0,
                label = escape(label)
            );
        }
    }
}

/// A legend symbol.
#[derive(Clone, Debug)]
pub enum Swatch {
    /// A filled square of a colour.
    Colour(&'static str),
    /// A grey marker of a shape.
    Shape(usize),
    /// A shaded band (nemesis).
    Band,
}

impl Swatch {
    fn draw(&self, out: &mut String, x: f64, y: f64) {
        match self {
            Swatch::Colour(colour) => {
                let _ = write!(
                    out,
                    r##"<rect x="{:.1}" y="{:.1}" width="10" height="10" fill="{colour}"/>"##,
                    x - 5.0,
                    y - 5.0
                );
            }
            Swatch::Shape(shape) => marker(out, *shape, x, y, "#555"),
            Swatch::Band => {
                let _ = write!(
                    out,
                    r##"<rect x="{:.1}" y="{:.1}" width="10" height="10" fill="{NEMESIS_COLOUR}" fill-opacity="0.4"/>"##,
                    x - 5.0,
                    y - 5.0
                );
            }
        }
    }
}

/// The number of distinct marker shapes.
pub const SHAPES: usize = 5;

/// Draws a small marker: circle, square, triangle, diamond or cross.
pub fn marker(out: &mut String, shape: usize, x: f64, y: f64, colour: &str) {
    let r = 2.6;
    let _ = match shape % SHAPES {
        0 => write!(
            out,
            r##"<circle cx="{x:.1}" cy="{y:.1}" r="{r}" fill="{colour}"/>"##
        ),
        1 => write!(
            out,
            r##"<rect x="{:.1}" y="{:.1}" width="{s:.1}" height="{s:.1}" fill="{colour}"/>"##,
            x - r,
            y - r,
            s = 2.0 * r
        ),
        2 => write!(
            out,
            r##"<path d="M{x:.1} {:.1}L{:.1} {:.1}L{:.1} {:.1}Z" fill="{colour}"/>"##,
            y - r - 0.5,
            x + r,
            y + r,
            x - r,
            y + r
        ),
        3 => write!(
            out,
            r##"<path d="M{x:.1} {:.1}L{:.1} {y:.1}L{x:.1} {:.1}L{:.1} {y:.1}Z" fill="{colour}"/>"##,
            y - r - 0.5,
            x + r + 0.5,
            y + r + 0.5,
            x - r - 0.5
        ),
        _ => write!(
            out,
            r##"<path d="M{:.1} {:.1}L{:.1} {:.1}M{:.1} {:.1}L{:.1} {:.1}" stroke="{colour}" stroke-width="1.5"/>"##,
            x - r,
            y - r,
            x + r,
            y + r,
            x - r,
            y + r,
            x + r,
            y - r
        ),
    };
}

/// About `count` round tick values (1, 2 or 5 × 10ⁿ apart) covering `[lo, hi]`.
pub fn nice_ticks(lo: f64, hi: f64, count: usize) -> Vec<f64> {
    let span = hi - lo;
    if !(span.is_finite() && span > 0.0) {
        return vec![lo];
    }
    let raw = span / count.max(1) as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|step| *step >= raw)
        .unwrap_or(10.0 * magnitude);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// Powers of ten within `[lo, hi]` (none unless both are positive and finite).
pub fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let positive = |v: f64| v.is_finite() && v > 0.0;
    if !(positive(lo) && positive(hi)) {
        return Vec::new();
    }
    let first = lo.log10().ceil() as i32;
    let last = hi.log10().floor() as i32;
    (first..=last).map(|p| 10f64.powi(p)).collect()
}

/// A compact tick label: integers plainly, small and large numbers with few digits.
pub fn format_tick(value: f64) -> String {
    if value == 0.0 {
        "0".to_string()
    } else if value.abs() >= 1e6 || value.abs() < 1e-3 {
        format!("{value:.0e}")
    } else if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        let text = format!("{value:.3}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}
