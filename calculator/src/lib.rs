//! The `calculator` daemon (PROTOCOL.md §1).
//!
//! Not built yet: it is the subject of the daemons issue. The crate exists so
//! that the workspace has its final shape and the other crates can be wired to
//! it without moving files later.
