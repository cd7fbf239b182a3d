//! CENC's own id for a quick report, whichever relay carried it.
//!
//! CENC numbers a quick report `<type>.<YYYYMMDDhhmmss>` in Beijing time, with `AU` for the
//! automatic solution and `CC` for the formal one (正式测定). The relays pass that id on with their
//! own decorations, so one report arrives under several spellings (docs/sources.md §2):
//!
//! | relay | id as sent | CENC's id |
//! |---|---|---|
//! | FAN Studio `/cenc` | `CC.20251004000748.000_I` | `CC.20251004000748` |
//! | Wolfx `cenc_eqlist` | `CC.20260718185522.2` | `CC.20260718185522` |
//! | CENC app | `AUAU.20230406192254.V.001` | `AU.20230406192254` |
//! | cenc.ac.cn open data | `CC1774327070000` (epoch ms) | `CC.20260324123750` |
//! | ceic speedsearch | `CD20230419082211` (`CATA_ID` `CD20230419082211.00`) | `CD.20230419082211` |
//!
//! Without this, one report through Wolfx and FAN Studio would be two events of one sender with
//! different ids — which `assess::same_quake` rightly treats as two quakes — and the public would
//! get the same quake twice. The id the relay sent stays an alias, so a relay's own later
//! reference still finds the event. An id that matches none of these shapes is kept as sent: it
//! is then the relay's id, and only an alias or the automatic/formal pairing can join it.
//!
//! Early-warning ids (`202607181347.0001`) need nothing: Wolfx and FAN Studio pass CEA's id
//! unchanged. Written by hand because it is four string shapes, not a grammar.

use crate::clock::beijing;

/// CENC's canonical id for `raw`, or `None` when `raw` is not in one of CENC's shapes.
pub fn canonical(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let letters = raw.bytes().take_while(u8::is_ascii_uppercase).count();
    let (prefix, rest) = raw.split_at(letters);
    let prefix = match prefix {
        // The app doubles the prefix (`AUAU.…`, `CCCC.…`).
        "CC" | "CCCC" => "CC",
        "AU" | "AUAU" => "AU",
        "CD" => "CD",
        _ => return None,
    };
    let rest = rest.strip_prefix('.').unwrap_or(rest);
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (stamp, tail) = rest.split_at(digits);
    // What may follow the stamp: a relay's sequence or flag (`.2`, `.000_I`, `.V.001`, `.00`).
    if !(tail.is_empty() || tail.starts_with('.') || tail.starts_with('_')) {
        return None;
    }
    let stamp = match stamp.len() {
        14 if plausible(stamp) => stamp.to_string(),
        // Open data: the origin time as epoch milliseconds.
        13 => {
            let ms: i64 = stamp.parse().ok()?;
            let z = jiff::Timestamp::from_millisecond(ms).ok()?.to_zoned(beijing());
            z.strftime("%Y%m%d%H%M%S").to_string()
        }
        _ => return None,
    };
    Some(format!("{prefix}.{stamp}"))
}

/// A 14-digit stamp that reads as a date and time (a relay's serial number does not).
fn plausible(s: &str) -> bool {
    let n = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<u32>().ok());
    matches!(
        (n(0..4), n(4..6), n(6..8), n(8..10), n(10..12), n(12..14)),
        (
            Some(1900..=2199),
            Some(1..=12),
            Some(1..=31),
            Some(0..=23),
            Some(0..=59),
            Some(0..=60)
        )
    )
}

#[cfg(test)]
mod tests {
    use super::canonical;

    #[test]
    fn every_relay_spelling_of_a_cenc_id_gives_cencs_own() {
        for (raw, want) in [
            ("CC.20251004000748.000_I", "CC.20251004000748"),
            ("CC.20251004000748", "CC.20251004000748"),
            ("CC.20260718185522.2", "CC.20260718185522"),
            ("AUAU.20230406192254.V.001", "AU.20230406192254"),
            ("AU.20230406192254", "AU.20230406192254"),
            ("CCCC.20170808211946.V.001", "CC.20170808211946"),
            ("CC1774327070000", "CC.20260324123750"),
            ("CD20230419082211", "CD.20230419082211"),
            ("CD20230419082211.00", "CD.20230419082211"),
        ] {
            assert_eq!(canonical(raw).as_deref(), Some(want), "{raw}");
        }
    }

    #[test]
    fn ids_in_other_shapes_are_left_alone() {
        for raw in [
            "202607181347.0001",
            "us7000abcd",
            "CC.2025",
            "CC.99999999999999",
            "CCX.20251004000748",
            "CC.20251004000748x",
            "cc.20251004000748",
            "",
            "CC.２０２５１００４０００７４８",
        ] {
            assert_eq!(canonical(raw), None, "{raw}");
        }
    }
}
