//! Plain-text tables: columns right-aligned for numbers, left for text.

/// A table with a header row; `print` pads each column to its widest cell.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Table {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
        }
    }
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }
    pub fn render(&self) -> String {
        let k = self.header.len();
        let mut width: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate().take(k) {
                width[i] = width[i].max(c.chars().count());
            }
        }
        // Numbers, counts like `7+` and percentages are right-aligned.
        let numeric = |s: &str| s.trim_end_matches(['+', '%']).parse::<f64>().is_ok() || s == "-";
        let mut out = String::new();
        let line = |cells: &[String], out: &mut String, header: bool| {
            for (i, c) in cells.iter().enumerate().take(k) {
                if i > 0 {
                    out.push_str("  ");
                }
                let pad = width[i] - c.chars().count();
                if !header && numeric(c) {
                    out.push_str(&" ".repeat(pad));
                    out.push_str(c);
                } else {
                    out.push_str(c);
                    if i + 1 < k {
                        out.push_str(&" ".repeat(pad));
                    }
                }
            }
            out.push('\n');
        };
        line(&self.header, &mut out, true);
        let rule: Vec<String> = width.iter().map(|w| "-".repeat(*w)).collect();
        line(&rule, &mut out, true);
        for r in &self.rows {
            line(r, &mut out, false);
        }
        out
    }
}

/// A number with `sig` significant digits, no exponent for ordinary magnitudes.
pub fn num(v: f64, sig: usize) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    if v.fract() == 0.0 && v.abs() < 1e15 {
        return format!("{v:.0}");
    }
    let mag = v.abs().log10().floor() as i32;
    if !(-5..=12).contains(&mag) {
        return format!("{v:.*e}", sig.saturating_sub(1));
    }
    let decimals = (sig as i32 - 1 - mag).max(0) as usize;
    format!("{v:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_columns() {
        let mut t = Table::new(&["name", "value"]);
        t.row(vec!["r".into(), "0.2426".into()]);
        t.row(vec!["alpha".into(), "4.414".into()]);
        assert_eq!(
            t.render(),
            "name   value\n-----  ------\nr      0.2426\nalpha   4.414\n"
        );
    }

    #[test]
    fn formats_significant_digits() {
        assert_eq!(num(0.24259, 4), "0.2426");
        assert_eq!(num(9582.4256, 4), "9582");
        assert_eq!(num(-9582.4256, 9), "-9582.42560");
        assert_eq!(num(1.5e-9, 3), "1.50e-9");
        assert_eq!(num(1000.0, 12), "1000");
        assert_eq!(num(0.0, 3), "0");
    }
}
