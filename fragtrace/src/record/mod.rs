//! Recording to a file and replaying it (`fragtrace record` / `fragtrace report`).

pub mod format;
pub mod reader;
pub mod writer;

#[cfg(test)]
mod tests;

pub use format::RecordingHeader;
pub use reader::{ReadError, Recording, ReplayStats};
pub use writer::{RecordError, Recorder};
