//! A sender name that claims an agency its sender id is not.
//!
//! The public reads the sender's *name* (中国地震台网中心正式测定…), while trust binds to the id
//! and the key. An unsigned message from `cenc-official` named 中国地震台网中心 was published as
//! CENC's. The names below belong to the agencies whose reports alertd knows by id; a message
//! whose name contains one of them must carry that agency's id, or it is refused naming the
//! field. (A relay's messages carry the agency's id: the relay decoders set it.) Only seismic
//! agencies are listed: a weather office's name (成都市气象台) is written by many senders, and
//! CMA's own CAP ids are not known here.

use super::{DecodeError, Event};

/// (a name the public trusts, the only sender id that may use it): the names the public knows
/// each agency by, simplified and traditional, Chinese and English. Compared after NFKC (so the
/// Kangxi radical ⽹ U+2F79 reads as 网), lowercase, without spaces and punctuation, as
/// substrings: a name containing 中国地震台网 claims 中国地震台网中心. There is no maintained
/// traditional→simplified crate in the tree, so the traditional spellings are listed.
const PROTECTED: &[(&str, &str)] = &[
    ("中国地震台网", "cenc"),
    ("中國地震台網", "cenc"),
    ("国家地震台网", "cenc"),
    ("國家地震台網", "cenc"),
    ("China Earthquake Networks", "cenc"),
    ("中国地震预警网", "cea-eew"),
    ("中國地震預警網", "cea-eew"),
    ("中国地震局", "cea"),
    ("中國地震局", "cea"),
    ("China Earthquake Administration", "cea"),
    ("美国地质调查局", "usgs"),
    ("美國地質調查局", "usgs"),
    ("美国地质勘探局", "usgs"),
    ("美國地質勘探局", "usgs"),
    ("USGS", "usgs"),
    ("Geological Survey", "usgs"),
];

/// [`PROTECTED`]'s names folded, once (every message is checked against all of them).
static FOLDED: std::sync::LazyLock<Vec<String>> =
    std::sync::LazyLock::new(|| PROTECTED.iter().map(|(n, _)| fold(n)).collect());

/// NFKC, lowercase, no whitespace or punctuation.
fn fold(s: &str) -> String {
    icu_normalizer::ComposingNormalizerBorrowed::new_nfkc()
        .normalize(s)
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_ascii_punctuation())
        .flat_map(char::to_lowercase)
        .collect()
}

pub fn check(ev: &Event) -> Result<(), DecodeError> {
    let Some(name) = ev.sender.name.as_deref() else {
        return Ok(());
    };
    let name = fold(name);
    for ((agency, id), folded) in PROTECTED.iter().zip(FOLDED.iter()) {
        if name.contains(folded.as_str()) && !ev.sender.id.eq_ignore_ascii_case(id) {
            return Err(DecodeError::field(
                "sender.name",
                format!(
                    "names {agency}, whose sender id is {id:?}, but the message's sender id is {:?}",
                    crate::text::shown(&ev.sender.id)
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::decode;

    fn named(id: &str, name: &str) -> Event {
        let json = include_str!("../../alerts/samples/lushan-2013.json")
            .replace(r#""id": "cenc""#, &format!(r#""id": "{id}""#))
            .replace("中国地震台网中心", name);
        decode(json.as_bytes(), 1 << 20).unwrap()
    }

    #[test]
    fn an_agencys_name_needs_its_id() {
        assert!(check(&named("cenc", "中国地震台网中心")).is_ok());
        assert!(check(&named("usgs", "美国地质调查局（USGS）")).is_ok());
        assert!(check(&named("sc-eew", "四川省地震局")).is_ok());
        for (id, name) in [
            ("cenc-official", "中国地震台网中心"),
            ("evil", "中国 地震台网"),
            ("evil", "转自中国地震局"),
            ("cea", "中国地震预警网"),
            ("x1", "中國地震台網中心"),
            ("x2", "中国地震台\u{2F79}中心"),
            ("x3", "美国地质勘探局"),
            ("x4", "USGS"),
            ("x5", "U.S. Geological Survey"),
            ("x6", "China Earthquake Networks Center"),
            ("x7", "国家地震台网"),
        ] {
            let e = check(&named(id, name)).expect_err(name).to_string();
            assert!(e.starts_with("field `sender.name`"), "{e}");
        }
    }
}
