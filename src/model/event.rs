//! One revision of one event, as every stage after ingest reads it, and as the store keeps it
//! with each alert (`model::stored`): what a page, a digest or a later cancel says of an event
//! comes from here, never from decoding the feed message again.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// One MQTT publish as it arrived.
#[derive(Debug, Clone)]
pub struct FeedMessage {
    pub topic: String,
    pub payload: Vec<u8>,
    pub received_at: Timestamp,
    /// MQTT 5 user properties of the publish, in order (empty for MQTT 3.1.1).
    pub properties: Vec<(String, String)>,
    /// Set when the payload was over `mqtt.max_payload_bytes`: `payload` is then empty and this
    /// is what is known of it, so an oversized message never travels or rests in memory whole.
    pub oversized: Option<Oversized>,
}

/// What is kept of a payload over the limit: enough to reject it with its size and to recognise
/// its redelivery (the content hash of the whole payload, as for every other message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Oversized {
    pub size: usize,
    /// Hex SHA-256 of the whole payload (`store::journal::content_hash`).
    pub sha256: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Earthquake,
    Weather,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MsgType {
    Alert,
    Update,
    Cancel,
}

/// `exercise` and `test` never reach a live channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Actual,
    Exercise,
    Test,
}

impl Status {
    pub fn is_live(self) -> bool {
        self == Status::Actual
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Actual => "actual",
            Status::Exercise => "exercise",
            Status::Test => "test",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Review {
    Automatic,
    Reviewed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Color {
    Red,
    Orange,
    Yellow,
    Blue,
}

impl Color {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "red" | "红" | "红色" => Some(Self::Red),
            "orange" | "橙" | "橙色" => Some(Self::Orange),
            "yellow" | "黄" | "黄色" => Some(Self::Yellow),
            "blue" | "蓝" | "蓝色" => Some(Self::Blue),
            _ => None,
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Self::Red => "红色",
            Self::Orange => "橙色",
            Self::Yellow => "黄色",
            Self::Blue => "蓝色",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Red => "red",
            Self::Orange => "orange",
            Self::Yellow => "yellow",
            Self::Blue => "blue",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sender {
    pub id: String,
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quake {
    pub origin_time: Timestamp,
    pub lat: f64,
    pub lon: f64,
    pub depth_km: f64,
    pub magnitude: f64,
    pub mag_type: Option<String>,
    pub place: String,
    pub review: Option<Review>,
    /// Estimated maximum intensity (EEW relays' `MaxIntensity`, CENC `epiIntensity`).
    #[serde(default)]
    pub max_intensity: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Area {
    pub desc: String,
    pub adcodes: Vec<String>,
    /// Rings of (lon, lat), GeoJSON order.
    pub polygons: Vec<Vec<(f64, f64)>>,
    /// CAP circles: (lat, lon, radius km).
    #[serde(default)]
    pub circles: Vec<(f64, f64, f64)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Weather {
    pub type_name: String,
    pub type_code: Option<String>,
    pub color: Option<Color>,
    pub headline: String,
    pub description: String,
    pub expires: Option<Timestamp>,
    pub area: Area,
    /// CAP severity / urgency / certainty as sent (Extreme, Immediate, Observed, ...).
    #[serde(default)]
    pub severity: Option<String>,
    #[serde(default)]
    pub urgency: Option<String>,
    #[serde(default)]
    pub certainty: Option<String>,
    /// Advice to the public (CAP `instruction`).
    #[serde(default)]
    pub instruction: Option<String>,
}

/// What an event says. One of these, so an earthquake with a warning's facts cannot be written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "facts", rename_all = "lowercase")]
pub enum Body {
    Quake(Quake),
    Weather(Weather),
    /// A revision without facts of its own (CAP allows a Cancel without `info`): only its kind
    /// is known, the rest is the stored event's (`pipeline::facts`).
    Bare(Kind),
}

impl Body {
    /// The body of a decoder's findings: the facts it found, else a bare `kind`.
    pub fn of(kind: Kind, quake: Option<Quake>, weather: Option<Weather>) -> Body {
        match (quake, weather) {
            (Some(q), _) => Body::Quake(q),
            (None, Some(w)) => Body::Weather(w),
            (None, None) => Body::Bare(kind),
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Body::Quake(_) => Kind::Earthquake,
            Body::Weather(_) => Kind::Weather,
            Body::Bare(k) => *k,
        }
    }
}

/// One revision of one event, whatever format it came in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The format it was decoded from (`alert-feed/1`, ...).
    pub format: String,
    pub msg_id: String,
    pub event_id: String,
    pub msg_type: MsgType,
    pub status: Status,
    pub sender: Sender,
    pub sent: Timestamp,
    /// The facts: a quake's or a warning's, or none (a cancel that names only what it lifts).
    pub body: Body,
    pub aliases: Vec<String>,
    pub revision: Option<u32>,
    pub references: Vec<String>,
    pub web: Option<String>,
    /// The feed key whose signature this message carried, set by the pipeline after it verified
    /// it (`None`: unsigned). Decoders never set it: trust comes from the key, not the payload.
    #[serde(default)]
    pub signer: Option<String>,
}

impl Event {
    pub fn kind(&self) -> Kind {
        self.body.kind()
    }

    pub fn quake(&self) -> Option<&Quake> {
        match &self.body {
            Body::Quake(q) => Some(q),
            _ => None,
        }
    }

    pub fn weather(&self) -> Option<&Weather> {
        match &self.body {
            Body::Weather(w) => Some(w),
            _ => None,
        }
    }

    pub fn quake_mut(&mut self) -> Option<&mut Quake> {
        match &mut self.body {
            Body::Quake(q) => Some(q),
            _ => None,
        }
    }

    pub fn weather_mut(&mut self) -> Option<&mut Weather> {
        match &mut self.body {
            Body::Weather(w) => Some(w),
            _ => None,
        }
    }

    /// Whether the message carried facts of its own.
    pub fn has_facts(&self) -> bool {
        !matches!(self.body, Body::Bare(_))
    }

    /// Who delivered this message to alertd, which is what a signature vouches for: a relay
    /// (Wolfx, FAN Studio, QWeather) for the relay formats, else the sender itself. The relays
    /// report CENC's, CEA's and CMA's facts, so `sender` names the agency (the text still says
    /// 中国地震台网中心, 上海中心气象台) while trust binds to the relay that handed it over.
    pub fn deliverer(&self) -> &str {
        match self.format.split_once('-') {
            Some(("wolfx", _)) => "wolfx",
            Some(("fanstudio", _)) => "fanstudio",
            Some(("qweather", _)) => "qweather",
            _ => &self.sender.id,
        }
    }

    /// Every id this event is known by: its own and its aliases.
    pub fn all_ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.event_id.as_str()).chain(self.aliases.iter().map(|s| s.as_str()))
    }
}

/// The formats a `[[feeds]]` rule may pin (`format = "…"`), each one of ingest's decoders
/// (`feed::decode_as`). Here, not in ingest, so config can check a rule without importing a stage.
pub const FORMATS: [&str; 6] = [
    "native",
    "cap",
    "usgs",
    "cenc",
    "qweather",
    "fanstudio-weatheralarm",
];
