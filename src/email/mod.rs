//! Email: handing formatted alerts to whoever delivers them.

pub mod transport;
