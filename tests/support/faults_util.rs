//! Helpers for the fault suite (`tests/faults.rs`; the daemon process is `harness::Daemon`): a
//! persistent-session publisher, a small tmpfs that can be filled, and the tally that checks
//! "every accepted message has exactly one outcome, nothing is pushed twice, the ledger matches
//! the pushes" against the store and the fakes.

use super::fake_wechat::FakeWechat;
use super::fake_weibo::FakeWeibo;
use super::harness::{quake, Inspect, Status};
use rumqttc::{AsyncClient, Event, Incoming, MqttOptions, QoS};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The delivery states that end a delivery (`pending` is the only one that does not).
pub const FINAL: [Status; 6] = [
    Status::Delivered,
    Status::Skipped,
    Status::Held,
    Status::Failed,
    Status::Expired,
    Status::DryRun,
];

/// The place name of fault-suite message `i` of test `tag`; the templates keep a place in
/// Chinese script as the feed gave it, so it identifies the message in every pushed text. The
/// tag is spelt in digits: a Latin letter would have the place named from the gazetteer instead.
pub fn place(tag: &str, i: usize) -> String {
    let tag: String = tag.bytes().map(|b| b.to_string()).collect();
    format!("四川省故障{tag}之{i}号")
}

/// The `故障…号` key in a pushed text.
pub fn key_in(text: &str) -> Option<&str> {
    let start = text.find("故障")? + "故障".len();
    let rest = &text[start..];
    Some(&rest[..rest.find('号')?])
}

/// One message: a routine quake (M4.5, ~100 km away: Weibo at once, WeChat only if the day's
/// push is free), or an emergency (M6.2, ~110 km: every channel, overriding a used quota).
/// Returns (msg_id, payload).
pub fn message(tag: &str, i: usize, emergency: bool, origin: &str) -> (String, Vec<u8>) {
    let event = format!("f{tag}{i}");
    // Distinct quakes, not reports of one: alertd treats reports within 60 s, 50 km and ±0.7
    // magnitude as the same quake whatever their ids. Fifteen epicentres ≥ 55 km apart around
    // Chengdu (all within ~130 km), and each reuse of a spot 61 s earlier.
    let spot = i % 15;
    let (lat, lon) = (29.6 + 0.5 * (spot / 3) as f64, 103.4 + 0.6 * (spot % 3) as f64);
    let base: jiff::Timestamp = origin.parse().expect("origin");
    let origin = (base - jiff::SignedDuration::from_secs(61 * (i / 15) as i64)).to_string();
    let mag = if emergency { 6.2 } else { 4.5 };
    let payload = quake(&event, 1, mag, lat, lon, &place(tag, i), &origin);
    (format!("{event}-r1"), payload)
}

/// The next `n` messages of test `tag` (every `every`-th one an emergency); their msg_ids are
/// appended to `ids`.
pub fn batch(
    ids: &mut Vec<String>,
    tag: &str,
    n: usize,
    every: usize,
    offset: usize,
    origin: &str,
) -> Vec<Vec<u8>> {
    (0..n)
        .map(|_| {
            let i = ids.len();
            let (id, p) = message(tag, i, i % every == offset, origin);
            ids.push(id);
            p
        })
        .collect()
}

// ---------------------------------------------------------------- a feed provider

/// A provider with a persistent session that keeps publishing while the broker is away; counts
/// the broker's PUBACKs.
pub struct Publisher {
    client: AsyncClient,
    pub acked: Arc<AtomicUsize>,
    sent: AtomicUsize,
}

