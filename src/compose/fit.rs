//! Fitting text to a platform's length limit.
//!
//! Weibo's share.json allows 140 characters and requires a link on the app's safe domain. We
//! count every Unicode character as one — the platform's exact rule for mixed text is not
//! documented (platforms.md §9.1), and counting each as one never overshoots. Templates offer
//! shorter forms through `fit` (0 = full, 1 = shorter, 2 = facts only); the first that fits is
//! used. If even the facts-only form is too long, it is the feed's free text that is too long —
//! a place name of hundreds of characters — and an emergency must not go unposted for that: the
//! place, then the headline, is cut with "…" just enough to fit (the link leads to the whole
//! text). Time, magnitude, depth and distance are never cut. Only a text still too long with
//! both cut to "…" (a template or config problem `alertd check` reports) is an error.

use super::{ComposeError, Composer};
use minijinja::value::{merge_maps, Value};
use unicode_segmentation::UnicodeSegmentation;

pub const MAX_FIT: u8 = 2;

/// The feed's free text a shortest form may carry, in the order it is cut: the place (a quake's
/// epicentre, a warning's area), then the headline.
const CUTTABLE: &[(&str, &str)] = &[("quake", "place"), ("weather", "area"), ("weather", "headline")];

const ELLIPSIS: &str = "…";

pub fn char_count(s: &str) -> usize {
    s.chars().count()
}

pub fn weibo(
    c: &Composer,
    name: &str,
    ctx: &Value,
    max: usize,
    link: Option<&str>,
) -> Result<String, ComposeError> {
    let mut last = 0;
    for fit in 0..=MAX_FIT {
        let text = post(c, name, ctx, fit, link)?;
        last = char_count(&text);
        if last <= max {
            return Ok(text);
        }
    }
    let mut ctx = ctx.clone();
    for &(obj, field) in CUTTABLE {
        let Some(full) = string_at(&ctx, obj, field).filter(|s| !s.is_empty()) else {
            continue;
        };
        let graphemes: Vec<&str> = full.graphemes(true).collect();
        let with = |keep: usize| {
            let cut = format!("{}{ELLIPSIS}", graphemes[..keep].concat().trim_end());
            replace(&ctx, obj, field, cut)
        };
        // The longest prefix that fits: the length grows with `keep`, so bisect.
        let (mut lo, mut hi) = (0usize, graphemes.len().saturating_sub(1));
        let shortest = with(0);
        let text = post(c, name, &shortest, MAX_FIT, link)?;
        last = char_count(&text);
        if last > max {
            // Even "…" alone is too long: cut the next field too.
            ctx = shortest;
            continue;
        }
        let mut best = text;
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            let text = post(c, name, &with(mid), MAX_FIT, link)?;
            if char_count(&text) <= max {
                lo = mid;
                best = text;
            } else {
                hi = mid - 1;
            }
        }
        return Ok(best);
    }
    Err(ComposeError::TooLong {
        channel: "weibo".into(),
        chars: last,
        max,
    })
}

/// One rendering as it would be posted: the link appended if the template left it out.
fn post(c: &Composer, name: &str, ctx: &Value, fit: u8, link: Option<&str>) -> Result<String, ComposeError> {
    let mut text = c.render(name, ctx, fit)?;
    if let Some(link) = link.filter(|l| !text.contains(*l)) {
        // share.json rejects a post without the safe-domain link (10017).
        text = format!("{text} {link}");
    }
    Ok(no_topics(&text))
}

fn string_at(ctx: &Value, obj: &str, field: &str) -> Option<String> {
    let v = ctx.get_attr(obj).ok()?.get_attr(field).ok()?;
    v.as_str().map(str::to_string)
}

/// `ctx` with `obj.field` set to `value`, everything else as it was.
fn replace(ctx: &Value, obj: &str, field: &str, value: String) -> Value {
    // In a merge the last map that has the key wins.
    let inner = ctx.get_attr(obj).unwrap_or_default();
    let inner = merge_maps([inner, Value::from_iter([(field.to_string(), Value::from(value))])]);
    merge_maps([ctx.clone(), Value::from_iter([(obj.to_string(), inner)])])
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
