//! Every alert template rendered for every kind × action × class × channel (and, on Weibo,
//! every `fit` level), from a synthetic event at the jurisdiction.
//!
//! The samples only reach the branches their messages happen to take: a template that breaks
//! on a quake cancellation, a weather update, a routine warning or a cancel that carries no facts
//! of its own would pass them, and fail — `failed`, the public never told — on the day it is
//! needed. So `alertd check` renders each case here through the same steps as the pipeline
//! (assess, [`crate::pipeline::facts`], the context, the composer and its Weibo fitting), only
//! with the class and action set for each case.

use crate::assess::{self, Action, Assessment};
use crate::compose::{context, fit, Composer};
use crate::config::{ChannelKind, Config};
use crate::feed::{Area, Color, Event, Kind, MsgType, Quake, Review, Sender, Status, Weather};
use crate::model::Class;
use crate::model::EventState;
use crate::pipeline::{channel_link, facts, template_kind};
use jiff::{SignedDuration, Timestamp};

/// One publication the templates must handle.
struct Case {
    what: &'static str,
    action: Action,
    ev: Event,
    prior: Option<EventState>,
}

/// Renders every case; returns each distinct problem (template, line, and the case that hit it)
/// and how many renderings ran.
pub fn run(cfg: &Config, composer: &Composer) -> (Vec<String>, usize) {
    let mut problems: Vec<String> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let mut renderings = 0;
    let targets = targets(cfg);
    for kind in [Kind::Earthquake, Kind::Weather] {
        let name = template_kind(kind);
        for case in cases(cfg, kind) {
            for class in [Class::Emergency, Class::Routine, Class::Info] {
                let mut a: Assessment = assess::assess(cfg, &case.ev, case.prior.clone(), case.ev.sent);
                a.action = case.action;
                a.class = class;
                for (channel, ch_kind, link) in &targets {
                    let ctx = context::build(cfg, &case.ev, &a, link.as_deref());
                    let template = match ch_kind {
                        ChannelKind::Weibo => format!("{name}.weibo.j2"),
                        _ => format!("{name}.wechat.j2"),
                    };
                    let fits = if *ch_kind == ChannelKind::Weibo {
                        0..=fit::MAX_FIT
                    } else {
                        0..=0
                    };
                    let mut results: Vec<(String, Result<String, crate::compose::ComposeError>)> = fits
                        .map(|f| {
                            let at = if *ch_kind == ChannelKind::Weibo {
                                format!(", fit {f}")
                            } else {
                                String::new()
                            };
                            (at, composer.render(&template, &ctx, f))
                        })
                        .collect();
                    // The text as it would be sent: the Weibo one fitted to the length limit.
                    results.push((
                        String::new(),
                        composer.compose(name, *ch_kind, &ctx, cfg.compose.weibo_max_chars, link.as_deref()),
                    ));
                    for (at, r) in results {
                        renderings += 1;
                        let Err(e) = r else { continue };
                        let e = e.to_string();
                        if !seen.contains(&e) {
                            problems.push(format!(
                                "{e} — for a {name} {}, class {}, {channel}{at}",
                                case.what,
                                class.as_str()
                            ));
                            seen.push(e);
                        }
                    }
                }
            }
        }
    }
    (problems, renderings)
}

/// (label, channel kind, link) for every configured channel, and each of the two alert
/// templates no channel uses (rendered without a link): every required template is checked.
fn targets(cfg: &Config) -> Vec<(String, ChannelKind, Option<String>)> {
    // The first alert's id: what the page link would be for.
    let mut out: Vec<(String, ChannelKind, Option<String>)> = cfg
        .channels
        .iter()
        .map(|(name, ch)| (format!("channel {name}"), ch.kind(), channel_link(cfg, ch, 1)))
        .collect();
    for (kind, what) in [
        (ChannelKind::Weibo, "the Weibo template (no channel uses it)"),
        (ChannelKind::Wechat, "the WeChat template (no channel uses it)"),
    ] {
        let used = out
            .iter()
            .any(|(_, k, _)| (*k == ChannelKind::Weibo) == (kind == ChannelKind::Weibo));
        if !used {
            out.push((what.to_string(), kind, None));
        }
    }
    out
}

