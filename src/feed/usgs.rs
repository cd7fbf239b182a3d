//! USGS earthquake GeoJSON: a `Feature`, or a `FeatureCollection` of them (summary feeds and
//! FDSN `format=geojson`). The JSONP wrapper `eqfeed_callback(...)` is removed by the caller.
//!
//! Quirks handled:
//! - Times are epoch milliseconds (UTC). `updated` changes whenever any product of the event
//!   changes (felt reports, significance), so it becomes `sent` and the msg id (`{id}@{updated}`)
//!   while the event id stays the preferred `id`; assess decides what is material, hence every
//!   message is an `alert` except `status: deleted`, which cancels.
//! - The preferred `id` can move to another network, so every id in `ids` (",at…,ak…,us…,",
//!   leading and trailing commas) becomes an alias, the preferred one included.
//! - `mag` is null until a magnitude is computed: refused, naming `properties.mag`.
//! - `type` other than "earthquake" (quarry blast, explosion …) is refused.
//! - Depth is `geometry.coordinates[2]`, km positive down; shallow events above the datum carry
//!   small negative depths (down to a few km), which are clamped to 0.
//! - `mmi` (ShakeMap, Modified Mercalli) is kept as the maximum intensity when positive; a
//!   feature with `mmi: 0` next to a PAGER level means "not computed".
//! - `place` can be null; the title stands in.
//! - A collection is decoded whole by `decode_all`. Non-earthquake features are skipped there
//!   (a summary feed mixes in blasts); any other bad feature fails the collection with its index.

use super::json_util::{check_quake, expect_one, Obj};
use super::native::clean;
use super::{DecodeError, Event, MsgType, Quake, Review, Sender, Status};
use serde_json::Value;

pub const FORMAT: &str = "usgs-geojson";

/// Depths above the datum that are clamped to 0 rather than refused.
const MIN_DEPTH_KM: f64 = -5.0;

/// A Feature, or a FeatureCollection; `all` allows any number of features (`decode_all`).
pub fn decode(v: &Value, all: bool) -> Result<Vec<Event>, DecodeError> {
    let top = Obj::new(v, "")?;
    match top.opt_str("type")? {
        Some("Feature") => Ok(vec![feature(v, "")?]),
        Some("FeatureCollection") => {
            let features = match top.get("features") {
                Some(Value::Array(a)) => a,
                _ => return Err(top.bad("features", "must be an array of Features")),
            };
            expect_one(features.len(), all, "FeatureCollection", "features", "features")?;
            let mut out = Vec::with_capacity(features.len());
            for (i, f) in features.iter().enumerate() {
                let path = format!("features[{i}]");
                match feature(f, &path) {
                    Ok(e) => out.push(e),
                    Err(e) if all && is_not_earthquake(&e) => continue,
                    Err(e) => return Err(e),
                }
            }
            Ok(out)
        }
        Some(other) => Err(top.bad(
            "type",
            format!(
                "must be Feature or FeatureCollection, got {:?}",
                super::json_util::short(other)
            ),
        )),
        None => Err(top.bad("type", "is required (Feature or FeatureCollection)")),
    }
}

fn is_not_earthquake(e: &DecodeError) -> bool {
    matches!(e, DecodeError::Field { field, problem }
        if field.ends_with("properties.type") && problem.contains("not an earthquake"))
}

fn feature(v: &Value, path: &str) -> Result<Event, DecodeError> {
    let f = Obj::new(v, path)?;
    let props_path = f.name("properties");
    let p = Obj::new(
        f.get("properties")
            .ok_or_else(|| f.bad("properties", "is required"))?,
        &props_path,
    )?;
    if let Some(t) = p.opt_str("type")? {
        if !t.eq_ignore_ascii_case("earthquake") {
            return Err(p.bad(
                "type",
                format!("{:?} is not an earthquake", super::json_util::short(t)),
            ));
        }
    }
    let id = f.req_id("id")?;
    let magnitude = match p.get("mag") {
        None => return Err(p.bad("mag", "is null: USGS has no magnitude for this event yet")),
        Some(_) => p.req_num("mag")?,
    };
    let origin_time = p.req_ms_time("time")?;
    let updated = p.req_ms_time("updated")?;

    let geo_path = f.name("geometry");
    let g = Obj::new(
        f.get("geometry")
            .ok_or_else(|| f.bad("geometry", "is required"))?,
        &geo_path,
    )?;
    let coords = match g.get("coordinates") {
        Some(Value::Array(c)) if c.len() >= 3 => c,
        _ => return Err(g.bad("coordinates", "must be [lon, lat, depth_km]")),
    };
    let num = |i: usize| {
        coords[i]
            .as_f64()
            .filter(|x| x.is_finite())
            .ok_or_else(|| g.bad(&format!("coordinates[{i}]"), "must be a number"))
    };
    let (lon, lat, depth) = (num(0)?, num(1)?, num(2)?);
    let depth_km = if (MIN_DEPTH_KM..0.0).contains(&depth) {
        0.0
    } else {
        depth
    };

    let (msg_type, review) = match p.opt_str("status")?.map(str::to_ascii_lowercase).as_deref() {
        Some("deleted") => (MsgType::Cancel, None),
        Some("reviewed") => (MsgType::Alert, Some(Review::Reviewed)),
        Some("automatic") => (MsgType::Alert, Some(Review::Automatic)),
        _ => (MsgType::Alert, None),
    };

    let mut aliases: Vec<String> = Vec::new();
    for a in p.opt_str("ids")?.unwrap_or("").split(',') {
        let a = a.trim();
        if !a.is_empty() && super::json_util::check_id(a).is_ok() && !aliases.iter().any(|x| x == a) {
            aliases.push(a.to_string());
        }
    }
    if !aliases.contains(&id) {
        aliases.insert(0, id.clone());
    }

    let place = match p.opt_str("place")? {
        Some(s) => clean(s),
        None => p.text("title")?,
    };
    let quake = Quake {
        origin_time,
        lat,
        lon,
        depth_km,
        magnitude,
        mag_type: p.opt_str("magType")?.map(clean).filter(|s| !s.is_empty()),
        place,
        review,
        max_intensity: p.opt_num("mmi")?.filter(|m| *m > 0.0),
    };
    let names = [
        g.name("coordinates[1]"),
        g.name("coordinates[0]"),
        g.name("coordinates[2]"),
        p.name("mag"),
    ];
    check_quake(&quake, [&names[0], &names[1], &names[2], &names[3]])?;

    Ok(Event {
        format: FORMAT.to_string(),
        msg_id: format!("{id}@{}", updated.as_millisecond()),
        event_id: id,
        msg_type,
        status: Status::Actual,
        sender: Sender {
            id: "usgs".into(),
            name: Some("USGS".into()),
        },
        sent: updated,
        body: crate::model::Body::Quake(quake),
        aliases,
        revision: None,
        references: Vec::new(),
        web: p.opt_str("url")?.map(clean).filter(|s| !s.is_empty()),
        signer: None,
    })
}
