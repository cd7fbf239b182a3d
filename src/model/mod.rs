//! The domain: what a feed message says ([`Event`]), how urgent it is ([`Class`]), what is known
//! of an event across its revisions ([`EventState`]) and how an event is kept ([`stored`]).
//!
//! It imports no stage and does no I/O, so every stage — and the store — can name these types
//! without depending on each other (the layering rule is in `lib.rs`).

mod class;
mod event;
mod state;
pub mod stored;

pub use class::Class;
pub use event::*;
pub use state::EventState;
