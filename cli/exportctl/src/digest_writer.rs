//! A file writer that hashes and writes on its own thread: the report is produced in 1 MiB
//! chunks and handed over, so the render stage never waits for sha256 or for the kernel's
//! copy of 200 MB into the page cache (a fifth of a 100,000-finding JSON render when done
//! in line). Chunks are recycled, so at most a few MiB are in flight.

use std::fs::File;
use std::io::{self, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use sha2::Digest as _;

const CHUNK: usize = 1 << 20;
/// Chunks queued for the writer thread before `write` waits.
const IN_FLIGHT: usize = 4;

/// What the writer thread reports when the last chunk is written.
pub struct Written {
    pub bytes: usize,
    pub sha256: String,
}

pub struct DigestWriter {
    chunk: Vec<u8>,
    full: Option<SyncSender<Vec<u8>>>,
    empty: Receiver<Vec<u8>>,
    worker: Option<JoinHandle<io::Result<Written>>>,
}

impl DigestWriter {
    pub fn new(mut file: File) -> Self {
        let (full_tx, full_rx) = sync_channel::<Vec<u8>>(IN_FLIGHT);
        let (empty_tx, empty_rx) = sync_channel::<Vec<u8>>(IN_FLIGHT + 1);
        let worker = std::thread::spawn(move || {
            let mut sha256 = sha2::Sha256::default();
            let mut bytes = 0;
            for mut chunk in full_rx {
                sha256.update(&chunk);
                file.write_all(&chunk)?;
                bytes += chunk.len();
                chunk.clear();
                // The producer may have finished and stopped taking chunks back.
                let _ = empty_tx.try_send(chunk);
            }
            file.flush()?;
            Ok(Written {
                bytes,
                sha256: hex::encode(sha256.finalize()),
            })
        });
        DigestWriter {
            chunk: Vec::with_capacity(CHUNK),
            full: Some(full_tx),
            empty: empty_rx,
            worker: Some(worker),
        }
    }

    fn hand_over(&mut self) -> io::Result<()> {
        let next = self
            .empty
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK));
        let chunk = std::mem::replace(&mut self.chunk, next);
        let sent = self.full.as_ref().map(|tx| tx.send(chunk));
        match sent {
            Some(Ok(())) => Ok(()),
            // The thread stopped: its own error says why.
            _ => Err(self.join().err().unwrap_or_else(|| {
                io::Error::other("the report writer stopped before the report was complete")
            })),
        }
    }

    fn join(&mut self) -> io::Result<Written> {
        self.full = None;
        match self.worker.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(io::Error::other("the report writer thread panicked")),
            None => Err(io::Error::other("the report writer already finished")),
        }
    }

    /// Writes what is left and waits for the thread: the report's size and sha256.
    pub fn finish(mut self) -> io::Result<Written> {
        if !self.chunk.is_empty() {
            self.hand_over()?;
        }
        self.join()
    }
}

impl Write for DigestWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = CHUNK - self.chunk.len();
        let n = buf.len().min(room);
        self.chunk.extend_from_slice(&buf[..n]);
        if self.chunk.len() == CHUNK {
            self.hand_over()?;
        }
        Ok(n)
    }

    /// Chunks are written as they fill; [`DigestWriter::finish`] writes the rest.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("exportctl-digest-{}-{name}", std::process::id()))
    }

    #[test]
    fn writes_and_hashes_every_byte_in_order() {
        let path = scratch("order");
        let mut w = DigestWriter::new(File::create(&path).unwrap());
        let mut expected = Vec::new();
        // Uneven pieces crossing chunk boundaries, a few chunks' worth.
        for i in 0..40_000u32 {
            let piece = format!("{i}:{}\n", "x".repeat((i % 97) as usize));
            w.write_all(piece.as_bytes()).unwrap();
            expected.extend_from_slice(piece.as_bytes());
        }
        let written = w.finish().unwrap();
        assert!(expected.len() > 2 * CHUNK);
        assert_eq!(written.bytes, expected.len());
        assert_eq!(std::fs::read(&path).unwrap(), expected);
        assert_eq!(written.sha256, hex::encode(sha2::Sha256::digest(&expected)));
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn an_empty_report_is_the_empty_digest() {
        let path = scratch("empty");
        let w = DigestWriter::new(File::create(&path).unwrap());
        let written = w.finish().unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(written.bytes, 0);
        assert_eq!(
            written.sha256,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
