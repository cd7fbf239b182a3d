use super::*;
use crate::assess::assess;
use crate::config::Config;
use crate::feed::decode;
use crate::store::audit::AuditKind;

struct Allow(u32);
impl OverrideGuard for Allow {
    fn allow(&mut self, _: &str) -> Result<(), String> {
        if self.0 == 0 {
            return Err("none left".into());
        }
        self.0 -= 1;
        Ok(())
    }
}

fn assessment(sample: &str) -> Publication {
    let cfg = Config::quickstart();
    let ev = decode(sample.as_bytes(), 1 << 20).unwrap();
    Publication::from(&assess(&cfg, &ev, None, ev.sent))
}

fn wechat_cfg() -> ChannelConfig {
    let mut c = Config::quickstart().channels["wechat"].clone();
    c.dry_run = false;
    c
}

/// The WeChat section of a channel the test built as WeChat.
fn wechat(c: &mut ChannelConfig) -> &mut WechatConfig {
    match &mut c.kind {
        ChannelKindConfig::Wechat(w) => w,
        other => panic!("not a wechat channel: {other:?}"),
    }
}

fn state<'a>(cfg: &'a ChannelConfig, used: u32) -> ChannelState<'a> {
    ChannelState {
        name: "wechat",
        cfg,
        day: "2013-04-20".into(),
        used_today: used,
        used_month: used,
        local_time: (8, 5),
    }
}

const LUSHAN: &str = include_str!("../../alerts/samples/lushan-2013.json");
const ROUTINE: &str = include_str!("../../alerts/samples/routine-quake.json");

#[test]
fn routine_takes_the_free_push_then_is_skipped() {
    let a = assessment(ROUTINE);
    let cfg = wechat_cfg();
    let first = decide(&a, &state(&cfg, 0), false, &mut Allow(0));
    assert!(
        matches!(&first, Decision::Send { override_: false, ledger_day: Some(d), .. } if d == "2013-04-20")
    );
    let second = decide(&a, &state(&cfg, 1), false, &mut Allow(9));
    assert_eq!(
        second,
        Decision::Skip {
            reason: SkipReason::QuotaUsed(QuotaUsed::Daily {
                used: 1,
                limit: 1,
                day: "2013-04-20".into()
            })
        }
    );
    assert_eq!(second.reason(), "daily quota used (1/1 on 2013-04-20)");
    assert_eq!(second.audit_kind(), Some(AuditKind::QuotaRefused));
}

#[test]
fn emergency_overrides_behind_the_guard() {
    let a = assessment(LUSHAN);
    let cfg = wechat_cfg();
    let d = decide(&a, &state(&cfg, 1), false, &mut Allow(1));
    assert!(matches!(&d, Decision::Send { override_: true, .. }), "{d:?}");
    assert!(d.reason().starts_with("emergency override: daily quota used"));
    let held = decide(&a, &state(&cfg, 2), false, &mut Allow(0));
    assert!(
        matches!(
            &held,
            Decision::Hold {
                reason: HoldReason::FloodGuard { .. }
            }
        ),
        "{held:?}"
    );
    assert!(held.reason().contains("flood guard"), "{held:?}");
    assert_eq!(held.audit_kind(), Some(AuditKind::Held));
}

#[test]
fn emergency_with_free_quota_is_not_an_override() {
    let a = assessment(LUSHAN);
    let cfg = wechat_cfg();
    let mut guard = Allow(0);
    let d = decide(&a, &state(&cfg, 0), false, &mut guard);
    assert!(matches!(d, Decision::Send { override_: false, .. }));
}

#[test]
fn weibo_always_posts_publishable_alerts() {
    let a = assessment(ROUTINE);
    let mut cfg = Config::quickstart().channels["weibo"].clone();
    cfg.dry_run = false;
    let d = decide(
        &a,
        &ChannelState {
            name: "weibo",
            cfg: &cfg,
            day: "d".into(),
            used_today: 99,
            used_month: 99,
            local_time: (8, 5),
        },
        false,
        &mut Allow(0),
    );
    assert!(matches!(
        d,
        Decision::Send {
            override_: false,
            ledger_day: None,
            dry_run: false,
            ..
        }
    ));
}

#[test]
fn exercise_goes_dry_run_without_quota() {
    let mut a = assessment(LUSHAN);
    a.live = false;
    let cfg = wechat_cfg();
    let d = decide(&a, &state(&cfg, 5), false, &mut Allow(0));
    assert!(
        matches!(
            d,
            Decision::Send {
                dry_run: true,
                ledger_day: None,
                override_: false,
                ..
            }
        ),
        "{d:?}"
    );
}

#[test]
fn routine_waits_for_the_digest_or_the_reserve() {
    let a = assessment(ROUTINE);
    let mut cfg = wechat_cfg();
    wechat(&mut cfg).routine = RoutinePolicy::Digest;
    wechat(&mut cfg).digest_at = Some("18:00".into());
    let d = decide(&a, &state(&cfg, 0), false, &mut Allow(0));
    assert_eq!(
        d,
        Decision::Digest {
            day: "2013-04-20".into(),
            reason: DigestWait {
                at: LocalTime(18, 0),
                why: RoutineWhy::DigestPolicy
            }
        }
    );
    assert_eq!(
        d.reason(),
        "routine: waits for the 18:00 digest (routine = \"digest\")"
    );
    let mut late = state(&cfg, 0);
    late.local_time = (18, 30);
    let d = decide(&a, &late, false, &mut Allow(0));
    assert!(
        matches!(
            &d,
            Decision::Skip {
                reason: SkipReason::RoutineAfterDigest {
                    at: LocalTime(18, 0),
                    ..
                }
            }
        ),
        "{d:?}"
    );
    assert!(d.reason().contains("after today's 18:00 digest"), "{d:?}");
    assert_eq!(d.audit_kind(), None);

    let mut cfg = wechat_cfg();
    wechat(&mut cfg).reserve_until = Some("12:00".into());
    let d = decide(&a, &state(&cfg, 0), false, &mut Allow(0));
    assert!(
        matches!(
            &d,
            Decision::Skip {
                reason: SkipReason::RoutineNotPushed {
                    why: RoutineWhy::Reserved {
                        until: LocalTime(12, 0)
                    }
                }
            }
        ),
        "{d:?}"
    );
    assert!(
        d.reason().contains("reserved for emergencies until 12:00"),
        "{d:?}"
    );
    assert_eq!(d.audit_kind(), Some(AuditKind::QuotaReserved));
    let mut noon = state(&cfg, 0);
    noon.local_time = (12, 0);
    assert!(matches!(
        decide(&a, &noon, false, &mut Allow(0)),
        Decision::Send { .. }
    ));
    // An emergency is never reserved out.
    let e = assessment(LUSHAN);
    assert!(matches!(
        decide(&e, &state(&cfg, 0), false, &mut Allow(0)),
        Decision::Send { .. }
    ));
}
