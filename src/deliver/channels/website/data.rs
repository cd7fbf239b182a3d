//! What the website shows, read from the store: the alert being delivered, its event's chain of
//! revisions (alert, updates, cancellation) and the recent alerts for the index and the feed.
//! The rows come from the store (`store::published`): each alert with the event stored with it,
//! never the feed message decoded again; this module is what the pages make of them.
//!
//! Only live alerts whose delivery to this channel was real (not dry-run) appear on the site, so
//! an exercise never leaks into the public index or feed.

use crate::compose::context::{place, zh_time_full};
use crate::model::{Kind, Quake, Weather};
use crate::store::from_ms;
pub use crate::store::published::{load, Revision, Snapshot, RECENT};

impl Snapshot {
    /// The newest revision of each event in `recent` that is still in force at `now_ms`: not
    /// cancelled and before its deadline (quakes: the delivery window; warnings: expiry).
    pub fn active(&self, now_ms: i64) -> Vec<&Revision> {
        let mut seen = std::collections::HashSet::new();
        self.recent
            .iter()
            .filter(|r| seen.insert(r.event_key.as_str()))
            .filter(|r| r.action != "cancel" && r.deadline_ms > now_ms)
            .collect()
    }
}

/// The quake or weather facts of `rev`, or — for a cancellation without a body — of the newest
/// earlier revision in `chain` that has them.
pub fn facts<'a>(rev: &'a Revision, chain: &'a [Revision]) -> (Option<&'a Quake>, Option<&'a Weather>) {
    let own = rev.event.as_ref();
    if let Some(ev) = own.filter(|e| e.has_facts()) {
        return (ev.quake(), ev.weather());
    }
    chain
        .iter()
        .filter(|r| r.id < rev.id)
        .filter_map(|r| r.event.as_ref())
        .find(|e| e.has_facts())
        .map(|e| (e.quake(), e.weather()))
        .unwrap_or((None, None))
}

impl Revision {
    pub fn kind(&self) -> Kind {
        self.event.as_ref().map(|e| e.kind()).unwrap_or(Kind::Weather)
    }

    pub fn is_quake(&self, chain: &[Revision]) -> bool {
        self.kind() == Kind::Earthquake || facts(self, chain).0.is_some()
    }

    pub fn created(&self) -> jiff::Timestamp {
        from_ms(self.created_ms)
    }

    pub fn source(&self) -> String {
        self.event
            .as_ref()
            .map(|e| crate::compose::source::name(&e.sender))
            .unwrap_or_default()
    }

    /// 首次发布 / 更新 / 撤销 (quakes) or 解除 (warnings).
    pub fn action_zh(&self, chain: &[Revision]) -> &'static str {
        match self.action.as_str() {
            "update" => "更新",
            "cancel" if self.is_quake(chain) => "撤销",
            "cancel" => "解除",
            _ => "首次发布",
        }
    }

    /// The page title, CAP `headline` and Atom `title`. The decoders already sanitised the feed
    /// values it is made of; passing the result through [`crate::text::shown`] as well keeps it
    /// clean whatever a future decoder forgets.
    pub fn headline(&self, chain: &[Revision]) -> String {
        crate::text::shown(&self.headline_of(chain)).into_owned()
    }

    fn headline_of(&self, chain: &[Revision]) -> String {
        let cancel = self.action == "cancel";
        match facts(self, chain) {
            (Some(q), _) if cancel => format!("撤销：{}{:.1}级地震信息", place(q), q.magnitude),
            (Some(q), _) => format!("{}发生{:.1}级地震", place(q), q.magnitude),
            (None, Some(w)) if !w.headline.trim().is_empty() => w.headline.clone(),
            (None, Some(w)) => format!(
                "{}{}{}{}预警",
                if cancel { "解除：" } else { "" },
                w.area.desc,
                w.type_name,
                w.color.map(|c| c.zh()).unwrap_or("")
            ),
            (None, None) if cancel => "此前发布的信息已撤销".into(),
            // A manual push: its first line.
            (None, None) => match self.text.lines().map(str::trim).find(|l| !l.is_empty()) {
                Some(l) if l.chars().count() > 60 => format!("{}…", l.chars().take(60).collect::<String>()),
                Some(l) => l.to_string(),
                None => "预警信息".into(),
            },
        }
    }

    /// One line for the chain list and the feed.
    pub fn summary(&self, chain: &[Revision]) -> String {
        match (self.action.as_str(), facts(self, chain)) {
            ("cancel", (Some(_), _)) => "地震信息已撤销".into(),
            ("cancel", _) => "预警已解除".into(),
            (_, (Some(q), _)) => format!(
                "{:.1}级{}，震源深度{:.0}千米，{}",
                q.magnitude,
                q.mag_type
                    .as_deref()
                    .map(|t| format!("（{t}）"))
                    .unwrap_or_default(),
                q.depth_km,
                zh_time_full(q.origin_time)
            ),
            (_, (None, Some(w))) => format!(
                "{}{}预警，{}",
                w.type_name,
                w.color.map(|c| c.zh()).unwrap_or(""),
                w.area.desc
            ),
            _ => String::new(),
        }
    }

    /// Advice to the public: the provider's instruction when it gave one, else by class.
    pub fn advice(&self, chain: &[Revision]) -> String {
        let quake = self.is_quake(chain);
        let emergency = self.class == "emergency";
        if self.action == "cancel" {
            return if quake {
                "此前发布的地震信息已撤销，请以最新发布为准。".into()
            } else {
                "预警已解除，请继续关注天气变化和官方发布。".into()
            };
        }
        if let (_, Some(w)) = facts(self, chain) {
            if let Some(i) = w.instruction.as_deref().filter(|i| !i.trim().is_empty()) {
                return i.to_string();
            }
        }
        if self.event.is_none() && facts(self, chain) == (None, None) {
            // A manual push: the officer's text is the whole message.
            return "请按照本通知要求做好防范，以官方发布为准。".into();
        }
        match (quake, emergency) {
            (true, true) => "请保持冷静：室内就近躲避在坚固家具旁，远离玻璃门窗；室外远离建筑物、广告牌和电线杆；震后有序撤离到空旷地带，注意防范余震。不信谣、不传谣，以官方发布为准。".into(),
            (true, false) => "如有震感请保持冷静，注意防范余震。不信谣、不传谣，以官方发布为准。".into(),
            (false, true) => "请密切关注预警信息，非必要不外出，远离危险区域，服从当地政府和应急部门的安排。".into(),
            (false, false) => "请注意防范，合理安排出行。".into(),
        }
    }
}

pub fn class_zh(class: &str) -> &'static str {
    match class {
        "emergency" => "紧急",
        "routine" => "一般",
        "info" => "提示",
        _ => "记录",
    }
}
