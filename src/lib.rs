//! alertd: an emergency alert dispatch daemon.
//!
//! The pipeline runs one way, one stage a module:
//!
//! ```text
//! MQTT ─▶ feed (ingest) ─▶ assess ─▶ compose ─▶ gate ─▶ deliver ─▶ platforms
//!              └──── pipeline: one store transaction per batch ────┘
//! ```
//!
//! `assess`, `compose` and `gate` are pure decisions over (input, stored state, clock); all I/O
//! lives at the edges: [`feed::mqtt`], [`store`] and the platform clients in
//! [`deliver::channels`]. [`pipeline`] runs the pure stages inside one store transaction per
//! batch of feed messages, which is what makes "journal, then ack" and "alert, intents and quota
//! in one commit" true.
//!
//! # Layout and the dependency rule
//!
//! Modules form layers; a module imports only from layers below its own (`tests/layering.rs`
//! fails the build's tests on a `crate::` path that goes up):
//!
//! | layer | modules | what |
//! |---|---|---|
//! | 0 | [`text`], [`clock`], [`secret`] | utilities: sanitising, time, secrets and HMAC |
//! | 1 | [`model`] | the domain: `Event` (one `Body`), `Class`, `EventState`, the stored form |
//! | 2 | [`config`] | the operator's TOML, typed (a section per channel kind) |
//! | 3 | [`store`] | the only place with SQL; typed rows in and out |
//! | 4 | [`feed`] | ingest: the MQTT session, signatures, the decoders (the only code that decodes a payload) |
//! | 5 | [`assess`] | what an event is for the office: class, action, the event it belongs to |
//! | 6 | [`compose`] | the texts per channel, links |
//! | 7 | [`gate`] | per channel: send, hold, skip or wait for the digest (quota, override) |
//! | 8 | [`pipeline`] | runs 4–7 in one transaction; records typed decisions and delivery intents |
//! | 9 | [`deliver`] | the platform clients, retry, fallback, pacing |
//! | 10 | `inbound` (coming) | the WeChat callback: citizens' messages in, keyword replies from the store |
//! | 11 | `console` (coming) | the duty officer's web console, over the layers below |
//! | 12 | [`daemon`], [`status`], [`check`], [`render`], [`replay`], [`push`], [`ops`], `embedded` | the commands; these may use each other |
//!
//! So the model and config name no stage; the store names only the model; a stage learns of the
//! next one only through what it leaves in the store (a delivery intent, `store::outbox::Job`).
//! Every reader of a publication (the website, the digest, `status`) reads the event stored with
//! its alert (`model::stored`), never the feed message.

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
