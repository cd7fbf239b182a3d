//! The alertd configuration the benchmark runs the daemon with, in one place: every setting the
//! measurement depends on (the flood guard opened, `match_window_secs = 0`, the log level) is
//! here and nowhere else, so that this module can later be replaced by the shared test config
//! builder without hunting for TOML elsewhere in the harness.

use std::path::{Path, PathBuf};

/// What varies from run to run; everything else in the config is fixed for comparability.
pub struct BenchConfig<'a> {
    pub mqtt_host: &'a str,
    pub mqtt_port: u16,
    /// The run id: keeps client ids and topics of concurrent or leftover runs apart.
    pub run: &'a str,
    /// The run's directory; the store lives in it.
    pub dir: &'a Path,
    pub wechat_base: &'a str,
    pub weibo_base: &'a str,
}

/// The topic the harness publishes to; it lies under the one `alertd_toml` subscribes to.
pub fn publish_topic(run: &str) -> String {
    format!("bench/{run}/alertd/feeds/seismic/cenc")
}

/// Writes `alertd.toml` into the run's directory and returns its path.
pub fn write(c: &BenchConfig) -> std::io::Result<PathBuf> {
    let path = c.dir.join("alertd.toml");
    std::fs::write(&path, alertd_toml(c))?;
    Ok(path)
}

/// The daemon's configuration for the benchmark, as TOML.
pub fn alertd_toml(c: &BenchConfig) -> String {
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
        host = c.mqtt_host,
        port = c.mqtt_port,
        run = c.run,
        wechat = c.wechat_base,
        weibo = c.weibo_base,
        store = c.dir.join("alertd.db").display(),
    )
}
