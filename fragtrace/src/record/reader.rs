//! Reading one trace file block by block, with bounded memory: recovery of a file cut short
//! and resynchronisation after a damaged block.

use std::{
    fs::File,
    os::unix::fs::FileExt,
    path::{Path, PathBuf},
};

use thiserror::Error;

use super::format::{
    BLOCK_HEADER_LEN, BLOCK_SYNC, BlockHeader, BlockKind, Codec, EndMarker, FILE_HEADER_LEN, MAGIC, RecordingHeader, VERSION,
};

#[derive(Debug, Error)]
pub enum ReadError {
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0}: the file is empty")]
    Empty(String),
    #[error("{0}: no such file, but later parts of it are there (`record --keep` deletes the oldest parts): {1}")]
    RotatedAway(String, String),
    #[error("{0}: not a fragtrace recording (no FRAGTRCE magic at the start)")]
    BadMagic(String),
    #[error("{0}: recording format version {1} is newer than this fragtrace understands (version {VERSION}); use a newer fragtrace")]
    Newer(String, u32),
    #[error("{0}: recording format version {1} is from a pre-release fragtrace and cannot be read; record again")]
    Older(String, u32),
    #[error("{0}: the recording header is missing or damaged ({1})")]
    BadHeader(String, String),
    #[error("{0}: not a regular file (recordings are read with random access: save a piped recording to a file first)")]
    NotAFile(String),
    #[error("{0}: uses format features this fragtrace does not know (flags {1:#x}); use a newer fragtrace")]
    UnknownFlags(String, u32),
    #[error("the files come from {count} different recordings ({detail}); report each recording separately")]
    MixedRecordings { count: usize, detail: String },
    #[error("{0}")]
    Strict(String),
    #[error(transparent)]
    Sink(#[from] crate::sink::SinkError),
}

/// One step through a file.
#[derive(Debug)]
pub enum Step {
    /// A data block's records, decompressed.
    Data { offset: u64 },
    /// The clean end of the file; `trailing` bytes follow the end block.
    End { offset: u64, marker: EndMarker, trailing: u64 },
    /// The end of the file without an `End` block.
    Eof,
    /// The file stops inside the block at `offset`; its last `bytes` bytes were ignored.
    Truncated { offset: u64, bytes: u64 },
    /// The block at `offset` is damaged; `skipped` bytes were passed over to the next intact
    /// block (or to the end of the file).
    Damaged { offset: u64, skipped: u64, reason: String },
}

pub struct RecordingFile {
    pub path: PathBuf,
    pub header: RecordingHeader,
    file: File,
    len: u64,
    /// Offset of the first block after the header block.
    body: u64,
}

impl RecordingFile {
    pub fn open(path: &Path) -> Result<Self, ReadError> {
        let name = path.display().to_string();
        let io = |e| ReadError::Io(name.clone(), e);
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let parts = later_parts(path);
                return Err(if parts.is_empty() { io(e) } else { ReadError::RotatedAway(name, parts.join(" ")) });
            }
            Err(e) => return Err(io(e)),
        };
        let meta = file.metadata().map_err(io)?;
        if !meta.is_file() {
            return Err(ReadError::NotAFile(name));
        }
        let len = meta.len();
        if len == 0 {
            return Err(ReadError::Empty(name));
        }
        let mut start = [0u8; FILE_HEADER_LEN];
        let got = read_upto(&file, 0, &mut start).map_err(io)?;
        if got < MAGIC.len() || &start[..8] != MAGIC {
            return Err(ReadError::BadMagic(name));
        }
        if got < FILE_HEADER_LEN {
            return Err(ReadError::BadHeader(name, "the file stops inside its first 16 bytes".into()));
        }
        let version = u32::from_le_bytes(start[8..12].try_into().expect("4 bytes"));
        if version > VERSION {
            return Err(ReadError::Newer(name, version));
        }
        if version < VERSION {
            return Err(ReadError::Older(name, version));
        }
        let flags = u32::from_le_bytes(start[12..16].try_into().expect("4 bytes"));
        if flags != 0 {
            return Err(ReadError::UnknownFlags(name, flags));
        }
        let mut cursor = Cursor::new(FILE_HEADER_LEN as u64);
        let (kind, payload) = match cursor.raw_block(&file, len).map_err(io)? {
            RawStep::Block { header, payload, .. } => (header.kind, payload),
            RawStep::Eof | RawStep::Truncated { .. } => return Err(ReadError::BadHeader(name, "the file stops inside the header block".into())),
            RawStep::Damaged { reason, .. } => return Err(ReadError::BadHeader(name, reason)),
        };
        if kind != BlockKind::Header as u8 {
            return Err(ReadError::BadHeader(name, "the first block is not a header".into()));
        }
        let header: RecordingHeader = serde_json::from_slice(&payload).map_err(|e| ReadError::BadHeader(name.clone(), e.to_string()))?;
        Ok(Self { path: path.to_path_buf(), header, file, len, body: cursor.at })
    }

    /// Where the first block after the header starts.
    pub fn body_offset(&self) -> u64 {
        self.body
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A cursor over the blocks after the header.
    pub fn blocks(&self) -> BlockCursor<'_> {
        BlockCursor { file: self, cursor: Cursor::new(self.body), raw: Vec::new(), decompressor: None }
    }
}

