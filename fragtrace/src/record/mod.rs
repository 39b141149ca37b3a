//! Recording to a file and replaying it (`fragtrace record` / `fragtrace report`).
//! Format: docs/file-format.md.

pub mod format;
pub mod reader;
pub mod records;
pub mod replay;
pub mod writer;

#[cfg(test)]
pub(crate) mod tests;

pub use format::{EndMarker, RecordingHeader, part_path};
pub use reader::{ReadError, RecordingFile};
pub use replay::{Recording, ReplayOptions, ReplayReport, Warning, open_all, replay};
pub use writer::{RecordError, Recorder, RecorderOptions};
