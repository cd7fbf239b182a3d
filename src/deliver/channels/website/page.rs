//! The HTML pages: one per revision and the index, from minijinja templates with HTML
//! autoescaping (`alerts/templates/website/*.html.j2`, compiled in; an office may override
//! them in `{compose.alerts_dir}/templates/website/`).

use super::data::{class_zh, facts, Revision, Snapshot};
use super::map::{self, coord, direction_zh};
use super::Site;
use crate::assess::geo::distance_km;
use crate::compose::context::zh_time_full;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;
use std::path::Path;

const TEMPLATES: &[(&str, &str)] = &[
    (
        "layout.html.j2",
        include_str!("../../../../alerts/templates/website/layout.html.j2"),
    ),
    (
        "alert.html.j2",
        include_str!("../../../../alerts/templates/website/alert.html.j2"),
    ),
    (
        "index.html.j2",
        include_str!("../../../../alerts/templates/website/index.html.j2"),
    ),
];

/// Generous for a page with a 50-row table; a runaway template stops here.
const FUEL: u64 = 1_000_000;

pub struct Pages {
    env: Environment<'static>,
}

impl Pages {
    /// The built-in templates, each replaced by `{dir}/templates/website/{name}` if that exists.
    pub fn load(alerts_dir: Option<&Path>) -> Result<Self, String> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(FUEL));
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html.j2") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        // HTML escaping of & < > " ' only: minijinja's default also escapes `/`, which makes
        // every link `alerts&#x2f;1.html` — valid, but larger and harder to read.
        env.set_formatter(|out, state, value| {
            if state.auto_escape() == AutoEscape::Html && !value.is_safe() {
                if let Some(s) = value.as_str() {
                    return Ok(out.write_str(&html_escape(s))?);
                }
            }
            minijinja::escape_formatter(out, state, value)
        });
        for (name, builtin) in TEMPLATES {
            let custom = alerts_dir.map(|d| d.join("templates").join("website").join(name));
            let src = match custom.filter(|p| p.exists()) {
                Some(p) => {
                    std::fs::read_to_string(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?
                }
                None => builtin.to_string(),
            };
            env.add_template_owned(name.to_string(), src)
                .map_err(|e| format!("template website/{name}: {e:#}"))?;
        }
        Ok(Self { env })
    }

    fn render(&self, name: &str, ctx: impl Serialize) -> Result<String, String> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(ctx))
            .map(|page| page + "\n")
            .map_err(|e| format!("template website/{name}: {e:#}"))
    }

    pub fn alert(&self, site: &Site, snap: &Snapshot, rev: &Revision) -> Result<String, String> {
        let chain = &snap.chain;
        let newest = chain.first().filter(|n| n.id > rev.id);
        let (quake, weather) = facts(rev, chain);
        let sender = rev.event.as_ref().map(|e| &e.sender);
        let quake_ctx = quake.map(|q| QuakeCtx {
            place: crate::compose::context::place(q),
            source_place: q.place.clone(),
            magnitude: format!("{:.1}", q.magnitude),
            mag_type: q.mag_type.clone(),
            depth: format!("{:.0}", q.depth_km),
            origin_zh: zh_time_full(q.origin_time),
            origin_iso: super::iso(q.origin_time),
            lat: format!("{:.2}", q.lat),
            lon: format!("{:.2}", q.lon),
            lat_text: coord(q.lat, "北纬", "南纬"),
            lon_text: coord(q.lon, "东经", "西经"),
            distance: format!("{:.0}", distance_km(site.home.0, site.home.1, q.lat, q.lon)),
            direction: direction_zh(site.home, (q.lat, q.lon)),
            review: match sender {
                Some(sender) => crate::compose::source::review(sender, q.review),
                None => "测定",
            },
        });
        let weather_ctx = weather.map(|w| WeatherCtx {
            type_name: w.type_name.clone(),
            color_zh: w.color.map(|c| c.zh()).unwrap_or(""),
            description: w.description.clone(),
            area: w.area.desc.clone(),
            adcodes: w.area.adcodes.clone(),
            expires_zh: w.expires.map(zh_time_full),
            expires_iso: w.expires.map(super::iso),
        });
        let map = match (quake, weather) {
            (Some(q), _) => Some(map::draw(&map::Input {
                home: site.home,
                home_label: &site.city,
                epicentre: Some((q.lat, q.lon, format!("震中 {:.1}级", q.magnitude))),
                polygons: &[],
                circles: &[],
            })),
            (None, Some(w)) if !w.area.polygons.is_empty() || !w.area.circles.is_empty() => {
                Some(map::draw(&map::Input {
                    home: site.home,
                    home_label: &site.city,
                    epicentre: None,
                    polygons: &w.area.polygons,
                    circles: &w.area.circles,
                }))
            }
            _ => None,
        };
        let ctx = AlertPage {
            site: SiteCtx::new(site, "../"),
            alert: rev_ctx(site, snap, rev, "", rev.id),
            live: rev.live,
            latest: newest.map(|n| rev_ctx(site, snap, n, "", rev.id)),
            cancelled: newest.is_some_and(|n| n.action == "cancel"),
            paragraphs: paragraphs(rev),
            advice: rev.advice(chain),
            quake: quake_ctx,
            weather: weather_ctx,
            map,
            chain: chain.iter().map(|r| rev_ctx(site, snap, r, "", rev.id)).collect(),
        };
        self.render("alert.html.j2", ctx)
    }

    pub fn index(&self, site: &Site, snap: &Snapshot, now: jiff::Timestamp) -> Result<String, String> {
        let ctx = IndexPage {
            site: SiteCtx::new(site, ""),
            active: snap
                .active(now.as_millisecond())
                .into_iter()
                .map(|r| rev_ctx(site, snap, r, "alerts/", 0))
                .collect(),
            recent: snap
                .recent
                .iter()
                .map(|r| rev_ctx(site, snap, r, "alerts/", 0))
                .collect(),
            updated_zh: zh_time_full(now),
            updated_iso: super::iso(now),
        };
        self.render("index.html.j2", ctx)
    }
}

pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn paragraphs(rev: &Revision) -> Vec<String> {
    let text = if rev.text.trim().is_empty() {
        rev.summary(&[])
    } else {
        rev.text.clone()
    };
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// A revision as a list entry. The facts of a revision outside the current chain come from its
/// own message only (its chain is not loaded), which is all a list entry needs.
fn rev_ctx(site: &Site, snap: &Snapshot, r: &Revision, prefix: &str, current: i64) -> RevCtx {
    let own_chain: &[Revision] = if r.event_key == snap.current.event_key {
        &snap.chain
    } else {
        &[]
    };
    RevCtx {
        id: r.id,
        href: format!("{prefix}{}.html", r.id),
        cap_href: format!("{prefix}{}.cap.xml", r.id),
        url: site.page_url(r.id),
        action: r.action.clone(),
        action_zh: r.action_zh(own_chain),
        class: r.class.clone(),
        class_zh: class_zh(&r.class),
        headline: r.headline(own_chain),
        summary: r.summary(own_chain),
        time_zh: zh_time_full(r.created()),
        time_iso: super::iso(r.created()),
        source: Some(r.source())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| site.office.clone()),
        current: r.id == current,
    }
}

#[derive(Serialize)]
struct SiteCtx {
    office: String,
    city: String,
    home_href: String,
    atom_href: String,
    link_base: String,
}

impl SiteCtx {
    fn new(site: &Site, up: &str) -> Self {
        Self {
            office: site.office.clone(),
            city: site.city.clone(),
            home_href: format!("{up}index.html"),
            atom_href: format!("{up}alerts.atom"),
            link_base: site.link_base.clone(),
        }
    }
}

#[derive(Serialize)]
struct RevCtx {
    id: i64,
    href: String,
    cap_href: String,
    url: String,
    action: String,
    action_zh: &'static str,
    class: String,
    class_zh: &'static str,
    headline: String,
    summary: String,
    time_zh: String,
    time_iso: String,
    source: String,
    current: bool,
}

#[derive(Serialize)]
struct QuakeCtx {
    /// The Chinese name (compose::context::place); `source_place` is the source's own words.
    place: String,
    source_place: String,
    magnitude: String,
    mag_type: Option<String>,
    depth: String,
    origin_zh: String,
    origin_iso: String,
    lat: String,
    lon: String,
    lat_text: String,
    lon_text: String,
    distance: String,
    direction: &'static str,
    review: &'static str,
}

#[derive(Serialize)]
struct WeatherCtx {
    type_name: String,
    color_zh: &'static str,
    description: String,
    area: String,
    adcodes: Vec<String>,
    expires_zh: Option<String>,
    expires_iso: Option<String>,
}

#[derive(Serialize)]
struct AlertPage {
    site: SiteCtx,
    alert: RevCtx,
    live: bool,
    latest: Option<RevCtx>,
    cancelled: bool,
    paragraphs: Vec<String>,
    advice: String,
    quake: Option<QuakeCtx>,
    weather: Option<WeatherCtx>,
    map: Option<map::Map>,
    chain: Vec<RevCtx>,
}

#[derive(Serialize)]
struct IndexPage {
    site: SiteCtx,
    active: Vec<RevCtx>,
    recent: Vec<RevCtx>,
    updated_zh: String,
    updated_iso: String,
}
