//! The variables a template sees. Everything that came from a feed is sanitised here: control
//! and invisible characters were removed at decode time; here `#` is neutralised (Weibo topics)
//! and links are kept only when [`super::link`] finds one https URL on `compose.link_allowlist`.

use crate::assess::{Action, Assessment};
use crate::clock::beijing;
use crate::config::Config;
use crate::feed::{Event, Quake};
use minijinja::{context, Value};

/// Beijing time as Chinese quick reports write it: `4月20日8时2分`.
pub fn zh_time(t: jiff::Timestamp) -> String {
    let z = t.to_zoned(beijing());
    format!("{}月{}日{}时{}分", z.month(), z.day(), z.hour(), z.minute())
}

/// `2013年4月20日8时2分` for pages that may be read years later.
pub fn zh_time_full(t: jiff::Timestamp) -> String {
    let z = t.to_zoned(beijing());
    format!("{}年{}", z.year(), zh_time(t))
}

/// A value as a template may print it: decoders already removed hidden code points, and this
/// repeats it (config values such as the office name never passed a decoder). What would make
/// the platforms act on feed text is defused with its full-width twin: `#` (a Weibo topic), `@`
/// (a mention of some account, from the office's) and the `://` of a link, which WeChat and
/// Weibo would make clickable — the only links alertd prints are its own and the allow-listed
/// `web`, never one written into a place or a headline.
fn text(s: &str) -> String {
    crate::text::shown(s)
        .replace('#', "＃")
        .replace('@', "＠")
        .replace("://", "：//")
}

pub(crate) fn coord(v: f64, pos: &str, neg: &str) -> String {
    format!("{}{:.2}度", if v >= 0.0 { pos } else { neg }, v.abs())
}

/// The event's `web` link, normalised, if it passes [`super::link::check`].
pub fn allowed_link(cfg: &Config, url: Option<&str>) -> Option<String> {
    super::link::check(&cfg.compose.link_allowlist, url?).ok()
}

/// Whether a warning's `expires` is a time to tell the public. Not when the provider's clock
/// is off (its `sent` lay beyond the allowed skew, so assess ordered it by the time received:
/// its other times are that clock's too), nor when it lies over [`MAX_VALIDITY`] ahead — no
/// warning signal runs that long, and "有效期至1月1日6时0分" of the year 2100 is a wrong fact.
/// The warning is still published, without a validity.
fn credible_expiry(ev: &Event, a: &Assessment, expires: jiff::Timestamp) -> bool {
    let judged = crate::store::from_ms(a.state.last_sent_ms);
    let clock_off = ev.sent > judged;
    !clock_off && expires.duration_since(judged) <= MAX_VALIDITY
}

/// Longest validity printed: CMA signals last hours to a few days; a week is generous.
const MAX_VALIDITY: jiff::SignedDuration = jiff::SignedDuration::from_hours(7 * 24);

pub fn build(cfg: &Config, ev: &Event, a: &Assessment, link: Option<&str>) -> Value {
    let j = &cfg.jurisdiction;
    let source = super::source::name(&ev.sender);
    let source_short = super::source::short(&source);
    let quake = ev.quake().map(|q| {
        context! {
            time => zh_time(q.origin_time),
            time_full => zh_time_full(q.origin_time),
            place => text(&place(q)),
            source_place => text(&q.place),
            magnitude => format!("{:.1}", q.magnitude),
            mag_type => q.mag_type.clone(),
            depth => format!("{:.0}", q.depth_km),
            lat => format!("{:.2}", q.lat),
            lon => format!("{:.2}", q.lon),
            lat_text => coord(q.lat, "北纬", "南纬"),
            lon_text => coord(q.lon, "东经", "西经"),
            distance => a.distance_km.map(|d| format!("{d:.0}")).unwrap_or_default(),
            review => super::source::review(&ev.sender, q.review),
        }
    });
    let weather = ev.weather().map(|w| {
        context! {
            type_name => text(&w.type_name),
            type_code => w.type_code.clone(),
            color => w.color.map(|c| c.zh()).unwrap_or(""),
            headline => text(&w.headline),
            description => text(&w.description),
            area => text(&w.area.desc),
            expires => w.expires.filter(|e| credible_expiry(ev, a, *e)).map(zh_time),
        }
    });
    let previous = a.previous.as_ref().filter(|_| a.action == Action::Update).map(|p| {
        context! { magnitude => p.magnitude.map(|m| format!("{m:.1}")), class => p.published_class.map(|c| c.as_str()) }
    });
    context! {
        action => a.action.as_str(),
        class => a.class.as_str(),
        kind => if ev.quake().is_some() || ev.kind() == crate::feed::Kind::Earthquake { "quake" } else { "weather" },
        event_id => text(&ev.event_id),
        city => text(&j.name),
        office => text(j.office.as_deref().unwrap_or(&j.name)),
        source => text(&source),
        source_short => text(&source_short),
        quake => quake,
        weather => weather,
        previous => previous,
        link => link.map(str::to_string),
        // Absent is "", not none: `{{ web }}` must print nothing, not "none".
        web => allowed_link(cfg, ev.web.as_deref()).unwrap_or_default(),
        reason => a.reason.clone(),
    }
}

/// The epicentre as the public is shown it: the source's own place when it is Chinese script,
/// else named from the coordinates ([`super::place`]).
pub fn place(q: &Quake) -> String {
    super::place::zh_place(&q.place, q.lat, q.lon)
}

/// One line of the routine digest for an event.
pub fn digest_item(ev: &Event) -> Value {
    match (ev.quake(), ev.weather()) {
        (Some(q), _) => context! {
            line => format!("{}{}发生{:.1}级地震", zh_time(q.origin_time), text(&place(q)), q.magnitude),
            short => format!("{}{:.1}级", text(&place(q)), q.magnitude),
        },
        (None, Some(w)) => context! {
            line => format!("{}{}{}{}预警", zh_time(ev.sent), text(&w.area.desc), text(&w.type_name), w.color.map(|c| c.zh()).unwrap_or("")),
            short => format!("{}{}预警", text(&w.type_name), w.color.map(|c| c.zh()).unwrap_or("")),
        },
        _ => context! { line => text(&ev.event_id), short => text(&ev.event_id) },
    }
}

/// The digest's context: `items` (from [`digest_item`]), the day, and the office.
pub fn digest(cfg: &Config, day: jiff::civil::Date, items: Vec<Value>, link: Option<&str>) -> Value {
    let j = &cfg.jurisdiction;
    context! {
        day_text => format!("{}月{}日", day.month(), day.day()),
        day => day.to_string(),
        items => items,
        city => text(&j.name),
        office => text(j.office.as_deref().unwrap_or(&j.name)),
        link => link.map(str::to_string),
    }
}
