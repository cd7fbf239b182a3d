//! CAP 1.2 (OASIS Common Alerting Protocol) for each published revision:
//! `{web_root}/alerts/{id}.cap.xml`, valid against the CAP 1.2 schema.
//!
//! - `identifier`: `alertd-{host}-{alert id}` (stable for the revision; the host of
//!   `link_base` names the office), `sender`: `alertd@{host}`, `sent`: when alertd issued the
//!   revision, in Beijing time (`+08:00`).
//! - `status` Actual (Exercise/Test for non-live events), `msgType` Alert/Update/Cancel, and for
//!   Update/Cancel `references` to every earlier revision of the event (`sender,identifier,sent`).
//! - One `info` in zh-CN: category Geo (quakes) or Met (weather), urgency/severity/certainty
//!   from the provider when it gave valid CAP values, else from the colour and the class.
//!   Quakes carry the CWA-style parameters (`EventOriginTime`, `EventLatLon`, `EventMagnitude`,
//!   …) that alertd's own CAP decoder reads, an epicentre area with a circle reaching the
//!   jurisdiction, and the jurisdiction as a second area with its GB/T 2260 geocodes; warnings carry their
//!   polygons, circles and geocodes.
//!
//! Built with quick-xml's writer: every value is escaped, and characters XML 1.0 cannot carry
//! are dropped.

use super::data::{facts, Revision, Snapshot};
use super::{iso, xml_text, Site};
use crate::assess::geo::distance_km;
use crate::feed::{Color, Status, Weather};
use quick_xml::events::{BytesDecl, BytesText, Event as X};
use quick_xml::Writer;
use std::io;

pub const NS: &str = "urn:oasis:names:tc:emergency:cap:1.2";

type W = Writer<Vec<u8>>;

pub fn identifier(site: &Site, alert_id: i64) -> String {
    format!("alertd-{}-{alert_id}", site.host)
}

pub fn sender(site: &Site) -> String {
    format!("alertd@{}", site.host)
}

fn el(w: &mut W, name: &str, text: &str) -> io::Result<()> {
    w.create_element(name)
        .write_text_content(BytesText::new(&xml_text(text)))?;
    Ok(())
}

fn pair(w: &mut W, outer: &str, name: &str, value: &str) -> io::Result<()> {
    w.create_element(outer).write_inner_content(|w| {
        el(w, "valueName", name)?;
        el(w, "value", value)
    })?;
    Ok(())
}

/// `lat,lon` with up to 6 decimals (CAP's WGS 84 pairs).
fn ll(lat: f64, lon: f64) -> String {
    let n = |v: f64| {
        let s = format!("{v:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    format!("{},{}", n(lat), n(lon))
}

fn valid<'a>(v: Option<&'a str>, allowed: &[&str]) -> Option<&'a str> {
    v.map(str::trim).filter(|v| allowed.contains(v))
}

/// (urgency, severity, certainty).
fn assessment(rev: &Revision, quake: bool, w: Option<&Weather>) -> (String, String, String) {
    if rev.action == "cancel" {
        return ("Past".into(), "Minor".into(), "Observed".into());
    }
    let by_class = match rev.class.as_str() {
        "emergency" => ("Immediate", "Severe"),
        "routine" => ("Expected", "Moderate"),
        _ => ("Expected", "Minor"),
    };
    if quake {
        return (by_class.0.into(), by_class.1.into(), "Observed".into());
    }
    let urgency = valid(
        w.and_then(|w| w.urgency.as_deref()),
        &["Immediate", "Expected", "Future", "Past", "Unknown"],
    )
    .unwrap_or(by_class.0);
    let by_colour = w.and_then(|w| w.color).map(|c| match c {
        Color::Red => "Extreme",
        Color::Orange => "Severe",
        Color::Yellow => "Moderate",
        Color::Blue => "Minor",
    });
    let severity = valid(
        w.and_then(|w| w.severity.as_deref()),
        &["Extreme", "Severe", "Moderate", "Minor", "Unknown"],
    )
    .or(by_colour)
    .unwrap_or(by_class.1);
    let certainty = valid(
        w.and_then(|w| w.certainty.as_deref()),
        &["Observed", "Likely", "Possible", "Unlikely", "Unknown"],
    )
    .unwrap_or("Likely");
    (urgency.into(), severity.into(), certainty.into())
}

