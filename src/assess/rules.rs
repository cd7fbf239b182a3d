//! Classification: which class an event is, and why, from the configured rules.

use super::geo;
use crate::config::Config;
use crate::feed::{Color, Quake, Weather};
use crate::model::Class;

pub struct Classified {
    pub class: Class,
    pub reason: String,
    pub distance_km: Option<f64>,
}

/// The first `[[rules.quake]]` rule that matches wins.
pub fn quake(cfg: &Config, q: &Quake) -> Classified {
    let j = &cfg.jurisdiction;
    let d = geo::distance_km(j.lat, j.lon, q.lat, q.lon);
    for (i, r) in cfg.rules.quake.iter().enumerate() {
        if q.magnitude >= r.min_magnitude && d <= r.max_distance_km {
            return Classified {
                class: r.class,
                reason: format!(
                    "M{:.1} at {:.0} km from {}: rules.quake[{i}] ({}: M≥{:.1} within {:.0} km)",
                    q.magnitude,
                    d,
                    j.name,
                    r.class.as_str(),
                    r.min_magnitude,
                    r.max_distance_km
                ),
                distance_km: Some(d),
            };
        }
    }
    Classified {
        class: Class::Ignore,
        reason: format!(
            "M{:.1} at {:.0} km from {} matches no quake rule",
            q.magnitude, d, j.name
        ),
        distance_km: Some(d),
    }
}

pub fn weather(cfg: &Config, w: &Weather, now: jiff::Timestamp) -> Classified {
    let j = &cfg.jurisdiction;
    let d = |class, reason| Classified {
        class,
        reason,
        distance_km: None,
    };
    if let Some(exp) = w.expires.filter(|e| *e <= now) {
        return d(Class::Ignore, format!("warning expired at {exp}"));
    }
    let by_code = w
        .area
        .adcodes
        .iter()
        .find(|a| j.adcodes.iter().any(|mine| geo::adcodes_overlap(a, mine)));
    let by_polygon = w
        .area
        .polygons
        .iter()
        .any(|ring| geo::point_in_ring(j.lat, j.lon, ring))
        || w.area
            .circles
            .iter()
            .any(|(lat, lon, r)| geo::distance_km(*lat, *lon, j.lat, j.lon) <= *r);
    let by_name = j
        .area_names
        .iter()
        .find(|n| !n.is_empty() && w.area.desc.contains(n.as_str()));
    let where_ = match (by_code, by_polygon, by_name) {
        (Some(code), _, _) => format!("area code {code} covers {}", j.name),
        (None, true, _) => format!("warning polygon or circle contains {}", j.name),
        (None, false, Some(name)) => format!("warning area names {name}"),
        (None, false, None) => {
            return d(
                Class::Ignore,
                format!("warning area \"{}\" does not cover {}", w.area.desc, j.name),
            )
        }
    };
    let listed = |list: &[String], c: Color| list.iter().any(|s| Color::parse(s) == Some(c));
    let (class, why) = match w.color {
        Some(c) if listed(&cfg.rules.weather.emergency_colors, c) => (
            Class::Emergency,
            format!("{} is in rules.weather.emergency_colors", c.as_str()),
        ),
        Some(c) if listed(&cfg.rules.weather.routine_colors, c) => (
            Class::Routine,
            format!("{} is in rules.weather.routine_colors", c.as_str()),
        ),
        Some(c) => (Class::Info, format!("{} is in no colour list", c.as_str())),
        None => (Class::Info, "no signal colour".to_string()),
    };
    d(
        class,
        format!(
            "{}{}: {why}; {where_}",
            w.type_name,
            w.color.map(|c| c.zh()).unwrap_or("")
        ),
    )
}
