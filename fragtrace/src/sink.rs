//! The sink stage: everything downstream of decode (aggregator, recorder, JSON printer) is a
//! `Sink` of the same stream, live or replayed from a file.

use thiserror::Error;

use crate::event::{Counters, Event};

#[derive(Debug, Error)]
pub enum SinkError {
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
}

pub trait Sink {
    /// A kernel stack seen for the first time, before any event that refers to it.
    fn stack(&mut self, _id: u32, _frames: &[String]) -> Result<(), SinkError> {
        Ok(())
    }
    fn event(&mut self, event: &Event) -> Result<(), SinkError>;
    /// Periodic: kernel counters as of now.
    fn tick(&mut self, _counters: &Counters) -> Result<(), SinkError> {
        Ok(())
    }
    /// End of stream with the final counters.
    fn finish(&mut self, _counters: &Counters) -> Result<(), SinkError> {
        Ok(())
    }
}
