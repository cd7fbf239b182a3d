//! Assess: an [`Event`] plus what the store knows of it becomes an [`Assessment`] — its class,
//! whether anything is published (a new alert, a correction, a cancellation) and why.
//!
//! Pure: the caller looks up the prior [`EventState`] and passes the clock's time in.

pub mod geo;
pub mod rules;

use crate::config::{Class, Config};
use crate::feed::{Event, Kind, MsgType};
use crate::store::events::EventState;
use crate::store::ms;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Record only.
    None,
    /// A first publication.
    Alert,
    /// A correction of what was published.
    Update,
    /// The provider cancelled what was published (解除).
    Cancel,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::None => "none",
            Action::Alert => "alert",
            Action::Update => "update",
            Action::Cancel => "cancel",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Assessment {
    pub event_key: String,
    pub class: Class,
    pub action: Action,
    pub reason: String,
    pub distance_km: Option<f64>,
    /// `status: actual`. Exercises and tests go to dry-run only.
    pub live: bool,
    /// May this publication use a WeChat push? Updates and cancels do not, unless the class
    /// rises to emergency.
    pub push_wechat: bool,
    /// What was published before (for "magnitude revised from 6.8 to 7.0").
    pub previous: Option<EventState>,
    /// The state to store.
    pub state: EventState,
}

pub fn assess(cfg: &Config, ev: &Event, prior: Option<EventState>, now: jiff::Timestamp) -> Assessment {
    let c = match (&ev.quake, &ev.weather) {
        (Some(q), _) => rules::quake(cfg, q),
        (None, Some(w)) => rules::weather(cfg, w, now),
        // A cancel may come without a body; it inherits the prior class.
        (None, None) => rules::Classified {
            class: prior.as_ref().map(|p| p.class).unwrap_or(Class::Ignore),
            reason: "cancellation".into(),
            distance_km: None,
        },
    };
    let live = ev.status.is_live();
    let publishable = |class: Class| match class {
        Class::Emergency | Class::Routine => true,
        Class::Info => cfg.rules.info_to_weibo,
        Class::Ignore => false,
    };
    let fresh_state = |key: String, first_alert_id| EventState {
        event_key: key,
        kind: ev.kind,
        class: c.class,
        published_class: None,
        cancelled: false,
        last_sent_ms: ms(ev.sent),
        magnitude: ev.quake.as_ref().map(|q| q.magnitude),
        lat: ev.quake.as_ref().map(|q| q.lat),
        lon: ev.quake.as_ref().map(|q| q.lon),
        color: ev.weather.as_ref().and_then(|w| w.color),
        expires_ms: ev.weather.as_ref().and_then(|w| w.expires).map(ms),
        first_alert_id,
        origin_ms: ev.quake.as_ref().map(|q| ms(q.origin_time)),
        source: Some(ev.sender.id.clone()),
    };
    let stale = freshness(cfg, ev, now);
    let mk = |state: EventState, action: Action, reason: String, push: bool, previous: Option<EventState>| {
        let mut state = state;
        // A replayed or misdated message can never reach the public.
        let (action, reason, push) = match (&stale, action) {
            (Some(why), a) if a != Action::None => (Action::None, format!("{why}; {reason}"), false),
            _ => (action, reason, push),
        };
        if action != Action::None {
            state.published_class = Some(c.class);
        }
        if action == Action::Cancel {
            state.cancelled = true;
        }
        Assessment {
            event_key: state.event_key.clone(),
            class: c.class,
            action,
            reason: if live {
                reason
            } else {
                format!("{reason} [status {}: dry-run only]", ev.status.as_str())
            },
            distance_km: c.distance_km,
            live,
            push_wechat: push,
            previous,
            state,
        }
    };

    let Some(prev) = prior else {
        let state = fresh_state(ev.event_id.clone(), None);
        if ev.msg_type == MsgType::Cancel {
            return mk(
                state,
                Action::None,
                "cancellation of an event never published".into(),
                false,
                None,
            );
        }
        if publishable(c.class) {
            return mk(state, Action::Alert, c.reason, true, None);
        }
        return mk(state, Action::None, c.reason, false, None);
    };

    let key = prev.event_key.clone();
    // A warning that expired no longer counts as active: a new message about it is news again.
    let prev = if prev.expires_ms.is_some_and(|e| e < ms(now))
        && !prev.cancelled
        && prev.published_class.is_some()
    {
        EventState {
            published_class: None,
            ..prev
        }
    } else {
        prev
    };
    let same_source = prev.source.as_deref().is_none_or(|s| s == ev.sender.id);
    if prev.published_class.is_some() && !same_source {
        let rank = |s: &str| {
            cfg.rules
                .source_priority
                .iter()
                .position(|p| p == s)
                .unwrap_or(usize::MAX)
        };
        let theirs = prev.source.clone().unwrap_or_default();
        if rank(&ev.sender.id) > rank(&theirs) {
            // `last_sent_ms` is compared within one source only, so it stays the published one's.
            let s = prev.clone();
            let why = format!(
                "{} reports the same event; {theirs}'s published facts stand (rules.source_priority)",
                ev.sender.id
            );
            return mk(s, Action::None, why, false, Some(prev));
        }
    }
    if same_source && ms(ev.sent) < prev.last_sent_ms {
        let mut s = prev.clone();
        s.class = prev.class;
        return mk(
            s,
            Action::None,
            "older than a revision already applied".into(),
            false,
            Some(prev),
        );
    }
    if prev.cancelled {
        return mk(
            prev.clone(),
            Action::None,
            "event already cancelled".into(),
            false,
            Some(prev),
        );
    }
    let Some(published) = prev.published_class else {
        // Never published: judge it as if new (the class may have risen).
        let state = fresh_state(key, prev.first_alert_id);
        if ev.msg_type == MsgType::Cancel {
            let mut s = state;
            s.cancelled = true;
            return mk(
                s,
                Action::None,
                "cancellation of an event never published".into(),
                false,
                Some(prev),
            );
        }
        if publishable(c.class) {
            return mk(
                state,
                Action::Alert,
                format!("now {}: {}", c.class.as_str(), c.reason),
                true,
                Some(prev),
            );
        }
        return mk(state, Action::None, c.reason, false, Some(prev));
    };

    if ev.msg_type == MsgType::Cancel {
        let mut s = prev.clone();
        s.last_sent_ms = ms(ev.sent);
        return mk(
            s,
            Action::Cancel,
            "cancelled by the provider".into(),
            false,
            Some(prev),
        );
    }

    let changes = material_changes(cfg, &prev, ev, c.class);
    if changes.is_empty() {
        // A higher-priority source's facts become the baseline even when nothing changed
        // enough to publish; a repeat from the same source only moves the clock.
        let mut s = if same_source {
            prev.clone()
        } else {
            EventState {
                published_class: prev.published_class,
                ..fresh_state(key, prev.first_alert_id)
            }
        };
        s.last_sent_ms = ms(ev.sent);
        let why = if same_source {
            "revision without material change".to_string()
        } else {
            format!("{} confirms the event without material change", ev.sender.id)
        };
        return mk(s, Action::None, why, false, Some(prev));
    }
    let mut s = fresh_state(key, prev.first_alert_id);
    s.published_class = prev.published_class;
    let rises_to_emergency = c.class == Class::Emergency && published != Class::Emergency;
    if c.class == Class::Ignore && published != Class::Ignore && ev.kind == Kind::Weather {
        // A warning that no longer concerns us is, for the public, over.
        return mk(
            s,
            Action::Cancel,
            format!("no longer in scope: {}", c.reason),
            false,
            Some(prev),
        );
    }
    mk(
        s,
        Action::Update,
        format!("{}; {}", changes.join(", "), c.reason),
        rises_to_emergency,
        Some(prev),
    )
}

