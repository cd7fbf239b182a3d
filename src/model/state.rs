//! What is known of each event across its revisions: the facts last published, so a later
//! revision can be judged as material or not, and every sender whose report it took.
//!
//! The facts are kept whole (the decoded [`Quake`] or [`Weather`]), not only the few numbers
//! assess compares: a cancel that carries no facts of its own is told to the public by what it
//! lifts. The store keeps this as JSON, so rows written before a field existed read back without
//! it (`#[serde(default)]`, no migration).

use super::{Class, Color, Kind, Quake, Review, Weather};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventState {
    pub event_key: String,
    pub kind: Kind,
    /// The class of the last assessment.
    pub class: Class,
    /// The class last published to the public (None: never published).
    pub published_class: Option<Class>,
    pub cancelled: bool,
    /// The `sent` time of the newest message applied, to ignore older revisions.
    pub last_sent_ms: i64,
    pub magnitude: Option<f64>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub color: Option<Color>,
    pub expires_ms: Option<i64>,
    /// The first alert published for this event; updates and cancels refer to it.
    pub first_alert_id: Option<i64>,
    /// Quake origin time, for matching the same quake across sources.
    #[serde(default)]
    pub origin_ms: Option<i64>,
    /// The sender whose facts the state holds (source priority decides who may change them).
    #[serde(default)]
    pub source: Option<String>,
    /// That sender's name as its message gave it (`senderName`): a cancel of its own that
    /// carries no `info` is signed with it too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    /// Whether those facts came signed: then no unsigned report may change them.
    #[serde(default)]
    pub signed: bool,
    /// Whether those facts are an automatic or a reviewed solution (quakes).
    #[serde(default)]
    pub review: Option<Review>,
    /// Every sender whose report this event took: another quake of theirs is another event.
    #[serde(default)]
    pub senders: Vec<String>,
    /// The facts of the revision this state holds (the one `magnitude`, `color` … above come
    /// from), for a later cancel or update that carries none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quake: Option<Quake>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weather: Option<Weather>,
}
