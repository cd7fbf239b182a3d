//! How many rejected feed messages get a WARN line of their own: the first [`PER_MINUTE`] of
//! each topic in a minute, then one line with the count of the rest when the minute is over.
//!
//! Why: every rejection is journaled and counted (`alertd_messages_rejected_total`,
//! `alertd status`) anyway, so the log only needs to show that rejections happen and what they
//! look like. One line each let a flood of junk (30,941 rejections in one attack) fill the log
//! and bury everything else in it. `tracing` has no rate limiting of its own, and a counter per
//! topic is all it takes. Pure: the caller passes the time and does the logging.

use jiff::{SignedDuration, Timestamp};
use std::collections::HashMap;

/// Rejections logged one by one per topic and minute.
pub const PER_MINUTE: u32 = 10;
const WINDOW: SignedDuration = SignedDuration::from_secs(60);
/// Topics tracked one by one; rejections on further topics share one count, so a flood over
/// many topic names (a wildcard subscription takes any) cannot grow the table without bound.
const MAX_TOPICS: usize = 256;
/// The name the shared count is logged under.
pub const OTHER_TOPICS: &str = "(other topics)";

#[derive(Debug, Default)]
pub struct RejectLog {
    windows: HashMap<String, Window>,
}

#[derive(Debug)]
struct Window {
    start: Timestamp,
    logged: u32,
    suppressed: u64,
}

impl Window {
    /// Over, or the clock went back before it began (then it could never end by waiting).
    fn over(&self, now: Timestamp) -> bool {
        now < self.start || now.duration_since(self.start) >= WINDOW
    }
}

/// Rejections in one topic's finished minute that were not logged one by one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppressed {
    pub topic: String,
    pub count: u64,
}

impl RejectLog {
    /// One rejection on `topic`: whether to log it, and the summary of this topic's previous
    /// minute if it just ended with rejections unlogged.
    pub fn note(&mut self, topic: &str, now: Timestamp) -> (bool, Option<Suppressed>) {
        let key = if self.windows.contains_key(topic) || self.windows.len() < MAX_TOPICS {
            topic
        } else {
            OTHER_TOPICS
        };
        let mut summary = None;
        let w = self.windows.entry(key.to_string()).or_insert(Window {
            start: now,
            logged: 0,
            suppressed: 0,
        });
        if w.over(now) {
            if w.suppressed > 0 {
                summary = Some(Suppressed {
                    topic: key.to_string(),
                    count: w.suppressed,
                });
            }
            *w = Window {
                start: now,
                logged: 0,
                suppressed: 0,
            };
        }
        let log = w.logged < PER_MINUTE;
        if log {
            w.logged += 1;
        } else {
            w.suppressed += 1;
        }
        (log, summary)
    }

    /// Ends every minute that is over: the summaries of those with rejections unlogged. Called
    /// periodically, so the count is told even when no further rejection arrives.
    pub fn flush(&mut self, now: Timestamp) -> Vec<Suppressed> {
        let mut out = Vec::new();
        self.windows.retain(|topic, w| {
            if !w.over(now) {
                return true;
            }
            if w.suppressed > 0 {
                out.push(Suppressed {
                    topic: topic.clone(),
                    count: w.suppressed,
                });
            }
            false
        });
        out.sort_by(|a, b| a.topic.cmp(&b.topic));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    #[test]
    fn first_ten_a_minute_then_a_count() {
        let mut r = RejectLog::default();
        let logged = (0..25).filter(|i| r.note("t", at(i % 30)).0).count();
        assert_eq!(logged, 10);
        assert_eq!(r.flush(at(59)), vec![]);
        // The next rejection after the minute tells the count and is logged itself.
        let (log, summary) = r.note("t", at(61));
        assert!(log);
        assert_eq!(
            summary,
            Some(Suppressed {
                topic: "t".into(),
                count: 15
            })
        );
        assert_eq!(r.flush(at(200)), vec![], "nothing unlogged in the new minute");
    }

    #[test]
    fn flush_tells_the_count_when_nothing_else_arrives() {
        let mut r = RejectLog::default();
        for i in 0..12 {
            r.note("a", at(i));
            r.note("b", at(i));
        }
        let s = r.flush(at(60));
        assert_eq!(
            s,
            vec![
                Suppressed {
                    topic: "a".into(),
                    count: 2
                },
                Suppressed {
                    topic: "b".into(),
                    count: 2
                }
            ]
        );
        assert!(r.windows.is_empty());
    }

    #[test]
    fn a_clock_gone_back_starts_a_new_minute() {
        let mut r = RejectLog::default();
        for _ in 0..11 {
            r.note("t", at(100));
        }
        let (log, summary) = r.note("t", at(0));
        assert!(log);
        assert_eq!(summary.map(|s| s.count), Some(1));
    }

    #[test]
    fn many_topics_share_one_count_past_the_table_size() {
        let mut r = RejectLog::default();
        for i in 0..MAX_TOPICS + 100 {
            r.note(&format!("feeds/{i}"), at(0));
        }
        assert_eq!(r.windows.len(), MAX_TOPICS + 1);
        let logged = (0..20).filter(|i| r.note(&format!("x/{i}"), at(1)).0).count();
        // The shared count logged its first ten at at(0); these are counted only.
        assert_eq!(logged, 0);
        let s = r.flush(at(61));
        let other = s.iter().find(|s| s.topic == OTHER_TOPICS).map(|s| s.count);
        assert_eq!(other, Some(90 + 20));
    }
}