/// The stored quake this report is, if no id links them: origin times within
/// `rules.match_window_secs`, epicentres within `match_distance_km`, magnitudes within
/// `match_magnitude`; the closest in time wins. Returns it with the reason it matched.
pub fn same_quake(
    cfg: &Config,
    q: &crate::feed::Quake,
    candidates: Vec<EventState>,
) -> Option<(EventState, String)> {
    let r = &cfg.rules;
    candidates.into_iter().find_map(|s| {
        let (lat, lon, mag, origin) = (s.lat?, s.lon?, s.magnitude?, s.origin_ms?);
        let d = geo::distance_km(lat, lon, q.lat, q.lon);
        let dt = (origin - ms(q.origin_time)).abs() as f64 / 1000.0;
        let dm = (mag - q.magnitude).abs();
        (d <= r.match_distance_km && dm <= r.match_magnitude + 1e-9 && dt <= r.match_window_secs as f64).then(
            || {
                let why = format!(
                    "same quake as {} (origin {dt:.0} s apart, epicentres {d:.0} km, magnitude ±{dm:.1})",
                    s.event_key
                );
                (s, why)
            },
        )
    })
}

/// Why the event's time makes it unpublishable, if it does: older than `security.max_age_secs`
/// (quakes by origin time, the rest by `sent`) or dated beyond the allowed clock skew.
fn freshness(cfg: &Config, ev: &Event, now: jiff::Timestamp) -> Option<String> {
    let t = match (&ev.quake, ev.msg_type) {
        (Some(q), MsgType::Alert | MsgType::Update) => q.origin_time,
        _ => ev.sent,
    };
    let age = now.duration_since(t);
    let max_age = jiff::SignedDuration::from_secs(cfg.security.max_age_secs as i64);
    let skew = jiff::SignedDuration::from_secs(cfg.security.max_future_skew_secs as i64);
    if age > max_age {
        Some(format!(
            "not published: the event time {t} is {} min old, over security.max_age_secs ({} min)",
            age.as_secs() / 60,
            max_age.as_secs() / 60
        ))
    } else if -age > skew {
        Some(format!(
            "not published: the event time {t} is {} s in the future, over security.max_future_skew_secs ({} s)",
            (-age).as_secs(),
            skew.as_secs()
        ))
    } else {
        None
    }
}

/// What changed that the public should know (DESIGN.md: class, magnitude ±0.3, epicentre
/// moved, colour). Churn (a new `updated`, felt counts) is not a change.
fn material_changes(cfg: &Config, prev: &EventState, ev: &Event, class: Class) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(p) = prev.published_class.filter(|p| *p != class) {
        out.push(format!("class {} → {}", p.as_str(), class.as_str()));
    }
    if let Some(q) = &ev.quake {
        if let Some(m) = prev.magnitude {
            if (q.magnitude - m).abs() + 1e-9 >= cfg.rules.update_min_magnitude_change {
                out.push(format!("magnitude {m:.1} → {:.1}", q.magnitude));
            }
        }
        if let (Some(lat), Some(lon)) = (prev.lat, prev.lon) {
            let moved = geo::distance_km(lat, lon, q.lat, q.lon);
            if moved >= cfg.rules.update_min_move_km {
                out.push(format!("epicentre moved {moved:.0} km"));
            }
        }
    }
    if let Some(w) = &ev.weather {
        if w.color != prev.color {
            let name = |c: Option<crate::feed::Color>| c.map(|c| c.as_str()).unwrap_or("none");
            out.push(format!("colour {} → {}", name(prev.color), name(w.color)));
        }
    }
    out
}

#[cfg(test)]
mod tests;
