//! The JSON shapes in which China Earthquake Networks Center (CENC, 中国地震台网) quick reports
//! and China Earthquake Administration early warnings (中国地震预警网) are relayed
//! (`docs/sources.md` §2; samples in `tests/fixtures/feeds/cenc/`).
//!
//! | shape | recognised by | review |
//! |---|---|---|
//! | Wolfx `cenc_eew` / `sc_eew` | `EventID` + `ReportNum` + `Magnitude`/`Magunitude` (sic) | automatic |
//! | Wolfx `cenc_eqlist` | `No1` … `No50` objects | `type` automatic/reviewed |
//! | FAN Studio `/cenc` | `Data` with `infoTypeName` or `autoFlag` | `[自动测定]`/`[正式测定]`, autoFlag "I" = formal |
//! | FAN Studio `/cea`, `/cea-pr` | `Data` with `eventId` + `epiIntensity`/`updates` (`province` = cea-pr) | automatic |
//! | CENC app item | `eqid` + `eq_type` | `eq_type` A/M |
//! | ceic speedsearch | a record with `CATA_ID`, or `{"shuju": [records]}` | `AUTO_FLAG` M = formal |
//! | cenc.ac.cn open data | `{"code", "data": [items with uniEventId]}` | `eqType` CC formal, AU automatic |
//!
//! Quirks handled:
//! - Local times without an offset are Beijing time (+08:00); the app's are epoch milliseconds.
//! - Numbers arrive as strings in some relays (`"magnitude": "4.0"`) and as numbers in others.
//! - The speedsearch record names the field holding the magnitude in `EQ_TYPE` (eewcn reads
//!   `e[e["EQ_TYPE"]]`); the app's `depth` is in metres (10000.0 for a 10 km event).
//! - EEW reports of one event share its id; the report number (`ReportNum`, `updates`) is the
//!   revision and part of the msg id. FAN's cea sample without `updates` uses its `updateTime`.
//! - A report without depth, magnitude or epicentre is refused naming the field: the public text
//!   states each of them, and none is invented.
//! - Deletion flags (`isDeleted: 1`, speedsearch `IS_DEL: "1"`, the latter inferred) cancel.
//! - FAN's `/cenc` sample has `createTime` 8.5 h after `shockTime`; its doc says both are UTC+8,
//!   and that is how they are read.
//! - One CENC report reaches alertd through several relays, each spelling CENC's id its own way
//!   (`CC.…000_I`, `CC.….2`, `AUAU.….V.001`, epoch ms): the event id is CENC's own
//!   (`cenc_id`), the relay's spelling an alias, so it is one event and one alert.
//! - Lists (eqlist, speedsearch, open data) yield one event per record through `decode_all`;
//!   `decode` takes a list only when it holds exactly one record.

use super::json_util::{check_quake, expect_one, key_list, Obj};
use super::{DecodeError, Event, MsgType, Quake, Review, Sender, Status};
use jiff::Timestamp;
use serde_json::{Map, Value};

const CENC: (&str, &str) = ("cenc", "中国地震台网中心");
const CEA_EEW: (&str, &str) = ("cea-eew", "中国地震预警网");
const SC_EEW: (&str, &str) = ("sc-eew", "四川省地震局");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    WolfxEew,
    WolfxEqlist,
    FanCenc,
    FanCea,
    FanCeaPr,
    CencApp,
    Speedsearch,
    SpeedsearchList,
    OpenData,
}

/// Which CENC shape an object has, if any. Used for content detection.
pub fn detect(o: &Map<String, Value>) -> Option<Shape> {
    let has = |k: &str| o.contains_key(k);
    if has("EventID") && (has("Magnitude") || has("Magunitude")) && has("ReportNum") {
        return Some(Shape::WolfxEew);
    }
    if o.iter().any(|(k, v)| v.is_object() && eqlist_index(k).is_some()) {
        return Some(Shape::WolfxEqlist);
    }
    if let Some(Value::Object(d)) = o.get("Data") {
        let dh = |k: &str| d.contains_key(k);
        if dh("infoTypeName") || dh("autoFlag") {
            return Some(Shape::FanCenc);
        }
        if dh("eventId") && (dh("epiIntensity") || dh("updates")) {
            return Some(if dh("province") {
                Shape::FanCeaPr
            } else {
                Shape::FanCea
            });
        }
        return None;
    }
    if has("eqid") && has("eq_type") {
        return Some(Shape::CencApp);
    }
    if has("CATA_ID") {
        return Some(Shape::Speedsearch);
    }
    if o.get("shuju").is_some_and(Value::is_array) {
        return Some(Shape::SpeedsearchList);
    }
    if has("code") && o.get("data").is_some_and(Value::is_array) {
        return Some(Shape::OpenData);
    }
    None
}