/// The CAP document for `rev` (a member of `snap.chain`).
pub fn render(site: &Site, snap: &Snapshot, rev: &Revision) -> io::Result<Vec<u8>> {
    let chain = &snap.chain;
    let (quake, weather) = facts(rev, chain);
    let is_quake = rev.is_quake(chain);
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(X::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let status = match rev.event.as_ref().map(|e| e.status) {
        _ if rev.live => "Actual",
        Some(Status::Exercise) => "Exercise",
        _ => "Test",
    };
    let msg_type = match rev.action.as_str() {
        "update" => "Update",
        "cancel" => "Cancel",
        _ => "Alert",
    };
    // Every earlier revision, oldest first.
    let references: Vec<String> = chain
        .iter()
        .rev()
        .filter(|r| r.id < rev.id)
        .map(|r| format!("{},{},{}", sender(site), identifier(site, r.id), iso(r.created())))
        .collect();
    // The event's id is the feed's: shown without hidden code points like every id.
    let incident: String = crate::text::shown(&rev.event_key)
        .chars()
        .map(|c| if c.is_whitespace() || c == ',' { '_' } else { c })
        .collect();
    let (urgency, severity, certainty) = assessment(rev, is_quake, weather);
    w.create_element("alert")
        .with_attribute(("xmlns", NS))
        .write_inner_content(|w| {
            el(w, "identifier", &identifier(site, rev.id))?;
            el(w, "sender", &sender(site))?;
            el(w, "sent", &iso(rev.created()))?;
            el(w, "status", status)?;
            el(w, "msgType", msg_type)?;
            let source = rev.source();
            if !source.is_empty() {
                el(w, "source", &source)?;
            }
            el(w, "scope", "Public")?;
            if msg_type != "Alert" && !references.is_empty() {
                el(w, "references", &references.join(" "))?;
            }
            if !incident.is_empty() {
                el(w, "incidents", &incident)?;
            }
            w.create_element("info").write_inner_content(|w| {
                el(w, "language", "zh-CN")?;
                // Quakes Geo, warnings Met; a manual push (no feed facts) Safety.
                let (category, event) = match weather {
                    _ if is_quake => ("Geo", "地震"),
                    Some(wx) => ("Met", wx.type_name.as_str()),
                    None => ("Safety", "应急信息"),
                };
                el(w, "category", category)?;
                el(w, "event", event)?;
                let response = match (rev.action.as_str(), rev.class.as_str()) {
                    ("cancel", _) => "AllClear",
                    (_, "emergency") => "Prepare",
                    _ => "Monitor",
                };
                el(w, "responseType", response)?;
                el(w, "urgency", &urgency)?;
                el(w, "severity", &severity)?;
                el(w, "certainty", &certainty)?;
                if is_quake {
                    pair(w, "eventCode", "alertd", "earthquake")?;
                } else if let Some(code) = weather.and_then(|w| w.type_code.as_deref()) {
                    pair(w, "eventCode", "type_code", code)?;
                }
                el(w, "effective", &iso(rev.created()))?;
                if let Some(q) = quake {
                    el(w, "onset", &iso(q.origin_time))?;
                }
                if let Some(exp) = weather.and_then(|w| w.expires) {
                    el(w, "expires", &iso(exp))?;
                }
                el(w, "senderName", &site.office)?;
                el(w, "headline", &rev.headline(chain))?;
                let description = if rev.text.trim().is_empty() {
                    rev.summary(chain)
                } else {
                    rev.text.clone()
                };
                el(w, "description", &description)?;
                el(w, "instruction", &rev.advice(chain))?;
                el(w, "web", &site.page_url(rev.id))?;
                el(w, "contact", &site.office)?;
                if let Some(q) = quake {
                    pair(w, "parameter", "EventOriginTime", &iso(q.origin_time))?;
                    let latlon = format!("{} {}", ll(q.lat, q.lon), q.depth_km);
                    pair(w, "parameter", "EventLatLon", &latlon)?;
                    pair(w, "parameter", "EventDepth", &format!("{}", q.depth_km))?;
                    pair(w, "parameter", "EventMagnitude", &format!("{:.1}", q.magnitude))?;
                    if let Some(t) = &q.mag_type {
                        pair(w, "parameter", "EventMagnitudeType", t)?;
                    }
                    pair(w, "parameter", "EventLocationName", &q.place)?;
                }
                pair(w, "parameter", "alertd:class", &rev.class)?;
                if let Some(q) = quake {
                    let d = distance_km(site.home.0, site.home.1, q.lat, q.lon);
                    // The circle around the epicentre that reaches the jurisdiction.
                    let r = ((d / 10.0).ceil() * 10.0).max(10.0);
                    w.create_element("area").write_inner_content(|w| {
                        // In Chinese, as the page; EventLocationName keeps the source's words.
                        el(w, "areaDesc", &crate::compose::context::place(q))?;
                        el(w, "circle", &format!("{} {r:.0}", ll(q.lat, q.lon)))
                    })?;
                    w.create_element("area").write_inner_content(|w| {
                        el(w, "areaDesc", &site.city)?;
                        for code in &site.adcodes {
                            pair(w, "geocode", "GB/T 2260", code)?;
                        }
                        Ok(())
                    })?;
                } else if let Some(wx) = weather {
                    let a = &wx.area;
                    w.create_element("area").write_inner_content(|w| {
                        let desc = if a.desc.trim().is_empty() {
                            site.city.as_str()
                        } else {
                            a.desc.as_str()
                        };
                        el(w, "areaDesc", desc)?;
                        for ring in a.polygons.iter().filter(|r| r.len() >= 3) {
                            let mut pts: Vec<String> = ring.iter().map(|(lon, lat)| ll(*lat, *lon)).collect();
                            if pts.first() != pts.last() {
                                pts.push(pts[0].clone());
                            }
                            el(w, "polygon", &pts.join(" "))?;
                        }
                        for (lat, lon, r) in &a.circles {
                            el(w, "circle", &format!("{} {r}", ll(*lat, *lon)))?;
                        }
                        for code in &a.adcodes {
                            pair(w, "geocode", "GB/T 2260", code)?;
                        }
                        Ok(())
                    })?;
                }
                Ok(())
            })?;
            Ok(())
        })?;
    let mut out = w.into_inner();
    out.push(b'\n');
    Ok(out)
}
