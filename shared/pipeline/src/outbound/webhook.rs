//! Webhooks per the Standard Webhooks specification (standardwebhooks.com): the body is
//! [`super::Announcement::event_json`] (`{"type", "timestamp", "data"}`); the headers `webhook-id`
//! (the same for every attempt of one delivery, so receivers drop duplicates), `webhook-timestamp` (unix seconds of this
//! attempt) and `webhook-signature: v1,<base64 HMAC-SHA256 over "id.timestamp.body">`, keyed
//! by the base64-decoded part of the `whsec_…` secret.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use ec_domain::destination::Secret;

use crate::app::destination_input::WEBHOOK_SECRET_PREFIX;

/// The three Standard Webhooks headers for `body` sent as `msg_id` at `timestamp`; `None`
/// when the secret is not a `whsec_` secret (which creation prevents).
pub fn headers(
    secret: &Secret,
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Option<Vec<(String, String)>> {
    let key = secret
        .expose()
        .strip_prefix(WEBHOOK_SECRET_PREFIX)
        .and_then(|k| STANDARD.decode(k).ok())?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{msg_id}.{timestamp}.").as_bytes());
    mac.update(body);
    let signature = STANDARD.encode(mac.finalize().into_bytes());
    Some(vec![
        ("content-type".into(), "application/json".into()),
        ("webhook-id".into(), msg_id.into()),
        ("webhook-timestamp".into(), timestamp.to_string()),
        ("webhook-signature".into(), format!("v1,{signature}")),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The specification's own example (standard-webhooks/spec, "Signature scheme").
    #[test]
    fn the_specifications_example_signs_alike() {
        let secret = Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let body = br#"{"test": 2432232314}"#;
        let h = headers(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap();
        assert_eq!(
            h[3],
            (
                "webhook-signature".to_string(),
                "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=".to_string()
            )
        );
        assert!(headers(&Secret::new("not-whsec"), "m", 1, body).is_none());
    }
}
