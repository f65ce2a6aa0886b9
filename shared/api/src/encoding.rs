//! Compressed uploads (`Content-Encoding: gzip` or `zstd` on `POST /api/v1/scans`): a 100 MB
//! scan is about 10 MB gzipped, under API Gateway's payload limit. The body is decompressed
//! as it is read, and the size limit applies to the decompressed bytes, so a small body that
//! inflates past it (a decompression bomb) is refused with 413 without being held whole.

use std::io::Read;

use axum::body::Bytes;
use axum::http::HeaderMap;

use ec_domain::{ApiError, ErrorCode};

/// A body's `Content-Encoding`, as far as uploads take one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
    Zstd,
}

impl Encoding {
    /// The encoding the headers name: none or `identity` is [`Encoding::Identity`]; `gzip`
    /// (or `x-gzip`) and `zstd`, case-insensitively; anything else, or several encodings
    /// stacked, is 415.
    pub fn of(headers: &HeaderMap) -> Result<Encoding, ApiError> {
        let Some(value) = headers.get(axum::http::header::CONTENT_ENCODING) else {
            return Ok(Encoding::Identity);
        };
        let named = value
            .to_str()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match named.as_str() {
            "" | "identity" => Ok(Encoding::Identity),
            "gzip" | "x-gzip" => Ok(Encoding::Gzip),
            "zstd" => Ok(Encoding::Zstd),
            _ => Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                format!(
                    "unsupported Content-Encoding {named:?}: send the body as is, gzip or zstd"
                ),
            )),
        }
    }
}

/// Decompresses `body` (already read, at most `limit` bytes itself) into at most `limit`
/// bytes: 413 past it, 400 when the stream is not valid for its encoding.
pub fn decode(encoding: Encoding, body: Bytes, limit: usize) -> Result<Bytes, ApiError> {
    let name = match encoding {
        Encoding::Identity => return Ok(body),
        Encoding::Gzip => "gzip",
        Encoding::Zstd => "zstd",
    };
    let corrupt = |e: &dyn std::fmt::Display| {
        ApiError::new(
            ErrorCode::MalformedBody,
            format!("the body is not valid {name}: {e}"),
        )
    };
    let reader: Box<dyn Read> = match encoding {
        Encoding::Gzip => Box::new(flate2::read::MultiGzDecoder::new(&body[..])),
        _ => Box::new(ruzstd::decoding::StreamingDecoder::new(&body[..]).map_err(|e| corrupt(&e))?),
    };
    // One byte past the limit tells "too large" from "exactly at the limit".
    let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(limit));
    let read = reader
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| corrupt(&e))?;
    if read > limit {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("the decompressed body exceeds {limit} bytes"),
        ));
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Bytes {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        Bytes::from(e.finish().unwrap())
    }

    fn headers(encoding: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            axum::http::header::CONTENT_ENCODING,
            encoding.parse().unwrap(),
        );
        h
    }

    #[test]
    fn encodings_by_name() {
        assert_eq!(
            Encoding::of(&HeaderMap::new()).ok(),
            Some(Encoding::Identity)
        );
        assert_eq!(Encoding::of(&headers("GZIP")).ok(), Some(Encoding::Gzip));
        assert_eq!(Encoding::of(&headers("zstd")).ok(), Some(Encoding::Zstd));
        for bad in ["br", "gzip, zstd", "deflate"] {
            let e = Encoding::of(&headers(bad)).err().map(|e| e.code);
            assert_eq!(e, Some(ErrorCode::UnsupportedMediaType), "{bad}");
        }
    }

    #[test]
    fn gzip_inflates_within_the_limit_and_no_further() {
        let doc = br#"{"SchemaVersion": 2}"#.repeat(100);
        let packed = gzip(&doc);
        assert_eq!(
            decode(Encoding::Gzip, packed.clone(), doc.len()).ok(),
            Some(Bytes::from(doc.clone()))
        );
        let e = decode(Encoding::Gzip, packed, doc.len() - 1)
            .err()
            .map(|e| e.code);
        assert_eq!(e, Some(ErrorCode::PayloadTooLarge));
        // A bomb: 64 MiB of zeros in about 64 KiB, refused at a 1 MiB limit.
        let bomb = gzip(&vec![0u8; 64 << 20]);
        assert!(bomb.len() < 1 << 20);
        let e = decode(Encoding::Gzip, bomb, 1 << 20).err().map(|e| e.code);
        assert_eq!(e, Some(ErrorCode::PayloadTooLarge));
        let e = decode(Encoding::Gzip, Bytes::from_static(b"{not gzip"), 1 << 20).err();
        assert_eq!(e.map(|e| e.code), Some(ErrorCode::MalformedBody));
        let e = decode(Encoding::Zstd, Bytes::from_static(b"{not zstd"), 1 << 20).err();
        assert_eq!(e.map(|e| e.code), Some(ErrorCode::MalformedBody));
    }

    #[test]
    fn zstd_inflates_within_the_limit_and_no_further() {
        let doc = br#"{"bomFormat": "CycloneDX"}"#.repeat(100);
        let packed = Bytes::from(ruzstd::encoding::compress_to_vec(
            &doc[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        ));
        assert!(packed.len() < doc.len());
        assert_eq!(
            decode(Encoding::Zstd, packed.clone(), doc.len()).ok(),
            Some(Bytes::from(doc.clone()))
        );
        let e = decode(Encoding::Zstd, packed, doc.len() - 1)
            .err()
            .map(|e| e.code);
        assert_eq!(e, Some(ErrorCode::PayloadTooLarge));
    }
}
