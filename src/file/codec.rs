//! The codecs of compressed backups: gzip and zstd, each behind the cargo
//! feature of its name (`default-features = false` compiles neither; zstd
//! builds C). Streams go through `async-compression`, driven by `futures`'
//! small executor on the compressor's own thread.

use std::fs::File;
use std::io;
#[cfg(any(feature = "gzip", feature = "zstd"))]
use std::io::BufReader;

#[cfg(any(feature = "gzip", feature = "zstd"))]
use futures::io::{AllowStdIo, AsyncWriteExt};

/// How rotated backups are compressed; see
/// [`compression`](crate::ConcurrentRotatingFileHandlerBuilder::compression).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compression {
    /// gzip, `.gz` (what Python CLH's `use_gzip` writes).
    Gzip,
    /// Zstandard, `.zst`.
    Zstd,
}

impl Compression {
    /// Whether this build has the codec (its cargo feature is on).
    ///
    /// ```
    /// use concurrent_log_handler::Compression;
    /// assert_eq!(Compression::Gzip.is_available(), cfg!(feature = "gzip"));
    /// ```
    pub const fn is_available(self) -> bool {
        match self {
            Compression::Gzip => cfg!(feature = "gzip"),
            Compression::Zstd => cfg!(feature = "zstd"),
        }
    }

    /// The cargo feature that brings the codec.
    pub(crate) const fn feature(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }

    /// The extension appended to compressed backups.
    ///
    /// ```
    /// use concurrent_log_handler::Compression;
    /// assert_eq!(Compression::Gzip.extension(), ".gz");
    /// assert_eq!(Compression::Zstd.extension(), ".zst");
    /// ```
    pub const fn extension(self) -> &'static str {
        match self {
            Compression::Gzip => ".gz",
            Compression::Zstd => ".zst",
        }
    }
}

/// Every compression extension: a backup in any of these forms belongs to the log.
pub(crate) const ALL_EXTENSIONS: [&str; 2] = [".gz", ".zst"];

/// Compresses `input` into `output`, fsyncs it, and gives it the input's
/// modification time, so age retention sees when the lines were written, not
/// when they were compressed.
pub(crate) fn compress_file(
    input: File,
    output: &File,
    compression: Compression,
) -> io::Result<()> {
    let modified = input.metadata()?.modified()?;
    encode_with(compression, input, output)?;
    output.sync_all()?;
    output.set_modified(modified)?;
    Ok(())
}

#[cfg(any(feature = "gzip", feature = "zstd"))]
fn encode_with(compression: Compression, input: File, output: &File) -> io::Result<()> {
    let reader = AllowStdIo::new(BufReader::with_capacity(256 * 1024, input));
    futures::executor::block_on(async move {
        match compression {
            // The fastest gzip level: on a small machine the compressor competes
            // with the loggers for CPU. Measured with 4 tasks, rotation every
            // 4 MB, 2 cores: gzip's default level cost 30 % of the lines/s,
            // the fastest level and zstd's default far less.
            #[cfg(feature = "gzip")]
            Compression::Gzip => {
                use async_compression::futures::write::GzipEncoder;
                let out = AllowStdIo::new(output);
                let level = async_compression::Level::Fastest;
                encode(reader, GzipEncoder::with_quality(out, level)).await
            }
            #[cfg(feature = "zstd")]
            Compression::Zstd => {
                use async_compression::futures::write::ZstdEncoder;
                encode(reader, ZstdEncoder::new(AllowStdIo::new(output))).await
            }
            #[allow(unreachable_patterns)] // with both features on
            other => Err(unavailable(other)),
        }
    })
}

#[cfg(not(any(feature = "gzip", feature = "zstd")))]
fn encode_with(compression: Compression, _input: File, _output: &File) -> io::Result<()> {
    Err(unavailable(compression))
}

/// The error of a codec this build lacks (the builders refuse it earlier).
fn unavailable(compression: Compression) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!(
            "built without the `{}` feature of concurrent-log-handler",
            compression.feature()
        ),
    )
}

/// Streams `reader` through `encoder` and closes it.
#[cfg(any(feature = "gzip", feature = "zstd"))]
async fn encode<E>(mut reader: AllowStdIo<BufReader<File>>, mut encoder: E) -> io::Result<()>
where
    E: futures::io::AsyncWrite + Unpin,
{
    futures::io::copy(&mut reader, &mut encoder).await?;
    encoder.close().await
}