/// Reads as much of `buf` as the file has at `offset`.
fn read_upto(file: &File, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

enum RawStep {
    Block { offset: u64, header: BlockHeader, payload: Vec<u8> },
    Eof,
    Truncated { offset: u64, bytes: u64 },
    Damaged { offset: u64, skipped: u64, reason: String },
}

struct Cursor {
    at: u64,
}

impl Cursor {
    fn new(at: u64) -> Self {
        Self { at }
    }

    fn header_at(file: &File, offset: u64) -> std::io::Result<Option<BlockHeader>> {
        let mut buf = [0u8; BLOCK_HEADER_LEN];
        if read_upto(file, offset, &mut buf)? < BLOCK_HEADER_LEN {
            return Ok(None);
        }
        Ok(BlockHeader::parse(&buf))
    }

    /// The offset of the next intact block header after `from`, scanning for the sync bytes.
    fn resync(file: &File, len: u64, from: u64) -> std::io::Result<Option<u64>> {
        const CHUNK: usize = 64 * 1024;
        let mut buf = vec![0u8; CHUNK];
        let mut base = from;
        while base < len {
            let got = read_upto(file, base, &mut buf)?;
            if got < BLOCK_SYNC.len() {
                return Ok(None);
            }
            for i in 0..=got - BLOCK_SYNC.len() {
                if &buf[i..i + BLOCK_SYNC.len()] != BLOCK_SYNC {
                    continue;
                }
                // Check the candidate from the buffer when it is all there: a file full of
                // "FTBK" must not cost a syscall per match.
                let valid = match buf.get(i..i + BLOCK_HEADER_LEN) {
                    Some(h) => BlockHeader::parse(h.try_into().expect("header length")).is_some(),
                    None => Self::header_at(file, base + i as u64)?.is_some(),
                };
                if valid {
                    return Ok(Some(base + i as u64));
                }
            }
            // Overlap so a sync split across chunks is still found.
            base += (got - (BLOCK_SYNC.len() - 1)) as u64;
        }
        Ok(None)
    }

    fn raw_block(&mut self, file: &File, len: u64) -> std::io::Result<RawStep> {
        let offset = self.at;
        let left = len.saturating_sub(offset);
        if left == 0 {
            return Ok(RawStep::Eof);
        }
        if left < BLOCK_HEADER_LEN as u64 {
            self.at = len;
            return Ok(RawStep::Truncated { offset, bytes: left });
        }
        let Some(header) = Self::header_at(file, offset)? else {
            return Ok(match Self::resync(file, len, offset + 1)? {
                Some(next) => {
                    self.at = next;
                    RawStep::Damaged { offset, skipped: next - offset, reason: "block header damaged".into() }
                }
                // Nothing readable follows: a torn or zero-filled tail, as crashes leave.
                None => {
                    self.at = len;
                    RawStep::Truncated { offset, bytes: left }
                }
            });
        };
        let end = offset + BLOCK_HEADER_LEN as u64 + u64::from(header.stored_len);
        if end > len {
            // The header checksum vouches for the length: the writer was stopped mid-block.
            self.at = len;
            return Ok(RawStep::Truncated { offset, bytes: left });
        }
        let mut payload = vec![0u8; header.stored_len as usize];
        file.read_exact_at(&mut payload, offset + BLOCK_HEADER_LEN as u64)?;
        if crc32fast::hash(&payload) != header.payload_crc {
            // Usually flipped bits, and the next block starts at `end`; but if bytes were
            // lost or inserted it starts elsewhere, so search rather than trust the length.
            let next = Self::resync(file, len, offset + BLOCK_HEADER_LEN as u64)?.unwrap_or(len);
            self.at = next;
            return Ok(RawStep::Damaged { offset, skipped: next - offset, reason: "payload checksum mismatch".into() });
        }
        self.at = end;
        Ok(RawStep::Block { offset, header, payload })
    }
}

pub struct BlockCursor<'a> {
    file: &'a RecordingFile,
    cursor: Cursor,
    raw: Vec<u8>,
    decompressor: Option<zstd::bulk::Decompressor<'static>>,
}

