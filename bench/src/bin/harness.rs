//! alertd benchmark harness. See bench/README.md.
//!
//! ```text
//! harness all      [--rate 50 --secs 60 --burst 2000 --burst-rate 500]   alertd, then the bare forwarder
//! harness run      --rate 50 --count 3000 [--target alertd|baseline]
//! harness burst    --count 2000 --rate 500 [--target alertd|baseline]
//! harness baseline [--rate 50 --secs 60 --burst 2000 --burst-rate 500]   the forwarder only
//! harness soak     --minutes 30 --rate 20
//! common: --broker system|private|HOST:PORT   (system = 127.0.0.1:1883, private = a Mosquitto
//!         started here with deploy/mosquitto's queue settings)  --alertd PATH  --out FILE
//! ```
//!
//! Latency is measured from the instant the harness calls `publish` to the arrival of the
//! request at the fake platform (both in this process, one monotonic clock).

use alertd_bench::{
    clk_tck, cpu_ticks, percentiles, rss_kib, start_fakes, status_kib, threads, Pcts, Recorder, CHANNELS,
};
use rumqttc::{AsyncClient, Event, Incoming, MqttOptions, QoS};
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- arguments

struct Args {
    cmd: String,
    flags: HashMap<String, String>,
}

impl Args {
    fn parse() -> Args {
        let mut it = std::env::args().skip(1);
        let cmd = it.next().unwrap_or_else(|| "help".into());
        let mut flags = HashMap::new();
        while let Some(a) = it.next() {
            let k = a.trim_start_matches("--").to_string();
            let v = it.next().unwrap_or_default();
            flags.insert(k, v);
        }
        Args { cmd, flags }
    }
    fn get<T: std::str::FromStr>(&self, k: &str, default: T) -> T {
        self.flags.get(k).and_then(|v| v.parse().ok()).unwrap_or(default)
    }
    fn str(&self, k: &str, default: &str) -> String {
        self.flags.get(k).cloned().unwrap_or_else(|| default.into())
    }
}

// ---------------------------------------------------------------- output

struct Out {
    file: Option<std::fs::File>,
}

impl Out {
    fn line(&mut self, s: &str) {
        println!("{s}");
        let _ = std::io::stdout().flush();
        if let Some(f) = &mut self.file {
            let _ = writeln!(f, "{s}");
            let _ = f.flush();
        }
    }
}

// ---------------------------------------------------------------- broker

struct Broker {
    host: String,
    port: u16,
    child: Option<Child>,
    label: String,
}

