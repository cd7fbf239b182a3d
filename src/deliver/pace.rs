//! Pacing a serial channel (Weibo): a per-account budget of posts per rolling hour, a share of
//! it per source, and the order in which waiting posts go.
//!
//! share.json allows about 30 posts an hour per authorised user and answers 10024 beyond
//! (docs/platforms.md §9.5); before this, a flood of 50 fake emergencies spent the 30 and the real
//! one waited behind 20 rate-limited retries. Now: posts past the budget **wait** for the next
//! free slot (until their deadline, then they expire with the reason); the next post is the
//! highest class first (emergency, routine, info), oldest first within a class; and one source
//! (the alert's flood-guard bucket) may use at most `source_posts_per_hour` of the account, so
//! it cannot spend what another source's emergency needs. The budget is counted from the posts
//! in the store (`outbox::posted_since`), so a restart does not reset it. A 10024 the platform
//! gives anyway (someone else posted on the account) blocks the channel for its wait; the post
//! goes back into the queue.
//!
//! One exception to the order keeps exactly-once: a post whose request went out but whose
//! answer was not recorded (a crash, see `posted::in_doubt`) is resumed before any other, whatever
//! its class, so the platform's 20019 ("identical to your previous post") still matches it.

use crate::store::outbox::Delivery;
use std::collections::VecDeque;
use std::sync::Arc;

const HOUR_MS: i64 = 3_600_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub per_hour: u32,
    pub per_source: u32,
}

impl Limits {
    pub const NONE: Limits = Limits {
        per_hour: u32::MAX,
        per_source: u32::MAX,
    };
}

#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// Deliver `queue[i]` now.
    Go(usize),
    /// Nothing may go for this many milliseconds (or until a new job arrives).
    Wait(i64),
}

/// Emergencies first.
fn rank(class: &str) -> u8 {
    match class {
        "emergency" => 0,
        "routine" => 1,
        "info" => 2,
        _ => 3,
    }
}

pub struct Pacer {
    limits: Limits,
    /// Posts of the last hour: (when, bucket), oldest first.
    window: VecDeque<(i64, String)>,
    blocked_until: i64,
}

impl Pacer {
    /// `posts`: the channel's posts of the last hour from the store, oldest first.
    pub fn new(limits: Limits, posts: Vec<(i64, String)>) -> Self {
        Self {
            limits,
            window: posts.into(),
            blocked_until: i64::MIN,
        }
    }

    /// Why `d` is not posted now, for `status` (after [`Pacer::next`] said wait).
    pub fn why_waiting(&self, d: &Delivery) -> String {
        let spent = self.window.iter().filter(|(_, b)| *b == d.bucket).count();
        if self.window.len() >= self.limits.per_hour as usize {
            format!(
                "waits for a free Weibo slot: {} posts in the last hour (posts_per_hour = {}); emergencies go first",
                self.window.len(),
                self.limits.per_hour
            )
        } else if spent >= self.limits.per_source as usize {
            format!(
                "waits for a free Weibo slot: source \"{}\" made {spent} posts in the last hour (source_posts_per_hour = {})",
                d.bucket, self.limits.per_source
            )
        } else {
            "waits for a free Weibo slot: rate limited by the platform; emergencies go first".into()
        }
    }

    pub fn posted(&mut self, at_ms: i64, bucket: &str) {
        self.window.push_back((at_ms, bucket.to_string()));
    }

    /// The platform said "rate limited": nothing is posted before `until_ms`.
    pub fn block(&mut self, until_ms: i64) {
        self.blocked_until = self.blocked_until.max(until_ms);
    }

