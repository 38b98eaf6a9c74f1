//! placeholder, being built
