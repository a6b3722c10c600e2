//! Charts drawn on the server as SVG: pure geometry, no I/O.

/// A progress ring's circle radius and stroke, in a 0..100 view box.
pub const RING_RADIUS: f64 = 42.0;

/// The circumference of the ring.
pub fn ring_circumference() -> f64 {
    2.0 * std::f64::consts::PI * RING_RADIUS
}

/// The `stroke-dasharray` of a ring filled to `percent` (clamped to 0..=100): the drawn length and
/// the gap, to two decimals.
pub fn ring_dash(percent: f64) -> (String, String) {
    let p = if percent.is_finite() {
        percent.clamp(0.0, 100.0)
    } else {
        0.0
    };
    let c = ring_circumference();
    let filled = c * p / 100.0;
    (format!("{filled:.2}"), format!("{:.2}", c - filled))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ring_is_empty_at_zero_full_at_a_hundred_and_clamped_outside() {
        let c = format!("{:.2}", ring_circumference());
        assert_eq!(ring_dash(0.0), ("0.00".to_owned(), c.clone()));
        assert_eq!(ring_dash(100.0), (c.clone(), "0.00".to_owned()));
        assert_eq!(ring_dash(250.0), (c.clone(), "0.00".to_owned()));
        assert_eq!(ring_dash(-5.0).0, "0.00");
        assert_eq!(ring_dash(f64::NAN).0, "0.00");
        let (half, rest) = ring_dash(50.0);
        assert_eq!(half, rest);
    }
}
