//! How urgent an event is for the office's public: the one decision every later stage keys on
//! (templates, the day's push, the override, fallbacks).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    Emergency,
    Routine,
    Info,
    Ignore,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Emergency => "emergency",
            Class::Routine => "routine",
            Class::Info => "info",
            Class::Ignore => "ignore",
        }
    }

    pub fn parse(s: &str) -> Option<Class> {
        match s {
            "emergency" => Some(Class::Emergency),
            "routine" => Some(Class::Routine),
            "info" => Some(Class::Info),
            "ignore" => Some(Class::Ignore),
            _ => None,
        }
    }
}