impl Publisher {
    pub fn start(url: &str) -> Publisher {
        let (host, port, _) = alertd::feed::mqtt::parse_url(url).expect("url");
        let mut o = MqttOptions::new(format!("provider-{}", rand::random::<u32>()), host, port);
        o.set_clean_session(false);
        o.set_keep_alive(Duration::from_secs(5));
        o.set_inflight(200);
        let (client, mut ev) = AsyncClient::new(o, 2000);
        let acked = Arc::new(AtomicUsize::new(0));
        let a = acked.clone();
        tokio::spawn(async move {
            loop {
                match ev.poll().await {
                    Ok(Event::Incoming(Incoming::PubAck(_))) => {
                        a.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
        Publisher {
            client,
            acked,
            sent: AtomicUsize::new(0),
        }
    }

    pub async fn send(&self, payload: Vec<u8>) {
        self.client
            .publish("feeds/seismic/cenc", QoS::AtLeastOnce, false, payload)
            .await
            .expect("queued");
        self.sent.fetch_add(1, Ordering::SeqCst);
    }

    /// Waits until the broker acknowledged everything sent so far.
    pub async fn all_acked(&self, secs: u64) {
        let want = self.sent.load(Ordering::SeqCst);
        super::harness::wait_for("the broker acked every publish", secs, || {
            self.acked.load(Ordering::SeqCst) >= want
        })
        .await;
    }
}

// ---------------------------------------------------------------- a disk that fills up

/// A tmpfs mounted for the test, unmounted (lazily, so a straggling process cannot block it)
/// when dropped.
pub struct Tmpfs {
    pub path: PathBuf,
}

impl Tmpfs {
    pub fn mount(path: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(path).expect("mount point");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .output();
        match out {
            Ok(o) if o.status.success() => Tmpfs {
                path: path.to_path_buf(),
            },
            Ok(o) => panic!(
                "the disk-full fault needs to mount a {size} tmpfs at {} (run the tests as root, as CI does): {}",
                path.display(),
                String::from_utf8_lossy(&o.stderr).trim()
            ),
            Err(e) => panic!("the disk-full fault needs `mount` (util-linux) and root: {e}"),
        }
    }

    /// Fills the file system with `filler` until a write fails (ENOSPC). Returns its path.
    pub fn fill(&self) -> PathBuf {
        use std::io::Write;
        let p = self.path.join("filler");
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&p)
            .expect("filler");
        for chunk in [65536usize, 4096, 512, 1] {
            let buf = vec![0u8; chunk];
            while f.write_all(&buf).and_then(|_| f.flush()).is_ok() {}
        }
        let _ = f.sync_all();
        p
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

// ---------------------------------------------------------------- the tally

/// What the store and the fakes say about a set of published messages.
#[derive(Debug, Default)]
pub struct Tally {
    pub published: usize,
    /// Published msg_ids found in the journal (each exactly once: see `doubled`).
    pub journaled: usize,
    pub rejected: usize,
    /// Published msg_ids with no journal entry.
    pub lost: usize,
    /// Journal entries beyond one per msg_id + pushes beyond one per message and channel.
    pub doubled: usize,
    /// Alerts without exactly one delivery row per configured channel.
    pub bad_outcomes: usize,
    /// Delivery rows not in a final state.
    pub pending: usize,
    /// Deliveries that ended failed or expired.
    pub undelivered: usize,
    pub wechat_jobs: usize,
    pub weibo_posts: usize,
    pub wechat_delivered: usize,
    pub weibo_delivered: usize,
    /// Pushes at a fake with no `delivered` row, and `delivered` rows with no push.
    pub unmatched: usize,
    /// WeChat ledger total, and the days where it differs from the delivered pushes of that day.
    pub ledger: i64,
    pub ledger_mismatch_days: usize,
    /// The message keys pushed more than once (for the diagnosis).
    pub doubled_keys: Vec<String>,
}

impl Tally {
    pub fn line(&self, name: &str) -> String {
        format!(
            "faults/{name}: published={} journaled={} lost={} doubled={} rejected={} bad_outcomes={} pending={} undelivered={} wechat_jobs={} weibo_posts={} wechat_delivered={} weibo_delivered={} unmatched={} ledger={} ledger_mismatch_days={}",
            self.published, self.journaled, self.lost, self.doubled, self.rejected, self.bad_outcomes,
            self.pending, self.undelivered, self.wechat_jobs, self.weibo_posts, self.wechat_delivered,
            self.weibo_delivered, self.unmatched, self.ledger, self.ledger_mismatch_days
        )
    }

    /// The invariants every fault test holds: nothing lost, nothing twice, one final outcome
    /// per alert and channel, every push recorded, the ledger equal to the pushes.
    pub fn assert_clean(&self, name: &str) {
        let line = format!("{} doubled_keys={:?}", self.line(name), self.doubled_keys);
        assert_eq!(self.lost, 0, "lost messages: {line}");
        assert_eq!(self.doubled, 0, "doubled: {line}");
        assert_eq!(self.journaled, self.published, "{line}");
        assert_eq!(
            self.bad_outcomes, 0,
            "alerts without one outcome per channel: {line}"
        );
        assert_eq!(self.pending, 0, "deliveries left pending: {line}");
        assert_eq!(self.unmatched, 0, "pushes and records disagree: {line}");
        assert_eq!(
            self.ledger, self.wechat_jobs as i64,
            "ledger != WeChat pushes: {line}"
        );
        assert_eq!(self.ledger_mismatch_days, 0, "ledger per day: {line}");
    }
}

/// The store at `path`, read-only (works on a full disk too).
pub fn open_ro(path: &Path) -> Inspect {
    Inspect::open(path).expect("open store")
}

/// How many of `msg_ids` are in the journal.
pub fn journaled(store: &Path, msg_ids: &[String]) -> usize {
    let have: HashSet<String> = open_ro(store)
        .journal()
        .expect("journal")
        .into_iter()
        .filter_map(|j| j.msg_id)
        .collect();
    msg_ids.iter().filter(|m| have.contains(*m)).count()
}

/// True when every message is journaled and no delivery is pending.
pub fn settled(store: &Path, msg_ids: &[String]) -> bool {
    journaled(store, msg_ids) == msg_ids.len() && open_ro(store).counts().expect("counts").pending == 0
}

pub fn tally(store: &Path, msg_ids: &[String], wechat: &FakeWechat, weibo: &FakeWeibo) -> Tally {
    let c = open_ro(store);
    let journal = c.journal().expect("journal");
    let deliveries = c.deliveries().expect("deliveries");
    let alerts = c.alerts().expect("alerts");
    let mut t = Tally {
        published: msg_ids.len(),
        ..Default::default()
    };
    // Journal: one entry per published msg_id (its count, and the least of its statuses).
    let mut per_msg: HashMap<String, (i64, String)> = HashMap::new();
    for j in &journal {
        let Some(m) = &j.msg_id else { continue };
        let e = per_msg.entry(m.clone()).or_insert((0, j.status.clone()));
        e.0 += 1;
        if j.status < e.1 {
            e.1 = j.status.clone();
        }
    }
    for m in msg_ids {
        match per_msg.get(m) {
            Some((n, status)) => {
                t.journaled += 1;
                t.doubled += (*n - 1).max(0) as usize;
                if status == "rejected" {
                    t.rejected += 1;
                }
            }
            None => t.lost += 1,
        }
    }

    // Alerts: exactly one delivery row per channel, in a final state.
    let channels: HashSet<&str> = deliveries.iter().map(|d| d.channel.as_str()).collect();
    let mut rows: HashMap<(i64, &str), i64> = HashMap::new();
    for d in &deliveries {
        *rows.entry((d.alert_id, d.channel.as_str())).or_default() += 1;
    }
    for a in &alerts {
        for ch in &channels {
            if rows.get(&(a.id, *ch)).copied().unwrap_or(0) != 1 {
                t.bad_outcomes += 1;
            }
        }
    }
    t.pending = deliveries.iter().filter(|d| !FINAL.contains(&d.status)).count();
    t.undelivered = deliveries
        .iter()
        .filter(|d| matches!(d.status, Status::Failed | Status::Expired))
        .count();

    // Pushes at the fakes: at most one per message and channel, each with a delivered row.
    let delivered = |channel: &str| -> Vec<(String, String)> {
        deliveries
            .iter()
            .filter(|d| d.channel == channel && d.status == Status::Delivered)
            .map(|d| (d.id.clone(), d.text.clone()))
            .collect()
    };
    let jobs = wechat.jobs();
    let posts = weibo.posts();
    t.wechat_jobs = jobs.len();
    t.weibo_posts = posts.len();
    let wx = delivered("wechat");
    let wb = delivered("weibo");
    t.wechat_delivered = wx.len();
    t.weibo_delivered = wb.len();

    let mut by_id: HashMap<&str, usize> = HashMap::new();
    let mut by_key: HashMap<&str, usize> = HashMap::new();
    for j in &jobs {
        *by_id.entry(j.clientmsgid.as_str()).or_default() += 1;
        *by_key.entry(key_in(&j.content).unwrap_or("?")).or_default() += 1;
    }
    let extra = |m: &HashMap<&str, usize>| m.values().map(|n| n - 1).sum::<usize>();
    t.doubled += extra(&by_id).max(extra(&by_key));
    let wx_ids: HashSet<&str> = wx.iter().map(|(id, _)| id.as_str()).collect();
    t.unmatched += jobs
        .iter()
        .filter(|j| !wx_ids.contains(j.clientmsgid.as_str()))
        .count();
    t.unmatched += wx_ids.iter().filter(|id| !by_id.contains_key(*id)).count();

    let mut post_keys: HashMap<&str, usize> = HashMap::new();
    for p in &posts {
        *post_keys.entry(key_in(&p.text).unwrap_or("?")).or_default() += 1;
    }
    t.doubled += extra(&post_keys);
    t.doubled_keys.extend(
        post_keys
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|(k, _)| format!("weibo:{k}")),
    );
    t.doubled_keys.extend(
        by_key
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|(k, _)| format!("wechat:{k}")),
    );
    let post_texts: HashSet<&str> = posts.iter().map(|p| p.text.as_str()).collect();
    let wb_texts: HashSet<&str> = wb.iter().map(|(_, text)| text.as_str()).collect();
    t.unmatched += post_texts.difference(&wb_texts).count();
    t.unmatched += wb_texts.difference(&post_texts).count();

    // The WeChat ledger: per day, what the delivered pushes of that day add up to.
    let ledger: Vec<(String, i64)> = c
        .ledger()
        .expect("ledger")
        .into_iter()
        .filter(|l| l.channel == "wechat")
        .map(|l| (l.day, l.used))
        .collect();
    t.ledger = ledger.iter().map(|(_, n)| n).sum();
    for (day, used) in &ledger {
        let pushed = deliveries
            .iter()
            .filter(|d| {
                d.channel == "wechat"
                    && d.ledger_day.as_deref() == Some(day.as_str())
                    && d.status == Status::Delivered
            })
            .count() as i64;
        if pushed != *used {
            t.ledger_mismatch_days += 1;
        }
    }
    t
}
