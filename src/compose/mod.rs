//! Compose: an assessed event becomes the exact text each channel sends.
//!
//! Templates are minijinja files in `alerts/templates/`, `{kind}.{channel}.j2` (the built-in
//! copies are compiled into the binary, so the quickstart needs no files). Undefined variables
//! are errors, and each render has a fuel limit, so a template mistake is found by
//! `alertd check`, not by the public. Feed values reach templates only sanitised (see
//! [`context`]), and links only from the allowlist.

pub mod context;
pub mod fit;
pub mod link;
pub mod place;
pub mod source;

use crate::config::ChannelKind;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ComposeError {
    #[error("template {name}: {msg}")]
    Template { name: String, msg: String },
    #[error("cannot read templates in {dir}: {msg}")]
    Load { dir: String, msg: String },
    #[error("{channel} text is {chars} characters even at its shortest form; the limit is {max}")]
    TooLong {
        channel: String,
        chars: usize,
        max: usize,
    },
}

/// Built-in templates, used when `compose.alerts_dir` is not set.
macro_rules! builtin {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../alerts/templates/", $name)))),*]
    };
}

const BUILTIN: &[(&str, &str)] = builtin!(
    "quake.wechat.j2",
    "quake.weibo.j2",
    "weather.wechat.j2",
    "weather.weibo.j2",
    "digest.wechat.j2",
    "digest.weibo.j2",
);

/// Every template a configuration needs, by kind and channel.
pub const REQUIRED: &[&str] = &[
    "quake.wechat.j2",
    "quake.weibo.j2",
    "weather.wechat.j2",
    "weather.weibo.j2",
    "digest.wechat.j2",
    "digest.weibo.j2",
];

/// Enough for any alert template; a runaway loop stops here instead of hanging the pipeline.
const FUEL: u64 = 100_000;

pub struct Composer {
    env: Environment<'static>,
}

impl Composer {
    pub fn builtin() -> Self {
        let mut env = base_env();
        for (name, src) in BUILTIN {
            // The built-in templates are tested; a failure here is a build defect.
            env.add_template_owned(name.to_string(), src.to_string())
                .unwrap_or_else(|e| panic!("built-in template {name}: {e}"));
        }
        Self { env }
    }

    /// Loads `dir/templates/*.j2`. Syntax errors are reported with template name and line.
    pub fn from_dir(dir: &Path) -> Result<Self, ComposeError> {
        let tdir = dir.join("templates");
        let load = |e: std::io::Error| ComposeError::Load {
            dir: tdir.display().to_string(),
            msg: e.to_string(),
        };
        let mut env = base_env();
        for entry in std::fs::read_dir(&tdir).map_err(load)? {
            let path = entry.map_err(load)?.path();
            let Some(name) = path
                .file_name()
                .and_then(|n| n.to_str())
                .filter(|n| n.ends_with(".j2"))
            else {
                continue;
            };
            let src = std::fs::read_to_string(&path).map_err(load)?;
            env.add_template_owned(name.to_string(), src)
                .map_err(|e| template_error(name, &e))?;
        }
        let c = Self { env };
        for name in REQUIRED {
            if c.env.get_template(name).is_err() {
                return Err(ComposeError::Template {
                    name: name.to_string(),
                    msg: format!("missing in {}", tdir.display()),
                });
            }
        }
        Ok(c)
    }

    pub fn load(alerts_dir: Option<&Path>) -> Result<Self, ComposeError> {
        match alerts_dir {
            Some(d) => Self::from_dir(d),
            None => Ok(Self::builtin()),
        }
    }

    pub fn template_names(&self) -> Vec<String> {
        self.env.templates().map(|(n, _)| n.to_string()).collect()
    }

    /// Renders `name` with the context and `fit` level.
    pub fn render(&self, name: &str, ctx: &minijinja::Value, fit: u8) -> Result<String, ComposeError> {
        let t = self
            .env
            .get_template(name)
            .map_err(|e| template_error(name, &e))?;
        let ctx = minijinja::context! { fit => fit, ..ctx.clone() };
        let out = t.render(ctx).map_err(|e| template_error(name, &e))?;
        Ok(tidy(&out))
    }

    /// The text for one channel, fitted to its limits.
    pub fn compose(
        &self,
        kind: &str,
        channel: ChannelKind,
        ctx: &minijinja::Value,
        weibo_max: usize,
        link: Option<&str>,
    ) -> Result<String, ComposeError> {
        match channel {
            // Staff channels and the website carry the full text.
            ChannelKind::Wechat | ChannelKind::Wecom | ChannelKind::Webhook | ChannelKind::Website => {
                self.render(&format!("{kind}.wechat.j2"), ctx, 0)
            }
            ChannelKind::Weibo => fit::weibo(self, &format!("{kind}.weibo.j2"), ctx, weibo_max, link),
        }
    }
}

fn base_env() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_keep_trailing_newline(false);
    env
}

fn template_error(name: &str, e: &minijinja::Error) -> ComposeError {
    let line = e.line().map(|l| format!("line {l}: ")).unwrap_or_default();
    let detail = e.detail().map(|d| format!(" ({d})")).unwrap_or_default();
    ComposeError::Template {
        name: name.to_string(),
        msg: format!("{line}{}{detail}", e.kind()),
    }
}

/// Trims trailing spaces on each line and blank lines at either end.
fn tidy(s: &str) -> String {
    s.lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests;
