//! Assess: an [`Event`] plus what the store knows of it becomes an [`Assessment`] — its class,
//! whether anything is published (a new alert, a correction, a cancellation) and why.
//!
//! Pure: the caller looks up the prior [`EventState`] and passes the clock's time in.

pub mod geo;
pub mod rules;

use crate::config::Config;
use crate::feed::{Event, Kind, MsgType};
use crate::model::Class;
use crate::model::EventState;
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
    let c = match (ev.quake(), ev.weather()) {
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
    let (order, skew_note) = order_time(cfg, ev, now);
    let publishable = |class: Class| match class {
        Class::Emergency | Class::Routine => true,
        Class::Info => cfg.rules.info_to_weibo,
        Class::Ignore => false,
    };
    let fresh_state = |key: String, first_alert_id| EventState {
        event_key: key,
        kind: ev.kind(),
        class: c.class,
        published_class: None,
        cancelled: false,
        last_sent_ms: ms(order),
        magnitude: ev.quake().map(|q| q.magnitude),
        lat: ev.quake().map(|q| q.lat),
        lon: ev.quake().map(|q| q.lon),
        color: ev.weather().and_then(|w| w.color),
        expires_ms: ev.weather().and_then(|w| w.expires).map(ms),
        first_alert_id,
        origin_ms: ev.quake().map(|q| ms(q.origin_time)),
        source: Some(ev.sender.id.clone()),
        source_name: ev.sender.name.clone(),
        signed: ev.signer.is_some(),
        review: ev.quake().and_then(|q| q.review),
        senders: Vec::new(),
        quake: ev.quake().cloned(),
        weather: ev.weather().cloned(),
    };
    let stale = freshness(cfg, ev, now);
    let mk = |state: EventState, action: Action, reason: String, push: bool, previous: Option<EventState>| {
        let mut state = state;
        // Every sender whose report the event took (same_quake keeps their other quakes apart).
        for who in previous
            .iter()
            .flat_map(|p| p.senders.iter())
            .chain([&ev.sender.id])
        {
            if !state.senders.contains(who) {
                state.senders.push(who.clone());
            }
        }
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
        let reason = match &skew_note {
            Some(note) => format!("{reason} ({note})"),
            None => reason,
        };
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
                "cancellation of no event alertd knows (none of its ids or references is stored): nothing to lift".into(),
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
    if let Err(why) = authority(cfg, &prev, ev) {
        // Recorded, never published: nothing of the event changes, not even who reported it.
        let mut a = mk(prev.clone(), Action::None, why, false, Some(prev.clone()));
        a.state = prev;
        return a;
    }
    let same_source = prev.source.as_deref().is_none_or(|s| s == ev.sender.id);
    if same_source && ms(order) < prev.last_sent_ms {
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
            // An expired warning counts as unpublished (above), but the reason must not say so.
            let why = match (prev.first_alert_id, prev.expires_ms) {
                (Some(_), Some(e)) if e < ms(now) => format!(
                    "cancellation of a warning that already expired at {}: nothing left to lift",
                    crate::store::from_ms(e)
                ),
                _ => "cancellation of an event never published".into(),
            };
            return mk(s, Action::None, why, false, Some(prev));
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
        s.last_sent_ms = ms(order);
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
        s.last_sent_ms = ms(order);
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
    if c.class == Class::Ignore && published != Class::Ignore && ev.kind() == Kind::Weather {
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

/// Who may change what is stored of an event — in one place, because a forged or careless
/// update, downgrade or cancel is as public as a forged alert:
/// - an unsigned report never changes facts that came signed (it may corroborate them: it is
///   recorded against the event and publishes nothing);
/// - the event's own sender may; another sender only if it is ranked above the event's in the
///   kind's source priority (`rules.source_priority` for quakes, `rules.weather.source_priority`
///   for warnings, empty by default: a warning is changed by its own sender only).
///
/// `Err` is the reason the report is recorded and not published.
pub fn authority(cfg: &Config, prev: &EventState, ev: &Event) -> Result<(), String> {
    let theirs = prev.source.as_deref().unwrap_or(ev.sender.id.as_str());
    if prev.signed && ev.signer.is_none() {
        return Err(format!(
            "{} reports the same event unsigned; {theirs}'s signed facts stand (an unsigned report never changes a signed event)",
            ev.sender.id
        ));
    }
    if theirs == ev.sender.id {
        return Ok(());
    }
    if ranks_above(cfg, ev.kind(), &ev.sender.id, theirs) {
        return Ok(());
    }
    let list = match ev.kind() {
        Kind::Earthquake => "rules.source_priority",
        Kind::Weather => "rules.weather.source_priority",
    };
    Err(format!(
        "{} reports the same event; {theirs}'s facts stand: only {theirs} or a sender ranked above it in {list} may update or cancel it",
        ev.sender.id
    ))
}

/// Whether `sender` ranks strictly above `theirs` in the kind's source priority (a listed
/// sender ranks above every unlisted one).
fn ranks_above(cfg: &Config, kind: Kind, sender: &str, theirs: &str) -> bool {
    let priority = match kind {
        Kind::Earthquake => &cfg.rules.source_priority,
        Kind::Weather => &cfg.rules.weather.source_priority,
    };
    let rank = |s: &str| priority.iter().position(|p| p == s);
    match (rank(sender), rank(theirs)) {
        (Some(mine), Some(other)) => mine < other,
        (Some(_), None) => true,
        _ => false,
    }
}

/// Whether the event `prev`, found by one of `ev`'s ids, may be `ev`'s event: it holds a report
/// of `ev`'s sender, or `ev`'s sender ranks above the one whose facts it holds. Otherwise the id
/// is another sender's and `ev` is an event of its own sender ([`under_own_ids`]).
///
/// Without this, whoever sends an id first owns it: a stranger's blue warning (or a bare cancel)
/// under CMA's identifier made the real red warning "CMA reports the same event; evil's facts
/// stand", and it was never published. Ids are only unique per sender.
pub fn id_belongs(cfg: &Config, prev: &EventState, ev: &Event) -> bool {
    let Some(theirs) = prev.source.as_deref() else {
        return true;
    };
    theirs == ev.sender.id
        || prev.senders.iter().any(|s| s == &ev.sender.id)
        || ranks_above(cfg, ev.kind(), &ev.sender.id, theirs)
}

/// The reason's note when `ev`'s id names `prev`, an event of another sender.
pub fn foreign_id_note(prev: &EventState, ev: &Event) -> String {
    let theirs = prev.source.as_deref().unwrap_or("another sender");
    let list = match ev.kind() {
        Kind::Earthquake => "rules.source_priority",
        Kind::Weather => "rules.weather.source_priority",
    };
    format!(
        "its id {} names an event of {theirs}, and only {theirs} or a sender ranked above it in {list} may change it: taken as {}'s own event",
        crate::text::shown(&ev.event_id),
        ev.sender.id
    )
}

/// `ev` under ids of its own sender (`SENDER/ID`), for when the ids it carries already name
/// another sender's event. Its later revisions and cancels, carrying the same ids, find it the
/// same way.
pub fn under_own_ids(ev: &Event) -> Event {
    let own = |id: &str| format!("{}/{id}", ev.sender.id);
    Event {
        event_id: own(&ev.event_id),
        aliases: ev.aliases.iter().map(|a| own(a)).collect(),
        ..ev.clone()
    }
}

/// The time that orders this message among its event's revisions: its `sent`, unless that lies
/// beyond `security.max_future_skew_secs` — then the time alertd received it, so a provider
/// whose clock is off cannot freeze its own event (a `sent` of 2100 would make every real later
/// revision "older"). The note says so, for the reason.
pub fn order_time(cfg: &Config, ev: &Event, now: jiff::Timestamp) -> (jiff::Timestamp, Option<String>) {
    let skew = jiff::SignedDuration::from_secs(cfg.security.max_future_skew_secs as i64);
    let ahead = ev.sent.duration_since(now);
    if ahead > skew {
        (
            now,
            Some(format!(
                "sent {} is {} s ahead of alertd's clock, over security.max_future_skew_secs; ordered by the time received",
                ev.sent,
                ahead.as_secs()
            )),
        )
    } else {
        (ev.sent, None)
    }
}

/// The stored quake this report is, if no id links them: origin times within
/// `rules.match_window_secs`, epicentres within `match_distance_km`, magnitudes within
/// `match_magnitude`; of those, the nearest in time and magnitude wins (so a report of an
/// aftershock joins the aftershock, not the main shock). Returns it with the reason it matched.
///
/// A sender's own reports with different ids are different quakes — an aftershock 40 s later at
/// the same epicentre is news, not a correction — with one exception that is the sender's own
/// scheme: an automatic solution and the later reviewed (formal, 正式测定) one, which CENC issues
/// under different ids. So an event that already holds a report of `ev`'s sender takes a new one
/// from it only as the other half of an automatic / reviewed pair (in either order).
/// Origin times this close and epicentres this near, from one sender, are one quake: a network
/// does not report two quakes of one place within its own location error (relays carrying one
/// report under two ids give identical times), while a second quake 8 s later and 19 km away, or
/// an aftershock 40 s later, is another and gets its own alert.
pub const SIMULTANEOUS_SECS: f64 = 3.0;
pub const SIMULTANEOUS_KM: f64 = 15.0;

pub fn same_quake(cfg: &Config, ev: &Event, candidates: Vec<EventState>) -> Option<(EventState, String)> {
    let q = ev.quake()?;
    let r = &cfg.rules;
    use crate::feed::Review;
    let mut best: Option<(f64, EventState, String)> = None;
    for s in candidates {
        let (Some(lat), Some(lon), Some(mag), Some(origin)) = (s.lat, s.lon, s.magnitude, s.origin_ms) else {
            continue;
        };
        let holds_sender = s.source.as_deref() == Some(ev.sender.id.as_str())
            || s.senders.iter().any(|x| x == &ev.sender.id);
        // Either order: relays do not always deliver the automatic report first.
        let formal_of_automatic = s.source.as_deref() == Some(ev.sender.id.as_str())
            && matches!(
                (s.review, q.review),
                (Some(Review::Automatic), Some(Review::Reviewed))
                    | (Some(Review::Reviewed), Some(Review::Automatic))
            );
        let d = geo::distance_km(lat, lon, q.lat, q.lon);
        let dt = (origin - ms(q.origin_time)).abs() as f64 / 1000.0;
        let dm = (mag - q.magnitude).abs();
        // One sender, one origin time, one place: one quake, whatever the ids and magnitudes
        // say (a relay's other spelling of the id, a re-issued report, or a forgery that
        // authority then refuses) — never a second quake of the same instant.
        let simultaneous = holds_sender && dt <= SIMULTANEOUS_SECS && d <= SIMULTANEOUS_KM;
        if holds_sender && !formal_of_automatic && !simultaneous {
            continue;
        }
        let magnitudes_apart = dm > r.match_magnitude + 1e-9 && !simultaneous;
        if d > r.match_distance_km || magnitudes_apart || dt > r.match_window_secs as f64 {
            continue;
        }
        // Time and magnitude, each as a share of its window: the nearest candidate wins.
        let score = dt / (r.match_window_secs.max(1) as f64) + dm / r.match_magnitude.max(0.05);
        if best.as_ref().is_none_or(|(b, _, _)| score < *b) {
            let why = format!(
                "same quake as {} (origin {dt:.0} s apart, epicentres {d:.0} km, magnitude ±{dm:.1}{})",
                s.event_key,
                if formal_of_automatic {
                    "; automatic and reviewed solutions of one quake"
                } else {
                    ""
                }
            );
            best = Some((score, s, why));
        }
    }
    best.map(|(_, s, why)| (s, why))
}

/// Why the event's time makes it unpublishable, if it does: older than `security.max_age_secs`
/// (quakes by origin time, the rest by `sent`), or a quake whose origin time lies beyond the
/// allowed clock skew in the future — the text would tell the public a time that has not come.
/// A future `sent` alone does not stop a publication ([`order_time`] deals with it).
fn freshness(cfg: &Config, ev: &Event, now: jiff::Timestamp) -> Option<String> {
    let (t, is_origin) = match (ev.quake(), ev.msg_type) {
        (Some(q), MsgType::Alert | MsgType::Update) => (q.origin_time, true),
        _ => (ev.sent, false),
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
    } else if is_origin && -age > skew {
        Some(format!(
            "not published: the origin time {t} is {} s in the future, over security.max_future_skew_secs ({} s)",
            (-age).as_secs(),
            skew.as_secs()
        ))
    } else {
        None
    }
}

/// What changed that the public should know (docs/design.md: class, magnitude ±0.3, epicentre
/// moved, colour). Churn (a new `updated`, felt counts) is not a change.
fn material_changes(cfg: &Config, prev: &EventState, ev: &Event, class: Class) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(p) = prev.published_class.filter(|p| *p != class) {
        out.push(format!("class {} → {}", p.as_str(), class.as_str()));
    }
    if let Some(q) = ev.quake() {
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
    if let Some(w) = ev.weather() {
        if w.color != prev.color {
            let name = |c: Option<crate::feed::Color>| c.map(|c| c.as_str()).unwrap_or("none");
            out.push(format!("colour {} → {}", name(prev.color), name(w.color)));
        }
    }
    out
}

#[cfg(test)]
mod tests;
