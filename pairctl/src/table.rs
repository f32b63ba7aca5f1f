//! Aligned text columns for the terminal.
//!
//! Chinese city names take two terminal cells per character, so widths are
//! measured in cells, not chars; a small table of wide ranges is enough for
//! the names this project prints and spares a dependency.

/// How a column's cells line up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    /// For numbers, so their digits line up.
    Right,
}

/// A table: a header row and rows of cells, rendered with two spaces
/// between columns.
#[derive(Debug, Clone)]
pub struct Table {
    headers: Vec<String>,
    aligns: Vec<Align>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these columns.
    pub fn new(columns: &[(&str, Align)]) -> Self {
        Table {
            headers: columns.iter().map(|(h, _)| h.to_string()).collect(),
            aligns: columns.iter().map(|(_, a)| *a).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; it must have one cell per column.
    pub fn row<I, S>(&mut self, cells: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let row: Vec<String> = cells.into_iter().map(Into::into).collect();
        assert_eq!(
            row.len(),
            self.headers.len(),
            "a row must have one cell per column"
        );
        self.rows.push(row);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The header, a rule, then the rows; no trailing spaces.
    pub fn render(&self) -> String {
        let widths: Vec<usize> = (0..self.headers.len())
            .map(|c| {
                std::iter::once(&self.headers[c])
                    .chain(self.rows.iter().map(|r| &r[c]))
                    .map(|cell| display_width(cell))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        let mut out = String::new();
        for row in std::iter::once(&self.headers)
            .chain(std::iter::once(&rule))
            .chain(self.rows.iter())
        {
            let line: Vec<String> = row
                .iter()
                .zip(&widths)
                .zip(&self.aligns)
                .map(|((cell, width), align)| pad(cell, *width, *align))
                .collect();
            out.push_str(line.join("  ").trim_end());
            out.push('\n');
        }
        out
    }
}

fn pad(cell: &str, width: usize, align: Align) -> String {
    let fill = " ".repeat(width.saturating_sub(display_width(cell)));
    match align {
        Align::Left => format!("{cell}{fill}"),
        Align::Right => format!("{fill}{cell}"),
    }
}

/// Terminal cells `text` takes: two for East Asian wide characters.
pub fn display_width(text: &str) -> usize {
    text.chars().map(char_width).sum()
}

fn char_width(c: char) -> usize {
    const WIDE: [(u32, u32); 8] = [
        (0x1100, 0x115F),   // Hangul Jamo
        (0x2E80, 0x303E),   // CJK radicals, punctuation
        (0x3041, 0xA4CF),   // kana, CJK unified ideographs, Yi
        (0xAC00, 0xD7A3),   // Hangul syllables
        (0xF900, 0xFAFF),   // CJK compatibility ideographs
        (0xFE30, 0xFE4F),   // CJK compatibility forms
        (0xFF00, 0xFF60),   // fullwidth forms
        (0x20000, 0x3FFFD), // CJK extensions
    ];
    let code = c as u32;
    if WIDE.iter().any(|(lo, hi)| (*lo..=*hi).contains(&code)) {
        2
    } else {
        1
    }
}

/// A number with thousands separators, e.g. `1,234,567`.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut groups = Vec::new();
    let mut end = digits.len();
    while end > 3 {
        groups.push(&digits[end - 3..end]);
        end -= 3;
    }
    groups.push(&digits[..end]);
    groups.reverse();
    let sign = if n < 0 { "-" } else { "" };
    format!("{sign}{}", groups.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_and_numbers_align_right() {
        let mut t = Table::new(&[("city", Align::Left), ("cases", Align::Right)]);
        t.row(["wuhan", "50,000"]);
        t.row(["ezhou", "7"]);
        let text = t.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "city    cases");
        assert_eq!(lines[1], "-----  ------");
        assert_eq!(lines[2], "wuhan  50,000");
        assert_eq!(lines[3], "ezhou       7");
    }

    #[test]
    fn chinese_names_count_two_cells_per_character() {
        assert_eq!(display_width("黄石"), 4);
        assert_eq!(display_width("huangshi"), 8);
        let mut t = Table::new(&[("name", Align::Left), ("id", Align::Left)]);
        t.row(["黄石", "huangshi"]);
        t.row(["恩施州", "enshi"]);
        let text = t.render();
        let lines: Vec<&str> = text.lines().collect();
        // The second column starts at the same cell on every line.
        let start = |l: &str| display_width(&l[..l.rfind(' ').unwrap() + 1]);
        assert_eq!(start(lines[2]), start(lines[3]));
        assert_eq!(start(lines[2]), 8);
    }

    #[test]
    fn no_trailing_spaces() {
        let mut t = Table::new(&[("a", Align::Left), ("b", Align::Left)]);
        t.row(["long value", ""]);
        assert!(t.render().lines().all(|l| !l.ends_with(' ')));
    }

    #[test]
    #[should_panic(expected = "one cell per column")]
    fn a_short_row_is_a_bug() {
        let mut t = Table::new(&[("a", Align::Left), ("b", Align::Left)]);
        t.row(["only one"]);
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(-1_234_567), "-1,234,567");
    }
}
