//! Distances and areas on the Earth, good to well under a kilometre at city scale.

const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Great-circle distance (haversine) in km between two (lat, lon) points in degrees.
pub fn distance_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().min(1.0).asin()
}

/// Even-odd ray casting; `ring` is (lon, lat). Good for the small polygons warnings use.
pub fn point_in_ring(lat: f64, lon: f64, ring: &[(f64, f64)]) -> bool {
    let mut inside = false;
    let n = ring.len();
    if n < 3 {
        return false;
    }
    let mut j = n - 1;
    for i in 0..n {
        let (xi, yi) = ring[i];
        let (xj, yj) = ring[j];
        if (yi > lat) != (yj > lat) && lon < (xj - xi) * (lat - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}

/// Whether two GB/T 2260 administrative codes overlap: one area contains the other.
/// `510000` (Sichuan) contains `510100` (Chengdu) contains `510104` (Jinjiang district).
pub fn adcodes_overlap(a: &str, b: &str) -> bool {
    fn stem(s: &str) -> &str {
        let mut s = s.trim();
        while s.len() > 2 && s.ends_with("00") {
            s = &s[..s.len() - 2];
        }
        s
    }
    let (a, b) = (stem(a), stem(b));
    !a.is_empty() && !b.is_empty() && (a.starts_with(b) || b.starts_with(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lushan_is_about_110_km_from_chengdu() {
        let d = distance_km(30.3, 103.0, 30.66, 104.07);
        assert!((105.0..115.0).contains(&d), "{d}");
    }

    #[test]
    fn antipodes_and_zero() {
        assert!(distance_km(10.0, 20.0, 10.0, 20.0).abs() < 1e-9);
        assert!((distance_km(0.0, 0.0, 0.0, 180.0) - 20015.1).abs() < 1.0);
    }

    #[test]
    fn polygon_contains_chengdu() {
        let ring = [
            (103.5, 30.2),
            (104.8, 30.2),
            (104.8, 31.2),
            (103.5, 31.2),
            (103.5, 30.2),
        ];
        assert!(point_in_ring(30.66, 104.07, &ring));
        assert!(!point_in_ring(29.0, 104.07, &ring));
    }

    #[test]
    fn adcodes() {
        assert!(adcodes_overlap("510000", "510100"));
        assert!(adcodes_overlap("510104", "510100"));
        assert!(!adcodes_overlap("510300", "510100"));
        assert!(!adcodes_overlap("", "510100"));
    }
}
