//! The opaque list cursor of the SQLite listings (jobs by `created_at`, scans by
//! `scanned_at`): the sort column of the last row returned (unix ms) and its id, as
//! base64url of `{ms}:{id}`. A cursor this module did not make is `Invalid`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ec_domain::PortError;
use ec_domain::ports::PortResult;

pub(crate) fn encode(ms: i64, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{ms}:{id}"))
}

pub(crate) fn decode(cursor: &str) -> PortResult<(i64, String)> {
    let bad = || PortError::Invalid("malformed list cursor".into());
    let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (ms, id) = text.split_once(':').ok_or_else(bad)?;
    let ms: i64 = ms.parse().map_err(|_| bad())?;
    if id.is_empty() {
        return Err(bad());
    }
    Ok((ms, id.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let c = encode(1_700_000_000_123, "exp-01:x");
        assert_eq!(
            decode(&c).unwrap(),
            (1_700_000_000_123, "exp-01:x".to_string())
        );
        for bad in [
            "",
            "!!!",
            &URL_SAFE_NO_PAD.encode("nocolon"),
            &URL_SAFE_NO_PAD.encode("x:y"),
            &URL_SAFE_NO_PAD.encode("5:"),
        ] {
            assert!(matches!(decode(bad), Err(PortError::Invalid(_))), "{bad}");
        }
    }
}