impl Broker {
    fn start(spec: &str, dir: &Path) -> Broker {
        match spec {
            "system" => {
                std::net::TcpStream::connect("127.0.0.1:1883").expect(
                    "the system Mosquitto must listen on 127.0.0.1:1883 \
                     (mosquitto -d -c /etc/mosquitto/mosquitto.conf), or use --broker private",
                );
                Broker {
                    host: "127.0.0.1".into(),
                    port: 1883,
                    child: None,
                    label: "system Mosquitto 127.0.0.1:1883 (default config: max_inflight_messages 20, max_queued_messages 1000)".into(),
                }
            }
            "private" => {
                let port = std::net::TcpListener::bind("127.0.0.1:0")
                    .expect("port")
                    .local_addr()
                    .expect("addr")
                    .port();
                let conf = dir.join("mosquitto.conf");
                std::fs::write(
                    &conf,
                    format!(
                        "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n\
                         max_queued_messages 0\nmax_queued_bytes 0\nmax_inflight_messages 100\n"
                    ),
                )
                .expect("conf");
                let child = Command::new("mosquitto")
                    .arg("-c")
                    .arg(&conf)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("mosquitto");
                for _ in 0..250 {
                    if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Broker {
                    host: "127.0.0.1".into(),
                    port,
                    child: Some(child),
                    label: format!("private Mosquitto 127.0.0.1:{port} (max_inflight_messages 100, max_queued_messages 0)"),
                }
            }
            other => {
                let (h, p) = other.rsplit_once(':').expect("--broker HOST:PORT");
                Broker {
                    host: h.into(),
                    port: p.parse().expect("port"),
                    child: None,
                    label: format!("broker {other}"),
                }
            }
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

// ---------------------------------------------------------------- publisher

struct Publisher {
    client: AsyncClient,
    acked: Arc<AtomicUsize>,
}

impl Publisher {
    fn start(b: &Broker, run: &str) -> Publisher {
        let mut o = MqttOptions::new(format!("bench-pub-{run}"), b.host.clone(), b.port);
        o.set_keep_alive(Duration::from_secs(30));
        o.set_inflight(1000);
        o.set_request_channel_capacity(10_000);
        let (client, mut ev) = AsyncClient::new(o, 10_000);
        let acked = Arc::new(AtomicUsize::new(0));
        let a = acked.clone();
        tokio::spawn(async move {
            loop {
                match ev.poll().await {
                    Ok(Event::Incoming(Incoming::PubAck(_))) => {
                        a.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        eprintln!("publisher: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        });
        Publisher { client, acked }
    }
}

/// A distinct emergency quake (M6.0–6.9, ~110 km from Chengdu) whose place carries `key`.
/// Origin times are `base + seq` milliseconds, so no two messages of a phase share an origin
/// millisecond (with `match_window_secs = 0` that is what keeps alertd from merging them).
fn quake(run: &str, key: &str, seq: usize, base: jiff::Timestamp) -> Vec<u8> {
    let now = jiff::Timestamp::now();
    let origin = base + jiff::SignedDuration::from_millis(seq as i64);
    serde_json::to_vec(&serde_json::json!({
        "schema": "alert-feed/1",
        "msg_id": format!("bench-{run}-{key}-r1"),
        "event_id": format!("bench-{run}-{key}"),
        "kind": "earthquake",
        "msg_type": "alert",
        "status": "actual",
        "sender": {"id": "cenc", "name": "中国地震台网中心"},
        "sent": now.to_string(),
        "quake": {"origin_time": origin.to_string(), "lat": 30.3 + (seq % 50) as f64 * 0.001,
                  "lon": 103.0, "depth_km": 10, "magnitude": 6.0 + (seq % 10) as f64 / 10.0,
                  "mag_type": "Ms", "place": format!("四川省雅安市压测{key}号"), "review": "automatic"}
    }))
    .expect("json")
}

/// Origins of a phase start 30 s before it.
fn origin_base() -> jiff::Timestamp {
    jiff::Timestamp::now() - jiff::SignedDuration::from_secs(30)
}

// ---------------------------------------------------------------- systems under test

struct Target {
    name: &'static str,
    child: Child,
    topic: String,
}

impl Target {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..200 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn alertd_config(b: &Broker, run: &str, dir: &Path, wechat: &str, weibo: &str) -> String {
    format!(
        r#"[mqtt]
url = "mqtt://{host}:{port}"
client_id = "alertd-bench-{run}"
topics = ["bench/{run}/alertd/feeds/seismic/#"]
reconnect_max_secs = 1

[store]
path = "{store}"

[jurisdiction]
name = "成都市"
office = "成都市应急管理局"
lat = 30.66
lon = 104.07
adcodes = ["510100"]

[channels.wechat]
kind = "wechat"
api_base = "{wechat}"
appid = "wx0123456789abcdef"
secret = "bench-secret"
daily_limit = 1
request_timeout_secs = 5

[channels.weibo]
kind = "weibo"
api_base = "{weibo}"
access_token = "bench-token"
link = "https://www.example.gov.cn/alerts"
rip = "203.0.113.7"
request_timeout_secs = 5
# The bench's fake Weibo has no hourly limit; neither does alertd's pacing here.
posts_per_hour = 1000000000
source_posts_per_hour = 1000000000

# The benchmark's quakes are synthetic and close together: without this alertd would rightly
# merge them as reports of one quake (origins within 60 s, epicentres within 50 km).
[rules]
match_window_secs = 0

# Every message is an emergency, so WeChat gets one request per message as well (the fake
# accepts every push); the flood guard is opened wide for the benchmark.
[override]
max_per_hour = 1000000

[compose]
link_allowlist = ["www.example.gov.cn"]

[deliver]
retry_initial_ms = 100
retry_max_secs = 2

[log]
format = "text"
level = "warn,alertd::feed::mqtt=info"
"#,
        host = b.host,
        port = b.port,
        store = dir.join("alertd.db").display(),
    )
}

async fn start_alertd(bin: &Path, b: &Broker, run: &str, dir: &Path, fakes: &(String, String)) -> Target {
    assert!(
        bin.exists(),
        "{} not found: build it first (cargo build --release in the repository root)",
        bin.display()
    );
    let cfg = dir.join("alertd.toml");
    std::fs::write(&cfg, alertd_config(b, run, dir, &fakes.0, &fakes.1)).expect("config");
    let log_path = dir.join("alertd.log");
    let log = std::fs::File::create(&log_path).expect("log");
    let child = Command::new(bin)
        .args(["run", "--config"])
        .arg(&cfg)
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("alertd starts");
    let t = Target {
        name: "alertd",
        child,
        topic: format!("bench/{run}/alertd/feeds/seismic/cenc"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&log_path)
        .unwrap_or_default()
        .contains("mqtt: connected")
    {
        assert!(
            Instant::now() < deadline,
            "alertd did not connect: {}",
            std::fs::read_to_string(&log_path).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Subscribed a moment after the ConnAck.
    tokio::time::sleep(Duration::from_millis(300)).await;
    t
}

async fn start_forwarder(b: &Broker, run: &str, fakes: &(String, String)) -> Target {
    let bin = std::env::current_exe().expect("exe").with_file_name("forwarder");
    let topic = format!("bench/{run}/baseline/feeds/seismic/cenc");
    let mut child = Command::new(&bin)
        .arg(format!("{}:{}", b.host, b.port))
        .arg(&topic)
        .arg(&fakes.0)
        .arg(&fakes.1)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    let stdout = child.stdout.take().expect("stdout");
    let ready = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        line
    });
    let line = tokio::time::timeout(Duration::from_secs(20), ready)
        .await
        .expect("forwarder ready in time")
        .expect("join");
    assert!(line.contains("ready"), "forwarder: {line:?}");
    Target {
        name: "forwarder",
        child,
        topic,
    }
}

// ---------------------------------------------------------------- a measured phase

struct Ctx {
    run: String,
    rec: Arc<Recorder>,
    publisher: Publisher,
    tck: f64,
}

struct ChannelResult {
    delivered: usize,
    doubled: usize,
    lat: Pcts,
}

struct PhaseResult {
    system: &'static str,
    phase: String,
    sent: usize,
    acked_by_broker: usize,
    ch: Vec<ChannelResult>,
    both: Pcts,
    rss_end_kib: u64,
    rss_max_kib: u64,
    threads_max: u64,
    cpu_pct: f64,
    wall: Duration,
}

/// Samples RSS and the thread count every 100 ms while running; returns the maxima.
fn rss_sampler(pid: u32, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<(u64, u64)> {
    tokio::spawn(async move {
        let (mut max, mut thr) = (0, 0);
        while !stop.load(Ordering::Relaxed) {
            max = max.max(rss_kib(pid).unwrap_or(0));
            thr = thr.max(threads(pid).unwrap_or(0));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        (max, thr)
    })
}

/// Publishes `count` messages at `rate`/s to the target, waits until every one reached both
/// fakes (or `drain` passed), and measures.
async fn phase(
    ctx: &Ctx,
    t: &Target,
    label: &str,
    tag: char,
    rate: f64,
    count: usize,
    drain: Duration,
) -> PhaseResult {
    let prefix = tag.to_string();
    let pid = t.pid();
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = rss_sampler(pid, stop.clone());
    let acked0 = ctx.publisher.acked.load(Ordering::Relaxed);
    let cpu0 = cpu_ticks(pid).unwrap_or(0);
    let t0 = Instant::now();
    let period = Duration::from_secs_f64(1.0 / rate);
    let base = origin_base();
    let mut sent = Vec::with_capacity(count);
    for seq in 0..count {
        let key = format!("{tag}{seq}");
        let payload = quake(&ctx.run, &key, seq, base);
        tokio::time::sleep_until((t0 + period * seq as u32).into()).await;
        sent.push(Instant::now());
        ctx.publisher
            .client
            .publish(t.topic.clone(), QoS::AtLeastOnce, false, payload)
            .await
            .expect("publish queued");
    }
    let published = Instant::now();
    while Instant::now() < published + drain {
        let done = (0..CHANNELS.len()).all(|c| ctx.rec.count_prefix(c, &prefix) >= count);
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let cpu1 = cpu_ticks(pid).unwrap_or(cpu0);
    let wall = t0.elapsed();
    stop.store(true, Ordering::Relaxed);
    let (rss_max, threads_max) = sampler.await.unwrap_or((0, 0));
    let rss_end = rss_kib(pid).unwrap_or(0);

    let mut ch = Vec::new();
    let mut both = Vec::new();
    let mut per_msg: Vec<Option<Duration>> = vec![Some(Duration::ZERO); count];
    for c in 0..CHANNELS.len() {
        let mut lat = Vec::new();
        let mut doubled = 0;
        for (seq, at) in sent.iter().enumerate() {
            match ctx.rec.arrival(c, &format!("{tag}{seq}")) {
                Some((arr, n)) => {
                    let d = arr.saturating_duration_since(*at);
                    lat.push(d);
                    doubled += (n - 1) as usize;
                    if let Some(m) = &mut per_msg[seq] {
                        *m = (*m).max(d);
                    }
                }
                None => per_msg[seq] = None,
            }
        }
        ch.push(ChannelResult {
            delivered: lat.len(),
            doubled,
            lat: percentiles(lat),
        });
    }
    if let Ok(dir) = std::env::var("HARNESS_DUMP") {
        dump_latencies(ctx, &dir, t.name, tag, &sent, t0);
    }
    both.extend(per_msg.into_iter().flatten());
    PhaseResult {
        system: t.name,
        phase: label.into(),
        sent: count,
        acked_by_broker: ctx.publisher.acked.load(Ordering::Relaxed) - acked0,
        ch,
        both: percentiles(both),
        rss_end_kib: rss_end,
        rss_max_kib: rss_max,
        threads_max,
        cpu_pct: (cpu1 - cpu0) as f64 / ctx.tck / wall.as_secs_f64() * 100.0,
        wall,
    }
}

/// `HARNESS_DUMP=DIR`: one CSV per phase (seq, send offset ms, latency ms per channel), to see
/// *when* a slow tail happened, not only that it did.
fn dump_latencies(ctx: &Ctx, dir: &str, system: &str, tag: char, sent: &[Instant], t0: Instant) {
    let mut csv = String::from("seq,sent_ms");
    for name in CHANNELS {
        csv.push_str(&format!(",{name}_ms"));
    }
    csv.push('\n');
    for (seq, at) in sent.iter().enumerate() {
        csv.push_str(&format!("{seq},{:.3}", (*at - t0).as_secs_f64() * 1e3));
        for c in 0..CHANNELS.len() {
            match ctx.rec.arrival(c, &format!("{tag}{seq}")) {
                Some((arr, _)) => {
                    let ms = arr.saturating_duration_since(*at).as_secs_f64() * 1e3;
                    csv.push_str(&format!(",{ms:.3}"));
                }
                None => csv.push(','),
            }
        }
        csv.push('\n');
    }
    let path = Path::new(dir).join(format!("{system}-{tag}.csv"));
    if let Err(e) = std::fs::write(&path, csv) {
        eprintln!("cannot write {}: {e}", path.display());
    }
}

fn table_header(out: &mut Out) {
    out.line("| system | phase | channel | sent | delivered | doubled | p50 ms | p90 ms | p99 ms | max ms | RSS end / max MiB | CPU % | threads max |");
    out.line("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
}

fn table_rows(out: &mut Out, r: &PhaseResult) {
    let mib = |k: u64| k as f64 / 1024.0;
    for (i, c) in r.ch.iter().enumerate() {
        out.line(&format!(
            "| {} | {} | {} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} / {:.1} | {:.1} | {} |",
            r.system,
            r.phase,
            CHANNELS[i],
            r.sent,
            c.delivered,
            c.doubled,
            c.lat.p50,
            c.lat.p90,
            c.lat.p99,
            c.lat.max,
            mib(r.rss_end_kib),
            mib(r.rss_max_kib),
            r.cpu_pct,
            r.threads_max
        ));
    }
    out.line(&format!(
        "| {} | {} | both | {} | {} | – | {:.2} | {:.2} | {:.2} | {:.2} | | | |",
        r.system, r.phase, r.sent, r.both.n, r.both.p50, r.both.p90, r.both.p99, r.both.max
    ));
}

/// Runs a system through warm-up, the steady phase and the burst phase.
#[allow(clippy::too_many_arguments)]
async fn run_system(
    ctx: &Ctx,
    t: &Target,
    tags: (char, char, char),
    steady: Option<(f64, usize)>,
    burst: Option<(f64, usize)>,
    out: &mut Out,
) -> Vec<PhaseResult> {
    // Warm-up: connections, the WeChat token, SQLite caches. Not measured.
    let w = phase(ctx, t, "warm-up", tags.0, 20.0, 40, Duration::from_secs(30)).await;
    eprintln!(
        "{}: warm-up delivered wechat={} weibo={}",
        t.name, w.ch[0].delivered, w.ch[1].delivered
    );
    let mut res = Vec::new();
    if let Some((rate, count)) = steady {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let r = phase(
            ctx,
            t,
            &format!("{rate:.0} msg/s × {count}"),
            tags.1,
            rate,
            count,
            Duration::from_secs(60),
        )
        .await;
        table_rows(out, &r);
        res.push(r);
    }
    if let Some((rate, count)) = burst {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let r = phase(
            ctx,
            t,
            &format!("burst {count} @ {rate:.0} msg/s"),
            tags.2,
            rate,
            count,
            Duration::from_secs(120),
        )
        .await;
        table_rows(out, &r);
        res.push(r);
    }
    res
}

fn machine() -> Vec<String> {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .unwrap_or("?")
        .trim()
        .to_string();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .nth(1)
        .and_then(|k| k.parse::<f64>().ok())
        .map(|k| k / 1024.0 / 1024.0)
        .unwrap_or(0.0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_string();
    vec![format!(
        "machine: {cpu}, {cores} cores, {mem:.1} GiB RAM, Linux {kernel}"
    )]
}

fn print_ratios(out: &mut Out, a: &[PhaseResult], b: &[PhaseResult]) {
    out.line("");
    out.line("| phase | channel | alertd p50 | forwarder p50 | ratio | alertd p99 | forwarder p99 |");
    out.line("|---|---|---:|---:|---:|---:|---:|");
    for (x, y) in a.iter().zip(b) {
        for (c, name) in CHANNELS.iter().enumerate() {
            out.line(&format!(
                "| {} | {} | {:.2} | {:.2} | {:.2}× | {:.2} | {:.2} |",
                x.phase,
                name,
                x.ch[c].lat.p50,
                y.ch[c].lat.p50,
                x.ch[c].lat.p50 / y.ch[c].lat.p50.max(1e-9),
                x.ch[c].lat.p99,
                y.ch[c].lat.p99
            ));
        }
        out.line(&format!(
            "| {} | both | {:.2} | {:.2} | {:.2}× | {:.2} | {:.2} |",
            x.phase,
            x.both.p50,
            y.both.p50,
            x.both.p50 / y.both.p50.max(1e-9),
            x.both.p99,
            y.both.p99
        ));
    }
}

// ---------------------------------------------------------------- soak

async fn soak(ctx: &Ctx, t: &Target, minutes: u64, rate: f64, out: &mut Out) {
    let w = phase(ctx, t, "warm-up", 'W', 20.0, 40, Duration::from_secs(30)).await;
    eprintln!("soak warm-up delivered weibo={}", w.ch[1].delivered);
    let pid = t.pid();
    out.line(&format!(
        "soak: {minutes} min at {rate} msg/s, RSS sampled every minute (VmRSS of pid {pid})"
    ));
    out.line("| minute | published | wechat delivered | weibo delivered | doubled | weibo p50 ms | weibo p99 ms | wechat p99 ms | RSS MiB | anon MiB | file MiB | CPU % (that minute) |");
    out.line("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let sent: Arc<Mutex<Vec<Instant>>> = Arc::new(Mutex::new(Vec::new()));
    let total = (minutes as f64 * 60.0 * rate) as usize;
    let published = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let pubtask = {
        let (client, topic, run) = (ctx.publisher.client.clone(), t.topic.clone(), ctx.run.clone());
        let (sent, published) = (sent.clone(), published.clone());
        tokio::spawn(async move {
            let period = Duration::from_secs_f64(1.0 / rate);
            let base = origin_base();
            for seq in 0..total {
                let payload = quake(&run, &format!("S{seq}"), seq, base);
                tokio::time::sleep_until((t0 + period * seq as u32).into()).await;
                sent.lock().unwrap().push(Instant::now());
                client
                    .publish(topic.clone(), QoS::AtLeastOnce, false, payload)
                    .await
                    .expect("publish");
                published.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let mut rss = Vec::new();
    let mut anon_v = Vec::new();
    let mut cpu_prev = cpu_ticks(pid).unwrap_or(0);
    let mut from = 0usize;
    for m in 1..=minutes {
        tokio::time::sleep_until((t0 + Duration::from_secs(60 * m)).into()).await;
        let cpu = cpu_ticks(pid).unwrap_or(cpu_prev);
        let r = rss_kib(pid).unwrap_or(0);
        let anon = status_kib(pid, "RssAnon").unwrap_or(0);
        let file = status_kib(pid, "RssFile").unwrap_or(0);
        rss.push(r);
        anon_v.push(anon);
        // Latency of the messages published in this minute (most are delivered by now; the
        // last ones a few ms later, so allow a moment).
        tokio::time::sleep(Duration::from_millis(300)).await;
        let times: Vec<Instant> = sent.lock().unwrap()[from..].to_vec();
        let mut lat = [Vec::new(), Vec::new()];
        let mut doubled = 0;
        let mut delivered = [0usize; 2];
        for (i, at) in times.iter().enumerate() {
            for c in 0..2 {
                if let Some((arr, n)) = ctx.rec.arrival(c, &format!("S{}", from + i)) {
                    lat[c].push(arr.saturating_duration_since(*at));
                    delivered[c] += 1;
                    doubled += (n - 1) as usize;
                }
            }
        }
        let [wx, wb] = lat;
        let (wx, wb) = (percentiles(wx), percentiles(wb));
        out.line(&format!(
            "| {m} | {} | {} | {} | {doubled} | {:.2} | {:.2} | {:.2} | {:.1} | {:.1} | {:.1} | {:.1} |",
            times.len(),
            delivered[0],
            delivered[1],
            wb.p50,
            wb.p99,
            wx.p99,
            r as f64 / 1024.0,
            anon as f64 / 1024.0,
            file as f64 / 1024.0,
            (cpu - cpu_prev) as f64 / ctx.tck / 60.0 * 100.0
        ));
        from += times.len();
        cpu_prev = cpu;
    }
    let _ = pubtask.await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let wx = ctx.rec.count_prefix(0, "S");
    let wb = ctx.rec.count_prefix(1, "S");
    let warm = (minutes as usize / 6).max(1).min(rss.len());
    let base = rss[warm - 1] as f64;
    let max_after = rss[warm - 1..].iter().copied().max().unwrap_or(0) as f64;
    let last = *rss.last().unwrap_or(&0) as f64;
    let anon_base = anon_v[warm - 1] as f64;
    let anon_last = *anon_v.last().unwrap_or(&0) as f64;
    out.line("");
    out.line(&format!(
        "soak anon memory (heap): after warm-up {:.1} MiB, last {:.1} MiB (+{:.1} %)",
        anon_base / 1024.0,
        anon_last / 1024.0,
        (anon_last / anon_base - 1.0) * 100.0
    ));
    out.line(&format!(
        "soak summary: published {total}, delivered wechat {wx}, weibo {wb}; RSS after warm-up (minute {warm}) {:.1} MiB, max after {:.1} MiB (+{:.1} %), last {:.1} MiB (+{:.1} %)",
        base / 1024.0,
        max_after / 1024.0,
        (max_after / base - 1.0) * 100.0,
        last / 1024.0,
        (last / base - 1.0) * 100.0
    ));
}

// ---------------------------------------------------------------- main

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = Args::parse();
    if !["all", "run", "burst", "baseline", "soak"].contains(&args.cmd.as_str()) {
        eprintln!(
            "usage: harness all|run|burst|baseline|soak [--rate R] [--count N] [--secs S] [--burst N] \
             [--burst-rate R] [--minutes M] [--target alertd|baseline] [--broker system|private|HOST:PORT] \
             [--alertd PATH] [--out FILE]"
        );
        std::process::exit(2);
    }
    let run = format!("{:x}", jiff::Timestamp::now().as_millisecond());
    let dir = std::env::temp_dir().join(format!("alertd-bench-{run}"));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = args.flags.get("out").map(|p| {
        if let Some(d) = Path::new(p).parent() {
            let _ = std::fs::create_dir_all(d);
        }
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .expect("--out")
    });
    let mut out = Out { file };
    let broker = Broker::start(&args.str("broker", "system"), &dir);
    let alertd_bin = PathBuf::from(args.str(
        "alertd",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../target/release/alertd"),
    ));

    let rec = Arc::new(Recorder::default());
    let fakes = start_fakes(rec.clone()).await;
    let ctx = Ctx {
        publisher: Publisher::start(&broker, &run),
        run: run.clone(),
        rec,
        tck: clk_tck(),
    };
    for l in machine() {
        out.line(&l);
    }
    out.line(&format!(
        "run {run} at {} — {}; store {}",
        jiff::Timestamp::now(),
        broker.label,
        dir.display()
    ));

    let rate = args.get("rate", 50.0);
    let secs = args.get("secs", 60.0);
    let steady = (rate, args.get("count", (rate * secs) as usize));
    let burst = (args.get("burst-rate", 500.0), args.get("burst", 2000usize));

    match args.cmd.as_str() {
        "all" | "baseline" => {
            out.line("");
            table_header(&mut out);
            let mut a = Vec::new();
            if args.cmd == "all" {
                let t = start_alertd(&alertd_bin, &broker, &run, &dir, &fakes).await;
                a = run_system(&ctx, &t, ('V', 'A', 'B'), Some(steady), Some(burst), &mut out).await;
                t.stop();
            }
            let t = start_forwarder(&broker, &run, &fakes).await;
            let b = run_system(&ctx, &t, ('U', 'C', 'D'), Some(steady), Some(burst), &mut out).await;
            t.stop();
            if !a.is_empty() {
                print_ratios(&mut out, &a, &b);
            }
            let walls: Vec<String> = a
                .iter()
                .chain(&b)
                .map(|r| {
                    format!(
                        "{} {}: {:.1} s, broker acked {}/{}",
                        r.system,
                        r.phase,
                        r.wall.as_secs_f64(),
                        r.acked_by_broker,
                        r.sent
                    )
                })
                .collect();
            out.line("");
            for w in walls {
                out.line(&format!("- {w}"));
            }
        }
        "run" | "burst" => {
            let (rate, count) = if args.cmd == "run" {
                steady
            } else {
                (args.get("rate", 500.0), args.get("count", 2000usize))
            };
            out.line("");
            table_header(&mut out);
            let t = if args.str("target", "alertd") == "baseline" {
                start_forwarder(&broker, &run, &fakes).await
            } else {
                start_alertd(&alertd_bin, &broker, &run, &dir, &fakes).await
            };
            let spec = Some((rate, count));
            if args.cmd == "run" {
                run_system(&ctx, &t, ('V', 'A', 'B'), spec, None, &mut out).await;
            } else {
                run_system(&ctx, &t, ('V', 'A', 'B'), None, spec, &mut out).await;
            }
            t.stop();
        }
        "soak" => {
            let t = start_alertd(&alertd_bin, &broker, &run, &dir, &fakes).await;
            soak(
                &ctx,
                &t,
                args.get("minutes", 30u64),
                args.get("rate", 20.0),
                &mut out,
            )
            .await;
            t.stop();
        }
        _ => unreachable!(),
    }
    if args.str("keep", "no") != "yes" {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
