//! alertd: an emergency alert dispatch daemon.
//!
//! The pipeline runs one way, one stage a module:
//!
//! ```text
//! MQTT ─▶ ingest ─▶ assess ─▶ compose ─▶ gate ─▶ deliver ─▶ platforms
//!           └──────────┴──── store (journal, events, alerts, ledger, outbox) ──┘
//! ```
//!
//! `assess`, `compose` and `gate` are pure decisions over (input, stored state, clock); all I/O
//! lives at the edges: [`feed::mqtt`], [`store`] and the platform clients in
//! [`deliver::channels`]. [`pipeline`] runs the pure stages inside one store transaction per
//! batch of feed messages, which is what makes "journal, then ack" and "alert, intents and quota
//! in one commit" true.

pub mod assess;
pub mod check;
pub mod clock;
pub mod compose;
pub mod config;
pub mod daemon;
pub mod deliver;
#[cfg(feature = "embedded-broker")]
pub mod embedded;
pub mod feed;
pub mod gate;
pub mod model;
pub mod ops;
pub mod pipeline;
pub mod push;
pub mod render;
pub mod replay;
pub mod secret;
pub mod status;
pub mod store;
pub mod text;
