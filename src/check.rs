//! `alertd check`: everything that can be wrong before a real event arrives — the config, the
//! secrets' files, every template rendered against every sample message in `alerts/samples/`
//! for every channel, including Weibo's length limit, and every alert template for every kind ×
//! action × class × channel ([`matrix`]), including a cancel that carries no facts of its own.
//! Each problem names its location.

mod matrix;

use crate::compose::Composer;
use crate::config::{ChannelKindConfig, Config};
use crate::render::Renderer;
use std::path::{Path, PathBuf};

/// Built-in samples, used when `compose.alerts_dir` is not set.
const BUILTIN_SAMPLES: &[(&str, &str)] = &[
    (
        "lushan-2013.json",
        include_str!("../alerts/samples/lushan-2013.json"),
    ),
    (
        "lushan-2013-update.json",
        include_str!("../alerts/samples/lushan-2013-update.json"),
    ),
    (
        "routine-quake.json",
        include_str!("../alerts/samples/routine-quake.json"),
    ),
    (
        "rainstorm-red.json",
        include_str!("../alerts/samples/rainstorm-red.json"),
    ),
    (
        "rainstorm-cancel.json",
        include_str!("../alerts/samples/rainstorm-cancel.json"),
    ),
];

/// Returns every problem found (empty: all good) and a line per sample checked.
pub fn check(cfg: &Config) -> (Vec<String>, Vec<String>) {
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    // Every file the daemon reads at start, so `run` does not die on them one per start.
    let mut files: Vec<(String, &Path)> = Vec::new();
    for (name, ch) in &cfg.channels {
        let (key, file) = match &ch.kind {
            ChannelKindConfig::Wechat(w) => ("secret_file", &w.secret_file),
            ChannelKindConfig::Webhook(w) => ("secret_file", &w.secret_file),
            ChannelKindConfig::Weibo(w) => ("access_token_file", &w.access_token_file),
            ChannelKindConfig::Wecom(w) => ("key_file", &w.key_file),
            ChannelKindConfig::Website(_) => continue,
        };
        if let Some(p) = file {
            files.push((format!("channels.{name}.{key}"), p));
        }
    }
    for (name, k) in &cfg.feed_keys {
        if let Some(p) = &k.secret_file {
            files.push((format!("feed_keys.{name}.secret_file"), p));
        }
    }
    let m = &cfg.mqtt;
    for (key, file) in [
        ("password_file", &m.password_file),
        ("ca_file", &m.ca_file),
        ("client_cert_file", &m.client_cert_file),
        ("client_key_file", &m.client_key_file),
    ] {
        if let Some(p) = file {
            files.push((format!("mqtt.{key}"), p));
        }
    }
    for (at, p) in files {
        if let Err(e) = std::fs::File::open(p) {
            problems.push(format!("{at}: {}: {e}", p.display()));
        }
    }
    let samples = match load_samples(cfg.compose.alerts_dir.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            problems.push(e);
            return (problems, notes);
        }
    };
    let mut renderer = match Renderer::new(cfg) {
        Ok(r) => r,
        Err(e) => {
            problems.push(e.to_string());
            return (problems, notes);
        }
    };
    // Samples run in order through one scratch store, so updates and cancels find their alert.
    // In the order they were sent, through one scratch store: updates and cancels find their
    // alert, and each is judged at its own time.
    for (name, bytes) in crate::replay::in_sent_order(samples) {
        match renderer.render("check", &bytes) {
            Ok(r) => {
                for d in r.events.iter().flat_map(|(_, d)| d) {
                    if d.status == crate::store::outbox::Status::Failed {
                        problems.push(format!("sample {name}, channel {}: {}", d.channel, d.decision));
                    }
                }
                if let crate::pipeline::Outcome::Rejected { reason, .. } = &r.outcome {
                    problems.push(format!("sample {name}: rejected: {reason}"));
                }
                notes.push(format!("{name}: {}", r.lines().join(" | ")));
            }
            Err(e) => problems.push(format!("sample {name}: {e}")),
        }
    }
    // Renderer::new loaded the same templates, so this load succeeds.
    if let Ok(composer) = Composer::load(cfg.compose.alerts_dir.as_deref()) {
        let (found, renderings) = matrix::run(cfg, &composer);
        if found.is_empty() {
            notes.push(format!(
                "templates: quake and weather × alert, update, cancel (with facts, without: from the stored alert, and with none stored) × emergency, routine, info × every channel: {renderings} renderings"
            ));
        }
        problems.extend(found);
    }
    (problems, notes)
}

fn load_samples(dir: Option<&Path>) -> Result<Vec<(String, Vec<u8>)>, String> {
    let Some(dir) = dir else {
        return Ok(BUILTIN_SAMPLES
            .iter()
            .map(|(n, s)| (n.to_string(), s.as_bytes().to_vec()))
            .collect());
    };
    let sdir = dir.join("samples");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&sdir)
        .map_err(|e| format!("{}: {e}", sdir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(format!(
            "{}: no sample messages to check the templates against",
            sdir.display()
        ));
    }
    paths
        .into_iter()
        .map(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            std::fs::read(&p)
                .map(|b| (name, b))
                .map_err(|e| format!("{}: {e}", p.display()))
        })
        .collect()
}
