use super::*;
use unicode_properties::{GeneralCategory as G, UnicodeGeneralCategory};

/// The code points of the issue, each of which reached every channel.
const LISTED: &[char] = &[
    '\u{061C}',
    '\u{2028}',
    '\u{2029}',
    '\u{2060}',
    '\u{00AD}',
    '\u{FFF9}',
    '\u{FFFA}',
    '\u{FFFB}',
    '\u{E0001}',
    '\u{E0041}',
    '\u{E007F}',
    '\u{200B}',
    '\u{200D}',
    '\u{202E}',
    '\u{2066}',
    '\u{FEFF}',
    '\u{E000}',
    '\u{F8FF}',
    '\u{F0000}',
    '\u{10FFFD}',
    '\u{FDD0}',
    '\u{FFFE}',
    '\u{FFFF}',
    '\u{1FFFE}',
    '\u{10FFFF}',
    '\u{0007}',
    '\u{0085}',
    '\u{009B}',
    // Found by an attacker after the first list: default-ignorable or blank-rendering.
    '\u{034F}',
    '\u{115F}',
    '\u{1160}',
    '\u{3164}',
    '\u{FFA0}',
    '\u{2800}',
    '\u{FE0F}',
    '\u{180B}',
];

#[test]
fn every_listed_code_point_is_removed() {
    for &c in LISTED {
        let dirty = format!("四川省{c}雅安市");
        assert_eq!(clean(&dirty), "四川省雅安市", "U+{:04X} survived", c as u32);
        assert_eq!(shown(&dirty), "四川省雅安市", "U+{:04X} shown", c as u32);
    }
}

#[test]
fn chinese_text_spaces_and_cjk_punctuation_survive_untouched() {
    let s = "【地震速报】四川省雅安市芦山县（北纬30.30度，东经103.00度）发生7.0级地震。“不信谣、不传谣”！ 请关注：官方发布…… 𠀀𪚥 Ａ１ a b\u{3000}c";
    assert_eq!(clean(s), s);
    assert!(matches!(shown(s), Cow::Borrowed(_)));
}

#[test]
fn newlines_fold_to_spaces_and_ends_are_trimmed() {
    assert_eq!(clean(" 芦山\u{0007}县\u{202e}\n余震\r\n\t"), "芦山县 余震");
}

#[test]
fn text_is_bounded() {
    assert_eq!(
        clean(&"震".repeat(MAX_TEXT_LEN + 10)).chars().count(),
        MAX_TEXT_LEN
    );
}

/// Every code point of the removed categories, not only the ones anybody thought of.
#[test]
fn every_code_point_of_the_removed_categories_is_removed_and_nothing_else() {
    let mut removed = 0usize;
    for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
        let gone = matches!(
            c.general_category(),
            G::Control
                | G::Format
                | G::Surrogate
                | G::PrivateUse
                | G::Unassigned
                | G::LineSeparator
                | G::ParagraphSeparator
        ) || DEFAULT_IGNORABLE.contains(c)
            || c == '\u{2800}';
        let s = format!("甲{c}乙");
        let out = clean(&s);
        if gone {
            removed += 1;
            let expect = if matches!(c, '\n' | '\r' | '\t') {
                "甲 乙"
            } else {
                "甲乙"
            };
            assert_eq!(
                out,
                expect,
                "U+{:04X} ({:?}) survived",
                c as u32,
                c.general_category()
            );
            assert!(!shown(&s).contains(c), "U+{:04X} shown", c as u32);
        } else {
            assert_eq!(
                out,
                s,
                "U+{:04X} ({:?}) was touched",
                c as u32,
                c.general_category()
            );
        }
    }
    // Sanity: the categories are not empty (Co alone has 137,468 code points).
    assert!(removed > 900_000, "{removed}");
}
