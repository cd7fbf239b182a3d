//! Fitting text to a platform's length limit.
//!
//! Weibo's share.json allows 140 characters and requires a link on the app's safe domain. We
//! count every Unicode character as one — the platform's exact rule for mixed text is not
//! documented (docs/platforms.md §9.1), and counting each as one never overshoots. Templates offer
//! shorter forms through `fit` (0 = full, 1 = shorter, 2 = facts only); the first that fits is
//! used. If even the facts-only form is too long, it is the feed's free text that is too long —
//! a place name of hundreds of characters — and an emergency must not go unposted for that: the
//! place, then the headline, is cut with "…" just enough to fit (the link leads to the whole
//! text). If that is not enough, other feed text is at fault (a sender name of hundreds of
//! characters), and every feed text value is capped at one length. Time, magnitude, depth and
//! distance are never cut. Then a template's `{{ web }}` (the feed's link) is left out, and
//! everything tried again. Only a text still too long with every feed value cut to "…" (the
//! template's own words, the city or the link: a problem `alertd check` reports) is an error.

use super::{ComposeError, Composer};
use minijinja::value::{merge_maps, Value};
use unicode_segmentation::UnicodeSegmentation;

pub const MAX_FIT: u8 = 2;

/// The feed's free text a shortest form may carry, in the order it is cut: the place (a quake's
/// epicentre, a warning's area), then the headline.
const CUTTABLE: &[&[&str]] = &[
    &["quake", "place"],
    &["weather", "area"],
    &["weather", "headline"],
];

/// Feed text that is not expected to be long, cut only when it is (a sender name or warning
/// type of hundreds of characters), together with the above.
const OTHER_FREE_TEXT: &[&[&str]] = &[
    &["quake", "mag_type"],
    &["weather", "type_name"],
    &["weather", "type_code"],
    &["weather", "description"],
    &["source"],
    &["source_short"],
];

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
    let fits = |ctx: &Value| -> Result<Option<String>, ComposeError> {
        let text = post(c, name, ctx, MAX_FIT, link)?;
        Ok((char_count(&text) <= max).then_some(text))
    };
    // The place, then the headline, each cut only once the one before is down to "…".
    let mut cut = ctx.clone();
    for path in CUTTABLE {
        let Some(full) = string_at(&cut, path) else {
            continue;
        };
        let graphemes: Vec<&str> = full.graphemes(true).collect();
        let with = |keep: usize| replace(&cut, path, shortened(&graphemes, keep));
        if let Some(text) = longest(graphemes.len(), |keep| fits(&with(keep)))? {
            return Ok(text);
        }
        cut = with(0);
    }
    // Still too long: other feed text is. Cap every free-text value at the same length, so a
    // short place is kept whole beside a garbage sender name.
    let values: Vec<(&[&str], String)> = CUTTABLE
        .iter()
        .chain(OTHER_FREE_TEXT)
        .filter_map(|p| Some((*p, string_at(ctx, p)?)))
        .collect();
    let fields: Vec<(&[&str], Vec<&str>)> = values
        .iter()
        .map(|(p, s)| (*p, s.graphemes(true).collect()))
        .collect();
    let widest = fields.iter().map(|(_, g)| g.len()).max().unwrap_or(0);
    let capped = |n: usize| {
        fields.iter().fold(ctx.clone(), |acc, (p, g)| {
            if g.len() > n {
                replace(&acc, p, shortened(g, n))
            } else {
                acc
            }
        })
    };
    if let Some(text) = longest(widest, |n| fits(&capped(n)))? {
        return Ok(text);
    }
    // A template that prints the feed's `web` link: the feed chose its length, so it is left
    // out rather than the post, and everything tried again without it (once: then it is "").
    if string_at(ctx, &["web"]).is_some() {
        return weibo(c, name, &replace(ctx, &["web"], String::new()), max, link);
    }
    Err(ComposeError::TooLong {
        channel: "weibo".into(),
        chars: last,
        max,
    })
}

/// The first `keep` graphemes (never half a combined character) and the ellipsis.
fn shortened(graphemes: &[&str], keep: usize) -> String {
    format!(
        "{}{ELLIPSIS}",
        graphemes[..keep.min(graphemes.len())].concat().trim_end()
    )
}

/// The text for the largest `k` in `0..len` that fits, if any does. A longer `k` never makes the
/// text shorter, so bisect.
fn longest(
    len: usize,
    mut fits: impl FnMut(usize) -> Result<Option<String>, ComposeError>,
) -> Result<Option<String>, ComposeError> {
    let Some(mut best) = fits(0)? else {
        return Ok(None);
    };
    let (mut lo, mut hi) = (0usize, len.saturating_sub(1));
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        match fits(mid)? {
            Some(text) => {
                lo = mid;
                best = text;
            }
            None => hi = mid - 1,
        }
    }
    Ok(Some(best))
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

fn string_at(ctx: &Value, path: &[&str]) -> Option<String> {
    let mut v = ctx.clone();
    for key in path {
        v = v.get_attr(key).ok()?;
    }
    v.as_str().filter(|s| !s.is_empty()).map(str::to_string)
}

/// `ctx` with the value at `path` set to `value`, everything else as it was.
fn replace(ctx: &Value, path: &[&str], value: String) -> Value {
    match path {
        [] => Value::from(value),
        [key, rest @ ..] => {
            let inner = replace(&ctx.get_attr(key).unwrap_or_default(), rest, value);
            // In a merge the last map that has the key wins.
            merge_maps([ctx.clone(), Value::from_iter([(key.to_string(), inner)])])
        }
    }
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