    /// The next delivery to make, or how long to wait. `first` is the delivery in doubt after a
    /// crash: until it is done nothing else is posted.
    pub fn next(&mut self, queue: &[Arc<Delivery>], first: Option<&str>, now: i64) -> Next {
        while self.window.front().is_some_and(|(t, _)| now - t >= HOUR_MS) {
            self.window.pop_front();
        }
        // These make no request (dry-run, or expired on pick): they cost no budget and may
        // go before the one in doubt.
        if let Some(i) = queue.iter().position(|d| d.dry_run || d.deadline_ms < now) {
            return Next::Go(i);
        }
        let per_hour = self.limits.per_hour as usize;
        let mut free_at = self.blocked_until;
        if self.window.len() >= per_hour {
            free_at = free_at.max(self.window[self.window.len() - per_hour].0 + HOUR_MS);
        }
        if free_at > now {
            return Next::Wait(free_at - now);
        }
        if let Some(id) = first {
            return match queue.iter().position(|d| d.id == id) {
                Some(i) => Next::Go(i),
                None => Next::Wait(100),
            };
        }
        let mut order: Vec<usize> = (0..queue.len()).collect();
        order.sort_by(|&a, &b| {
            let (a, b) = (&queue[a], &queue[b]);
            // Alerts made in one batch share a millisecond: the alert id keeps their creation
            // order, so the post whose outcome a crash leaves unknown stays the latest one.
            (rank(&a.class), a.created_ms, a.alert_id, &a.id).cmp(&(
                rank(&b.class),
                b.created_ms,
                b.alert_id,
                &b.id,
            ))
        });
        let share = self.limits.per_source as usize;
        let mut wait = i64::MAX;
        for i in order {
            let bucket = queue[i].bucket.as_str();
            let spent: Vec<i64> = self
                .window
                .iter()
                .filter(|(_, b)| b == bucket)
                .map(|(t, _)| *t)
                .collect();
            if spent.len() < share {
                return Next::Go(i);
            }
            wait = wait.min(spent[spent.len() - share] + HOUR_MS - now);
        }
        Next::Wait(wait.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(id: &str, class: &str, bucket: &str, created_ms: i64) -> Arc<Delivery> {
        Arc::new(Delivery {
            id: id.into(),
            alert_id: 1,
            channel: "weibo".into(),
            status: crate::store::outbox::Status::Pending,
            decision: String::new(),
            text: String::new(),
            dry_run: false,
            override_: false,
            ledger_day: None,
            deadline_ms: i64::MAX,
            attempts: 0,
            next_attempt_ms: 0,
            platform_ref: None,
            last_error: None,
            request: None,
            op: crate::store::outbox::Op::Send,
            fallback: Vec::new(),
            digest_day: None,
            job_status: None,
            origin_ms: None,
            class: class.into(),
            bucket: bucket.into(),
            created_ms,
            updated_ms: created_ms,
        })
    }

    #[test]
    fn emergencies_first_then_oldest() {
        let mut p = Pacer::new(Limits::NONE, vec![]);
        let q = [
            d("r", "routine", "a", 1),
            d("e2", "emergency", "a", 3),
            d("e1", "emergency", "b", 2),
        ];
        assert_eq!(p.next(&q, None, 10), Next::Go(2));
    }

    #[test]
    fn alerts_of_one_millisecond_go_in_creation_order_not_id_order() {
        let mut p = Pacer::new(Limits::NONE, vec![]);
        let with_alert = |id: &str, alert_id: i64| {
            let mut x = (*d(id, "routine", "a", 7)).clone();
            x.alert_id = alert_id;
            Arc::new(x)
        };
        let q = [with_alert("aaa", 2), with_alert("zzz", 1)];
        assert_eq!(p.next(&q, None, 10), Next::Go(1));
    }

    #[test]
    fn a_source_past_its_share_waits_and_leaves_the_account_to_others() {
        let lim = Limits {
            per_hour: 5,
            per_source: 2,
        };
        let mut p = Pacer::new(lim, vec![(0, "flood".into()), (10, "flood".into())]);
        let q = [d("f3", "emergency", "flood", 20), d("c1", "routine", "cenc", 30)];
        assert_eq!(p.next(&q, None, 100), Next::Go(1), "the flood's share is spent");
        let q = [d("f3", "emergency", "flood", 20)];
        assert_eq!(
            p.next(&q, None, 100),
            Next::Wait(HOUR_MS - 100),
            "until its first post is an hour old"
        );
        assert_eq!(p.next(&q, None, HOUR_MS), Next::Go(0));
    }

    #[test]
    fn the_account_budget_is_a_rolling_hour_and_a_rate_limit_blocks() {
        let lim = Limits {
            per_hour: 2,
            per_source: 2,
        };
        let mut p = Pacer::new(lim, vec![(0, "a".into())]);
        p.posted(500, "b");
        let q = [d("x", "emergency", "c", 0)];
        assert_eq!(p.next(&q, None, 1000), Next::Wait(HOUR_MS - 1000));
        assert_eq!(p.next(&q, None, HOUR_MS), Next::Go(0));
        p.block(HOUR_MS + 60_000);
        assert_eq!(p.next(&q, None, HOUR_MS), Next::Wait(60_000));
    }

    #[test]
    fn the_post_in_doubt_goes_before_an_emergency() {
        let mut p = Pacer::new(Limits::NONE, vec![]);
        let q = [d("e", "emergency", "a", 2)];
        assert_eq!(
            p.next(&q, Some("r"), 10),
            Next::Wait(100),
            "waits for it to be queued"
        );
        let q = [d("e", "emergency", "a", 2), d("r", "routine", "a", 1)];
        assert_eq!(p.next(&q, Some("r"), 10), Next::Go(1));
    }
}
