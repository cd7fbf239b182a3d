//! Gate: for each channel, send now, hold, or skip — with the reason.
//!
//! The decision itself ([`decide`]) is a pure function of the assessment, the channel's ledger
//! counts and its settings; the override flood guard is asked through [`OverrideGuard`]
//! ([`HourCap`] counts from the store, in the deciding transaction).

pub mod flood;

pub use flood::{unsigned_bucket, HourCap, MANUAL, UNSIGNED};

use crate::assess::{Action, Assessment};
use crate::config::{ChannelConfig, ChannelKindConfig, Class, RoutinePolicy, WechatConfig};

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Send now. `ledger_day` is the quota day the push counts against (WeChat).
    Send {
        override_: bool,
        ledger_day: Option<String>,
        dry_run: bool,
        reason: String,
    },
    /// Not sent; an officer may release it (e.g. the flood guard held an override).
    Hold { reason: String },
    /// Not for this channel.
    Skip { reason: String },
    /// Waits for the channel's routine digest of `day`.
    Digest { day: String, reason: String },
}

impl Decision {
    pub fn reason(&self) -> &str {
        match self {
            Decision::Send { reason, .. }
            | Decision::Hold { reason }
            | Decision::Skip { reason }
            | Decision::Digest { reason, .. } => reason,
        }
    }
}

/// What is to be published, as far as the gate cares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Publication {
    pub action: Action,
    pub class: Class,
    /// `status: actual`; otherwise every channel is dry-run and no quota is used.
    pub live: bool,
    /// May use a WeChat push (see [`Assessment::push_wechat`]).
    pub push_wechat: bool,
}

impl From<&Assessment> for Publication {
    fn from(a: &Assessment) -> Self {
        Publication {
            action: a.action,
            class: a.class,
            live: a.live,
            push_wechat: a.push_wechat,
        }
    }
}

/// What the gate needs to know of one channel right now.
pub struct ChannelState<'a> {
    pub name: &'a str,
    pub cfg: &'a ChannelConfig,
    /// The local calendar day in the channel's time zone (`YYYY-MM-DD`).
    pub day: String,
    pub used_today: u32,
    pub used_month: u32,
    /// The local time of day (hour, minute) in the channel's time zone.
    pub local_time: (i8, i8),
}

/// Whether an emergency that finds the quota used may override now (asked only when needed);
/// `Err` says why not.
pub trait OverrideGuard {
    fn allow(&mut self, channel: &str) -> Result<(), String>;
}

/// How every flood-guard hold's reason begins (`status` and the audit trail's `held` rows).
pub const HELD_FLOOD: &str = "override flood guard";