fn eqlist_index(k: &str) -> Option<u32> {
    k.strip_prefix("No")?.parse().ok()
}

/// Decodes any CENC shape; `all` allows lists of any length (`decode_all`).
pub fn decode(v: &Value, all: bool) -> Result<Vec<Event>, DecodeError> {
    let top = Obj::new(v, "")?;
    let Some(shape) = detect(top.o) else {
        return Err(DecodeError::UnknownFormat(format!(
            "not a known CENC relay shape (keys: {})",
            key_list(top.o)
        )));
    };
    match shape {
        Shape::WolfxEew => Ok(vec![eew(top, "EventID", "ReportNum", shape)?]),
        Shape::FanCea | Shape::FanCeaPr => {
            let d = Obj::new(top.get("Data").unwrap_or(&Value::Null), "Data")?;
            Ok(vec![eew(d, "eventId", "updates", shape)?])
        }
        Shape::FanCenc => {
            let d = Obj::new(top.get("Data").unwrap_or(&Value::Null), "Data")?;
            Ok(vec![fan_cenc(d)?])
        }
        Shape::CencApp => Ok(vec![cenc_app(top)?]),
        Shape::Speedsearch => Ok(vec![speedsearch(top)?]),
        Shape::WolfxEqlist => {
            let mut items: Vec<(u32, &String, &Value)> = top
                .o
                .iter()
                .filter_map(|(k, v)| Some((eqlist_index(k)?, k, v)))
                .filter(|(_, _, v)| v.is_object())
                .collect();
            expect_one(items.len(), all, "cenc_eqlist", "reports", "No1")?;
            items.sort_by_key(|(n, _, _)| *n);
            items
                .into_iter()
                .map(|(_, k, v)| eqlist_item(Obj::new(v, k)?))
                .collect()
        }
        Shape::SpeedsearchList => list(top, "shuju", all, "speedsearch", speedsearch),
        Shape::OpenData => {
            if let Some(code) = top.get("code").and_then(Value::as_i64).filter(|c| *c != 0) {
                return Err(top.bad(
                    "code",
                    format!("{code}: the server reported an error ({})", top.text("message")?),
                ));
            }
            list(top, "data", all, "open data catalogs", open_data)
        }
    }
}

fn list(
    top: Obj<'_>,
    key: &str,
    all: bool,
    what: &str,
    item: fn(Obj<'_>) -> Result<Event, DecodeError>,
) -> Result<Vec<Event>, DecodeError> {
    let items = top
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[][..], |a| a.as_slice());
    expect_one(items.len(), all, what, "records", key)?;
    items
        .iter()
        .enumerate()
        .map(|(i, v)| item(Obj::new(v, &format!("{key}[{i}]"))?))
        .collect()
}

/// Wolfx cenc_eew / sc_eew and FAN Studio /cea, /cea-pr: one report of an early warning.
fn eew(o: Obj<'_>, id_key: &str, num_key: &str, shape: Shape) -> Result<Event, DecodeError> {
    let event_id = o.req_id(id_key)?;
    let report = o.opt_u32_lenient(num_key)?;
    let (format, sender, time_key, sent_keys, place_key) = match shape {
        Shape::WolfxEew if o.has("Magunitude") => (
            "wolfx-sc-eew",
            SC_EEW,
            "OriginTime",
            &["ReportTime"][..],
            "HypoCenter",
        ),
        Shape::WolfxEew => (
            "wolfx-cenc-eew",
            CEA_EEW,
            "OriginTime",
            &["ReportTime"][..],
            "HypoCenter",
        ),
        Shape::FanCeaPr => (
            "fanstudio-cea-pr",
            CEA_EEW,
            "shockTime",
            &["updateTime"][..],
            "placeName",
        ),
        _ => (
            "fanstudio-cea",
            CEA_EEW,
            "shockTime",
            &["updateTime"][..],
            "placeName",
        ),
    };
    let origin_time = o.req_local_time(time_key)?;
    let mut sent = origin_time;
    let mut sent_text = None;
    for k in sent_keys {
        if let Some(t) = o.opt_local_time(k)? {
            sent = t;
            sent_text = Some(t);
        }
    }
    let (lat, lon, depth, mag, intensity) = if shape == Shape::WolfxEew {
        let mag = if o.has("Magnitude") {
            "Magnitude"
        } else {
            "Magunitude"
        };
        ("Latitude", "Longitude", "Depth", mag, "MaxIntensity")
    } else {
        ("latitude", "longitude", "depth", "magnitude", "epiIntensity")
    };
    let quake = quake(
        &o,
        origin_time,
        [lat, lon, depth, mag],
        place_key,
        Some(intensity),
        Some(Review::Automatic),
        1.0,
    )?;
    let msg_id = match (report, sent_text) {
        (Some(n), _) => format!("{event_id}-r{n}"),
        (None, Some(t)) => format!("{event_id}@{t}"),
        (None, None) => return Err(o.bad(num_key, "is required (the report number)")),
    };
    Ok(event(
        format,
        sender,
        event_id,
        msg_id,
        if report.unwrap_or(1) > 1 {
            MsgType::Update
        } else {
            MsgType::Alert
        },
        sent,
        quake,
        report,
    ))
}

