//! Fitting text to a platform's length limit.
//!
//! Weibo's share.json allows 140 characters and requires a link on the app's safe domain. We
//! count every Unicode character as one — the platform's exact rule for mixed text is not
//! documented (platforms.md §9.1), and counting each as one never overshoots. Templates offer
//! shorter forms through `fit` (0 = full, 1 = shorter, 2 = facts only); the first that fits is
//! used. The text is never cut: a too-long shortest form is an error the officer sees.

use super::{ComposeError, Composer};

pub const MAX_FIT: u8 = 2;

pub fn char_count(s: &str) -> usize {
    s.chars().count()
}

pub fn weibo(
    c: &Composer,
    name: &str,
    ctx: &minijinja::Value,
    max: usize,
    link: Option<&str>,
) -> Result<String, ComposeError> {
    let mut last = 0;
    for fit in 0..=MAX_FIT {
        let mut text = c.render(name, ctx, fit)?;
        if let Some(link) = link.filter(|l| !text.contains(*l)) {
            // share.json rejects a post without the safe-domain link (10017).
            text = format!("{text} {link}");
        }
        let text = no_topics(&text);
        last = char_count(&text);
        if last <= max {
            return Ok(text);
        }
    }
    Err(ComposeError::TooLong {
        channel: "weibo".into(),
        chars: last,
        max,
    })
}

/// `#话题#` is not allowed on share.json; a lone `#` from a feed value could form one.
fn no_topics(s: &str) -> String {
    if s.matches('#').count() >= 2 {
        s.replace('#', "＃")
    } else {
        s.to_string()
    }
}

/// An officer's own text for Weibo: the link appended if missing, never shortened.
pub fn verbatim(text: &str, link: Option<&str>, max: usize) -> Result<String, ComposeError> {
    let mut t = text.trim().to_string();
    if let Some(link) = link.filter(|l| !t.contains(*l)) {
        t = format!("{t} {link}");
    }
    let t = no_topics(&t);
    let n = char_count(&t);
    if n > max {
        return Err(ComposeError::TooLong {
            channel: "weibo".into(),
            chars: n,
            max,
        });
    }
    Ok(t)
}
