//! Slack incoming webhooks: a Block Kit message (`text` as the notification's fallback, a
//! header, the counts or the error, what was exported, and buttons to the report and the
//! sealed bundle), within Block Kit's documented limits (header text 150 characters,
//! section text 3,000, button text 75).

use serde_json::{Value, json};

use super::Announcement;

/// Cuts `s` to `max` characters (Slack refuses longer texts).
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The message body.
pub fn body(a: &Announcement) -> Vec<u8> {
    let headline = a.headline();
    let detail = a
        .counts()
        .or_else(|| a.error.clone())
        .unwrap_or_else(|| a.what.clone());
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": cut(&headline, 150)}}),
        json!({"type": "section", "text": {"type": "mrkdwn", "text": cut(&detail, 3000)}}),
        json!({"type": "context", "elements": [{"type": "mrkdwn", "text": cut(&a.what, 3000)}]}),
    ];
    let mut buttons: Vec<Value> = Vec::new();
    for (label, url) in [
        ("Download report", a.links.report.as_deref()),
        ("Download sealed bundle", a.links.bundle.as_deref()),
        ("Open export", Some(a.links.export.as_str())),
    ] {
        if let Some(url) = url.filter(|u| u.starts_with("http")) {
            buttons.push(json!({"type": "button", "text": {"type": "plain_text", "text": label}, "url": url}));
        }
    }
    if !buttons.is_empty() {
        blocks.push(json!({"type": "actions", "elements": buttons}));
    }
    let msg = json!({"text": cut(&format!("{headline}: {detail}"), 3000), "blocks": blocks});
    serde_json::to_vec(&msg).unwrap_or_default()
}