/// FAN Studio /cenc: a CENC quick report, automatic or formal.
fn fan_cenc(o: Obj<'_>) -> Result<Event, DecodeError> {
    let event_id = o.req_id("eventId")?;
    let info = o.text("infoTypeName")?;
    let review = if info.contains("正式") {
        Some(Review::Reviewed)
    } else if info.contains("自动") {
        Some(Review::Automatic)
    } else {
        match o.opt_str("autoFlag")?.map(str::trim) {
            Some("I") => Some(Review::Reviewed),
            Some(f) if !f.is_empty() => Some(Review::Automatic),
            _ => None,
        }
    };
    let origin_time = o.req_local_time("shockTime")?;
    let sent = o.opt_local_time("createTime")?.unwrap_or(origin_time);
    let quake = quake(
        &o,
        origin_time,
        ["latitude", "longitude", "depth", "magnitude"],
        "placeName",
        None,
        review,
        1.0,
    )?;
    let msg_id = format!("{event_id}@{sent}");
    Ok(event(
        "fanstudio-cenc",
        CENC,
        event_id,
        msg_id,
        MsgType::Alert,
        sent,
        quake,
        None,
    ))
}

/// Wolfx cenc_eqlist entry `NoN`.
fn eqlist_item(o: Obj<'_>) -> Result<Event, DecodeError> {
    let event_id = o.req_id("EventID")?;
    let review = match o.opt_str("type")?.map(str::trim) {
        Some("reviewed") => Some(Review::Reviewed),
        Some("automatic") => Some(Review::Automatic),
        _ => None,
    };
    let origin_time = o.req_local_time("time")?;
    let sent = o.opt_local_time("ReportTime")?.unwrap_or(origin_time);
    let place = if o.get("placeName").is_some() {
        "placeName"
    } else {
        "location"
    };
    let quake = quake(
        &o,
        origin_time,
        ["latitude", "longitude", "depth", "magnitude"],
        place,
        Some("intensity"),
        review,
        1.0,
    )?;
    let msg_id = format!("{event_id}@{sent}");
    Ok(event(
        "wolfx-cenc-eqlist",
        CENC,
        event_id,
        msg_id,
        MsgType::Alert,
        sent,
        quake,
        None,
    ))
}

/// One `values[]` item of the CENC app backend.
fn cenc_app(o: Obj<'_>) -> Result<Event, DecodeError> {
    let event_id = o.req_id("eqid")?;
    let review = match o.opt_str("eq_type")?.map(str::trim) {
        Some("M") => Some(Review::Reviewed),
        Some("A") => Some(Review::Automatic),
        _ => None,
    };
    let origin_time = o.req_ms_time("time")?;
    let sent = o.opt_ms_time("updateTime")?.unwrap_or(origin_time);
    let quake = quake(
        &o,
        origin_time,
        ["latitude", "longitude", "depth", "mag"],
        "loc_name",
        None,
        review,
        // Metres: 10000.0 for the usual 10 km.
        0.001,
    )?;
    let msg_id = format!("{event_id}@{sent}");
    Ok(event(
        "cenc-app",
        CENC,
        event_id,
        msg_id,
        MsgType::Alert,
        sent,
        quake,
        None,
    ))
}

