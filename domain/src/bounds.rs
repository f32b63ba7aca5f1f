//! One way to check a number against the range it must lie in, with an
//! error that names the field, the value and the range: what every bound of
//! the protocol (clock speed, outbreak level) reports the same way.

use std::fmt::Display;
use std::ops::RangeInclusive;

/// `value` if it lies in `range`; otherwise "`field`: `value` is outside
/// `start..=end`", followed by `unit` when it is not empty.
pub fn within<T: PartialOrd + Display + Copy>(
    field: &str,
    value: T,
    range: &RangeInclusive<T>,
    unit: &str,
) -> Result<T, String> {
    if range.contains(&value) {
        return Ok(value);
    }
    let unit = if unit.is_empty() {
        String::new()
    } else {
        format!(" ({unit})")
    };
    Err(format!(
        "{field}: {value} is outside {}..={}{unit}",
        range.start(),
        range.end()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_in_range_passes_and_one_outside_is_named() {
        assert_eq!(within("x", 3, &(1..=5), ""), Ok(3));
        assert_eq!(within("x", 5, &(1..=5), ""), Ok(5));
        assert_eq!(
            within("clock.day_ms", 0, &(1..=9), "wall ms"),
            Err("clock.day_ms: 0 is outside 1..=9 (wall ms)".to_string())
        );
    }
}