impl BlockCursor<'_> {
    /// The records of the last `Step::Data`.
    pub fn data(&self) -> &[u8] {
        &self.raw
    }

    pub fn next_step(&mut self) -> Result<Step, ReadError> {
        let name = || self.file.path.display().to_string();
        loop {
            let step = self.cursor.raw_block(&self.file.file, self.file.len).map_err(|e| ReadError::Io(name(), e))?;
            let (offset, header, payload) = match step {
                RawStep::Block { offset, header, payload } => (offset, header, payload),
                RawStep::Eof => return Ok(Step::Eof),
                RawStep::Truncated { offset, bytes } => return Ok(Step::Truncated { offset, bytes }),
                RawStep::Damaged { offset, skipped, reason } => return Ok(Step::Damaged { offset, skipped, reason }),
            };
            let skipped = BLOCK_HEADER_LEN as u64 + u64::from(header.stored_len);
            let damaged = |reason: String| Ok(Step::Damaged { offset, skipped, reason });
            match BlockKind::from_u8(header.kind) {
                Some(BlockKind::Data) => {
                    match Codec::from_u8(header.codec) {
                        Some(Codec::None) if header.raw_len == header.stored_len => self.raw = payload,
                        Some(Codec::None) => return damaged("uncompressed block with two different lengths".into()),
                        Some(Codec::Zstd) => {
                            let d = match &mut self.decompressor {
                                Some(d) => d,
                                None => self.decompressor.insert(
                                    zstd::bulk::Decompressor::new().map_err(|e| ReadError::Io(name(), e))?,
                                ),
                            };
                            self.raw.clear();
                            self.raw.reserve(header.raw_len as usize);
                            match d.decompress_to_buffer(&payload, &mut self.raw) {
                                Ok(n) if n == header.raw_len as usize => {}
                                Ok(n) => return damaged(format!("decompressed to {n} bytes, expected {}", header.raw_len)),
                                Err(e) => return damaged(format!("zstd: {e}")),
                            }
                        }
                        None => return damaged(format!("unknown compression codec {}", header.codec)),
                    }
                    return Ok(Step::Data { offset });
                }
                Some(BlockKind::End) => {
                    return match serde_json::from_slice(&payload) {
                        Ok(marker) => Ok(Step::End { offset, marker, trailing: self.file.len.saturating_sub(offset + skipped) }),
                        Err(e) => damaged(format!("end block: {e}")),
                    };
                }
                Some(BlockKind::Header) => return damaged("a second header block".into()),
                // A kind added by a later minor revision: skip it, the framing is intact.
                None => log::debug!("{}: skipping block of unknown kind {} at {offset}", name(), header.kind),
            }
        }
    }
}

/// `FILE.1`, `FILE.2`, … next to a missing `FILE`, in part order: what `--keep` left of a
/// rotated recording, for the error that names them.
fn later_parts(path: &Path) -> Vec<String> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else { return Vec::new() };
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut parts: Vec<(u64, String)> = entries
        .flatten()
        .filter_map(|e| {
            let file = e.file_name().into_string().ok()?;
            let n: u64 = file.strip_prefix(name)?.strip_prefix('.')?.parse().ok()?;
            Some((n, path.with_file_name(file).display().to_string()))
        })
        .collect();
    parts.sort();
    parts.into_iter().map(|(_, p)| p).collect()
}