pub fn decide(
    a: &Publication,
    ch: &ChannelState,
    info_to_weibo: bool,
    guard: &mut dyn OverrideGuard,
) -> Decision {
    let dry_run = ch.cfg.dry_run || !a.live;
    let note = if a.live {
        ""
    } else {
        " (exercise/test: dry-run only)"
    };
    let send = |override_: bool, ledger_day: Option<String>, reason: String| Decision::Send {
        override_,
        ledger_day,
        dry_run,
        reason: format!("{reason}{note}"),
    };
    let skip = |reason: &str| Decision::Skip {
        reason: reason.to_string(),
    };
    match &ch.cfg.kind {
        // The record of everything published; local, no quota.
        ChannelKindConfig::Website(_) => match a.action {
            Action::None => skip("nothing to publish"),
            action => send(
                false,
                None,
                format!(
                    "{} {}: the website records every publication",
                    a.class.as_str(),
                    action.as_str()
                ),
            ),
        },
        // The office's own staff channels: told about everything published except info.
        ChannelKindConfig::Wecom(_) | ChannelKindConfig::Webhook(_) => match (a.action, a.class) {
            (Action::None, _) => skip("nothing to publish"),
            (_, Class::Info | Class::Ignore) => skip("info: staff channels are not told"),
            (action, class) => send(
                false,
                None,
                format!("{} {}: staff informed", class.as_str(), action.as_str()),
            ),
        },
        ChannelKindConfig::Weibo(_) => match (a.action, a.class) {
            (Action::None, _) => skip("nothing to publish"),
            (Action::Alert, Class::Info) if !info_to_weibo => {
                skip("info: not posted (rules.info_to_weibo = false)")
            }
            (Action::Alert, Class::Ignore) => skip("out of scope"),
            (action, class) => send(
                false,
                None,
                format!("{} {}: Weibo posts at once", class.as_str(), action.as_str()),
            ),
        },
        ChannelKindConfig::Wechat(w) => {
            let wants_push = match a.action {
                Action::None => return skip("nothing to publish"),
                Action::Cancel => return skip("cancellation: posted on Weibo; never a second WeChat push"),
                Action::Update if !a.push_wechat => {
                    return skip("update: corrections go to Weibo; a second WeChat push only if the class rises to emergency")
                }
                Action::Alert | Action::Update => a.class,
            };
            match wants_push {
                Class::Info | Class::Ignore => return skip("info: not pushed on WeChat"),
                Class::Routine => {
                    if let Some(d) = routine_waits(ch, w) {
                        return d;
                    }
                }
                _ => {}
            }
            if !a.live {
                return send(false, None, format!("{}: would push", wants_push.as_str()));
            }
            let limit = w.daily_limit;
            let day_full = ch.used_today >= limit;
            let month_full = w.monthly_limit.is_some_and(|m| ch.used_month >= m);
            let used = if month_full {
                format!(
                    "monthly quota used ({}/{} this month)",
                    ch.used_month,
                    w.monthly_limit.unwrap_or(0)
                )
            } else {
                format!("daily quota used ({}/{limit} on {})", ch.used_today, ch.day)
            };
            if !day_full && !month_full {
                return send(
                    false,
                    Some(ch.day.clone()),
                    format!(
                        "{}: the day's push ({}/{limit} on {})",
                        wants_push.as_str(),
                        ch.used_today + 1,
                        ch.day
                    ),
                );
            }
            if wants_push != Class::Emergency {
                return skip(&used);
            }
            match guard.allow(ch.name) {
                Ok(()) => send(true, Some(ch.day.clone()), format!("emergency override: {used}")),
                Err(why) => Decision::Hold {
                    reason: format!("{HELD_FLOOD}: {why}; {used}"),
                },
            }
        }
    }
}

/// A routine alert on WeChat goes to the digest (or is kept from the push) when the channel
/// says so: `routine = "digest"`, or before `reserve_until`.
fn routine_waits(ch: &ChannelState, w: &WechatConfig) -> Option<Decision> {
    use crate::config::parse_hhmm;
    let digest_at = w.digest_at.as_deref().and_then(parse_hhmm);
    let reserve = w.reserve_until.as_deref().and_then(parse_hhmm);
    let reserved = reserve.is_some_and(|r| ch.local_time < r);
    if w.routine != RoutinePolicy::Digest && !reserved {
        return None;
    }
    let hhmm = |(h, m): (i8, i8)| format!("{h:02}:{m:02}");
    let why = if reserved && w.routine != RoutinePolicy::Digest {
        format!(
            "the push is reserved for emergencies until {}",
            reserve.map(hhmm).unwrap_or_default()
        )
    } else {
        "routine = \"digest\"".to_string()
    };
    Some(match digest_at {
        Some(at) if ch.local_time < at => Decision::Digest {
            day: ch.day.clone(),
            reason: format!("routine: waits for the {} digest ({why})", hhmm(at)),
        },
        Some(at) => Decision::Skip {
            reason: format!("routine: after today's {} digest ({why}); not pushed", hhmm(at)),
        },
        None => Decision::Skip {
            reason: format!("routine: not pushed ({why})"),
        },
    })
}

#[cfg(test)]
mod tests;