/// One record of the old ceic.ac.cn speedsearch list.
fn speedsearch(o: Obj<'_>) -> Result<Event, DecodeError> {
    let cata_id = o.req_id("CATA_ID")?;
    let event_id = o.opt_id("NEW_DID")?.unwrap_or_else(|| cata_id.clone());
    let review = match o.opt_str("AUTO_FLAG")?.map(str::trim) {
        Some("M") => Some(Review::Reviewed),
        Some("A" | "AU") => Some(Review::Automatic),
        _ => None,
    };
    // EQ_TYPE names the field holding the magnitude; "M" in every sample.
    let mag_key = o
        .opt_str("EQ_TYPE")?
        .map(str::trim)
        .filter(|k| o.get(k).is_some())
        .unwrap_or("M");
    let origin_time = o.req_local_time("O_TIME")?;
    let sent = o.opt_local_time("SAVE_TIME")?.unwrap_or(origin_time);
    let quake = quake(
        &o,
        origin_time,
        ["EPI_LAT", "EPI_LON", "EPI_DEPTH", mag_key],
        "LOCATION_C",
        None,
        review,
        1.0,
    )?;
    let deleted = o.opt_str("IS_DEL")?.map(str::trim) == Some("1");
    let msg_id = format!("{cata_id}@{sent}");
    let mut ev = event(
        "ceic-speedsearch",
        CENC,
        event_id,
        msg_id,
        if deleted { MsgType::Cancel } else { MsgType::Alert },
        sent,
        quake,
        None,
    );
    if ev.event_id != cata_id && !ev.aliases.contains(&cata_id) {
        ev.aliases.push(cata_id);
    }
    Ok(ev)
}

/// One `data[]` item of the cenc.ac.cn open data catalogs (2026-03).
fn open_data(o: Obj<'_>) -> Result<Event, DecodeError> {
    let event_id = o.req_id("uniEventId")?;
    let origin_time = o.req_local_time("oriTime")?;
    let sent = match o.opt_local_time("gmtUpdate")? {
        Some(t) => t,
        None => o.opt_local_time("gmtCreate")?.unwrap_or(origin_time),
    };
    // eqType is CENC's report type, the prefix of its ids: CC formal (正式测定), AU automatic.
    let review = match o.opt_str("eqType")?.map(str::trim) {
        Some("CC") => Some(Review::Reviewed),
        Some("AU") => Some(Review::Automatic),
        _ => None,
    };
    let mut quake = quake(
        &o,
        origin_time,
        ["epiLat", "epiLon", "focDepth", "magnitude"],
        "locName",
        Some("epiIntensity"),
        review,
        1.0,
    )?;
    let mag_type = o.text("magType")?;
    quake.mag_type = (!mag_type.is_empty()).then_some(mag_type);
    let deleted = o.opt_num_lenient("isDeleted")?.is_some_and(|d| d != 0.0);
    let msg_id = format!("{event_id}@{sent}");
    Ok(event(
        "cenc-open-data",
        CENC,
        event_id,
        msg_id,
        if deleted { MsgType::Cancel } else { MsgType::Alert },
        sent,
        quake,
        None,
    ))
}

/// Reads the quake facts; `keys` are lat, lon, depth, magnitude; depth is multiplied by
/// `depth_scale` to get km.
fn quake(
    o: &Obj<'_>,
    origin_time: Timestamp,
    keys: [&str; 4],
    place_key: &str,
    intensity_key: Option<&str>,
    review: Option<Review>,
    depth_scale: f64,
) -> Result<Quake, DecodeError> {
    let [lat, lon, depth, mag] = keys;
    let place = o.text(place_key)?;
    if place.is_empty() {
        return Err(o.bad(place_key, "is required (the epicentre's name)"));
    }
    let q = Quake {
        origin_time,
        lat: o.req_num_lenient(lat)?,
        lon: o.req_num_lenient(lon)?,
        depth_km: o.req_num_lenient(depth)? * depth_scale,
        magnitude: o.req_num_lenient(mag)?,
        mag_type: None,
        place,
        review,
        max_intensity: match intensity_key {
            Some(k) => o.opt_num_lenient(k)?.filter(|i| *i > 0.0),
            None => None,
        },
    };
    check_quake(&q, [&o.name(lat), &o.name(lon), &o.name(depth), &o.name(mag)])?;
    Ok(q)
}

#[allow(clippy::too_many_arguments)]
fn event(
    format: &str,
    sender: (&str, &str),
    event_id: String,
    msg_id: String,
    msg_type: MsgType,
    sent: Timestamp,
    quake: Quake,
    revision: Option<u32>,
) -> Event {
    // One report through several relays is one event: its id becomes CENC's own, and the id
    // the relay sent stays an alias (see cenc_id).
    let mut aliases = Vec::new();
    let event_id = match super::cenc_id::canonical(&event_id).filter(|_| sender.0 == CENC.0) {
        Some(own) if own != event_id => {
            aliases.push(event_id);
            own
        }
        _ => event_id,
    };
    Event {
        format: format.to_string(),
        msg_id,
        event_id,
        msg_type,
        status: Status::Actual,
        sender: Sender {
            id: sender.0.to_string(),
            name: Some(sender.1.to_string()),
        },
        sent,
        body: crate::model::Body::Quake(quake),
        aliases,
        revision,
        references: Vec::new(),
        web: None,
        signer: None,
    }
}
