//! The one sanitiser for everything a feed supplies and alertd shows: the texts sent to WeChat,
//! Weibo and the website (page title, CAP `headline`, Atom `title`), and the ids and topics in
//! logs and `alertd status`.
//!
//! What is removed is decided by Unicode general category (from `unicode-properties`, kept
//! current with the standard), not by a hand list, because a hand list always misses the next
//! invisible character: every code point of the *Other* group — controls (Cc), format
//! characters (Cf: bidi controls, zero-width characters, U+061C, U+2060, U+00AD, U+FFF9–FFFB,
//! the tag characters U+E0001/U+E0020–E007F), surrogates (Cs), private use (Co), unassigned
//! code points and noncharacters (Cn) — and the line and paragraph separators (Zl, Zp). Each of
//! these is either invisible, renders differently per client, or can reorder or hide the text
//! around it. Also every Default_Ignorable_Code_Point (ICU4X's data: U+034F, the Hangul fillers,
//! variation selectors) and U+2800, which render as nothing or as a blank. Letters (all of
//! Chinese), marks, numbers, punctuation (CJK included), symbols and ordinary spaces are
//! untouched.

use std::borrow::Cow;
use unicode_properties::{GeneralCategory, GeneralCategoryGroup, UnicodeGeneralCategory};

/// Longest feed text kept, in characters; a place or headline longer than this is not text a
/// person wrote for an alert.
pub const MAX_TEXT_LEN: usize = 4000;

/// True for a code point that must never reach a reader (see the module docs).
pub fn is_hidden(c: char) -> bool {
    c.general_category_group() == GeneralCategoryGroup::Other
        || matches!(
            c.general_category(),
            GeneralCategory::LineSeparator | GeneralCategory::ParagraphSeparator
        )
        || DEFAULT_IGNORABLE.contains(c)
        // BRAILLE PATTERN BLANK renders as a space in every font yet is a symbol (So) and not
        // default-ignorable, so no property catches it; it is the usual "invisible name" trick.
        || c == '\u{2800}'
}

/// Unicode's Default_Ignorable_Code_Point (ICU4X data, current with the standard): what a
/// renderer shows as nothing, beyond the format characters — U+034F COMBINING GRAPHEME JOINER,
/// the Hangul fillers U+115F, U+1160, U+3164, U+FFA0, the variation selectors.
static DEFAULT_IGNORABLE: icu_properties::CodePointSetDataBorrowed<'static> =
    icu_properties::CodePointSetData::new::<icu_properties::props::DefaultIgnorableCodePoint>();

/// A feed text value as alertd keeps it: newlines and tabs folded to spaces (as the feeds use
/// them for layout, not meaning), hidden code points removed, bounded, trimmed.
pub fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if matches!(c, '\n' | '\r' | '\t') { ' ' } else { c })
        .filter(|c| !is_hidden(*c))
        .take(MAX_TEXT_LEN)
        .collect::<String>()
        .trim()
        .to_string()
}

/// An id or topic as shown in a log line or `alertd status`: hidden code points removed (so a
/// U+202E in a topic cannot reverse the rest of the line for the officer reading it), nothing
/// else changed. Borrowed when there is nothing to remove, which is always for honest feeds.
pub fn shown(s: &str) -> Cow<'_, str> {
    if s.chars().any(is_hidden) {
        Cow::Owned(s.chars().filter(|c| !is_hidden(*c)).collect())
    } else {
        Cow::Borrowed(s)
    }
}

#[cfg(test)]
mod tests;
