//! Gate: for each channel, send now, hold, or skip — with the reason.
//!
//! The decision itself ([`decide`]) is a pure function of the assessment, the channel's ledger
//! counts and its settings; the override flood guard is asked through [`OverrideGuard`]
//! ([`HourCap`] counts from the store, in the deciding transaction).

pub mod decision;
pub mod flood;

pub use decision::{
    Decision, DigestWait, HoldReason, LocalTime, QuotaUsed, RoutineWhy, SkipReason, HELD_FLOOD,
};
pub use flood::{unsigned_bucket, HourCap, MANUAL, UNSIGNED};

use crate::assess::{Action, Assessment};
use crate::config::{ChannelConfig, ChannelKindConfig, RoutinePolicy, WechatConfig};
use crate::model::Class;

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
    let skip = |reason: SkipReason| Decision::Skip { reason };
    match &ch.cfg.kind {
        // The record of everything published; local, no quota.
        ChannelKindConfig::Website(_) => match a.action {
            Action::None => skip(SkipReason::NothingToPublish),
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
            (Action::None, _) => skip(SkipReason::NothingToPublish),
            (_, Class::Info | Class::Ignore) => skip(SkipReason::InfoNotForStaff),
            (action, class) => send(
                false,
                None,
                format!("{} {}: staff informed", class.as_str(), action.as_str()),
            ),
        },
        ChannelKindConfig::Weibo(_) => match (a.action, a.class) {
            (Action::None, _) => skip(SkipReason::NothingToPublish),
            (Action::Alert, Class::Info) if !info_to_weibo => skip(SkipReason::InfoNotOnWeibo),
            (Action::Alert, Class::Ignore) => skip(SkipReason::OutOfScope),
            (action, class) => send(
                false,
                None,
                format!("{} {}: Weibo posts at once", class.as_str(), action.as_str()),
            ),
        },
        ChannelKindConfig::Wechat(w) => {
            let wants_push = match a.action {
                Action::None => return skip(SkipReason::NothingToPublish),
                Action::Cancel => return skip(SkipReason::CancelOnWeibo),
                Action::Update if !a.push_wechat => return skip(SkipReason::UpdateOnWeibo),
                Action::Alert | Action::Update => a.class,
            };
            match wants_push {
                Class::Info | Class::Ignore => return skip(SkipReason::InfoNotPushed),
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
                QuotaUsed::Monthly {
                    used: ch.used_month,
                    limit: w.monthly_limit.unwrap_or(0),
                }
            } else {
                QuotaUsed::Daily {
                    used: ch.used_today,
                    limit,
                    day: ch.day.clone(),
                }
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
                return skip(SkipReason::QuotaUsed(used));
            }
            match guard.allow(ch.name) {
                Ok(()) => send(true, Some(ch.day.clone()), format!("emergency override: {used}")),
                Err(why) => Decision::Hold {
                    reason: HoldReason::FloodGuard { why, used },
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
    let why = match reserve {
        Some((h, m)) if reserved && w.routine != RoutinePolicy::Digest => RoutineWhy::Reserved {
            until: LocalTime(h, m),
        },
        _ => RoutineWhy::DigestPolicy,
    };
    Some(match digest_at {
        Some((h, m)) if ch.local_time < (h, m) => Decision::Digest {
            day: ch.day.clone(),
            reason: DigestWait {
                at: LocalTime(h, m),
                why,
            },
        },
        Some((h, m)) => Decision::Skip {
            reason: SkipReason::RoutineAfterDigest {
                at: LocalTime(h, m),
                why,
            },
        },
        None => Decision::Skip {
            reason: SkipReason::RoutineNotPushed { why },
        },
    })
}

#[cfg(test)]
mod tests;