fn cases(cfg: &Config, kind: Kind) -> Vec<Case> {
    let alert = synthetic(cfg, kind, MsgType::Alert);
    let stored = assess::assess(cfg, &alert, None, alert.sent).state;
    let mut update = synthetic(cfg, kind, MsgType::Update);
    if let Some(q) = update.quake_mut() {
        q.magnitude += 0.4;
    }
    if let Some(w) = update.weather_mut() {
        w.color = Some(Color::Orange);
        w.headline = "暴雨橙色预警信号".into();
    }
    let own = synthetic(cfg, kind, MsgType::Cancel);
    // As a CAP Cancel without `info` decodes: ids, sender id and times only.
    let bare = Event {
        body: crate::model::Body::Bare(own.kind()),
        sender: Sender {
            name: None,
            ..own.sender.clone()
        },
        ..own.clone()
    };
    let from_store = facts::with_stored_facts(&bare, Some(&stored)).unwrap_or_else(|| bare.clone());
    // A state written before alertd kept facts with its events.
    let factless = EventState {
        quake: None,
        weather: None,
        ..stored.clone()
    };
    let none_known = facts::with_stored_facts(&bare, Some(&factless)).unwrap_or_else(|| bare.clone());
    vec![
        Case {
            what: "alert",
            action: Action::Alert,
            ev: alert,
            prior: None,
        },
        Case {
            what: "update",
            action: Action::Update,
            ev: update,
            prior: Some(stored.clone()),
        },
        Case {
            what: "cancel with facts of its own",
            action: Action::Cancel,
            ev: own,
            prior: Some(stored.clone()),
        },
        Case {
            what: "cancel without facts of its own (composed from the stored alert)",
            action: Action::Cancel,
            ev: from_store,
            prior: Some(stored),
        },
        Case {
            what: "cancel without facts, of an event stored without them",
            action: Action::Cancel,
            ev: none_known,
            prior: Some(factless),
        },
    ]
}

/// A quake near the jurisdiction, or a red rainstorm warning covering it.
fn synthetic(cfg: &Config, kind: Kind, msg_type: MsgType) -> Event {
    let j = &cfg.jurisdiction;
    // Any fixed time does: the check does not depend on the day it runs.
    let origin: Timestamp = Timestamp::from_second(1_782_856_800).unwrap_or(Timestamp::UNIX_EPOCH);
    let sent = origin
        + SignedDuration::from_mins(match msg_type {
            MsgType::Alert => 2,
            MsgType::Update => 10,
            MsgType::Cancel => 60,
        });
    let (quake, weather, sender) = match kind {
        Kind::Earthquake => (
            Some(Quake {
                origin_time: origin,
                lat: (j.lat + 0.3).clamp(-90.0, 90.0),
                lon: (j.lon + 0.3).clamp(-180.0, 180.0),
                depth_km: 10.0,
                magnitude: 6.5,
                mag_type: Some("Ms".into()),
                place: format!("{}附近", j.name),
                review: Some(Review::Reviewed),
                max_intensity: Some(8.0),
            }),
            None,
            Sender {
                id: "check-quake".into(),
                name: Some("中国地震台网中心".into()),
            },
        ),
        Kind::Weather => (
            None,
            Some(Weather {
                type_name: "暴雨".into(),
                type_code: Some("11B03".into()),
                color: Some(Color::Red),
                headline: "暴雨红色预警信号".into(),
                description: "预计未来3小时内降雨量将达100毫米以上，请做好防范。".into(),
                expires: Some(origin + SignedDuration::from_hours(12)),
                area: Area {
                    desc: j.name.clone(),
                    adcodes: j.adcodes.clone(),
                    ..Area::default()
                },
                severity: Some("Extreme".into()),
                urgency: Some("Immediate".into()),
                certainty: Some("Likely".into()),
                instruction: Some("非必要不外出。".into()),
            }),
            Sender {
                id: "check-weather".into(),
                name: Some(format!("{}气象台", j.name)),
            },
        ),
    };
    let event_id = format!("alertd-check-{}", template_kind(kind));
    let msg_id = format!("{event_id}-{msg_type:?}");
    Event {
        format: "alertd-check".into(),
        references: match msg_type {
            MsgType::Alert => Vec::new(),
            _ => vec![format!("{event_id}-Alert")],
        },
        msg_id,
        event_id,
        msg_type,
        status: Status::Actual,
        sender,
        sent,
        body: crate::model::Body::of(kind, quake, weather),
        aliases: Vec::new(),
        revision: None,
        web: None,
        signer: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_templates_render_every_case() {
        let cfg = Config::quickstart();
        let (problems, n) = run(&cfg, &Composer::builtin());
        assert!(problems.is_empty(), "{problems:#?}");
        assert!(n >= 2 * 5 * 3 * 2, "{n}");
    }

    #[test]
    fn a_bare_cancel_is_checked_with_the_stored_facts() {
        let cfg = Config::quickstart();
        let c = cases(&cfg, Kind::Weather);
        let bare = &c[3];
        assert!(bare.what.contains("stored alert"));
        let w = bare.ev.weather().expect("facts from the stored alert");
        assert_eq!(w.color, Some(Color::Red));
        assert!(c[4].ev.weather().is_none());
        let q = cases(&cfg, Kind::Earthquake);
        assert!(q[3].ev.quake().is_some() && q[4].ev.quake().is_none());
    }
}
