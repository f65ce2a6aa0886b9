//! Microsoft Teams incoming webhooks (and Workflows' "post to a channel when a webhook
//! request is received"): a message with one Adaptive Card attachment (schema 1.4: a
//! heading, the counts or the error, what was exported, and `Action.OpenUrl` buttons to the
//! report and the sealed bundle).

use serde_json::{Value, json};

use super::Announcement;

/// The message body.
pub fn body(a: &Announcement) -> Vec<u8> {
    let detail = a
        .counts()
        .or_else(|| a.error.clone())
        .unwrap_or_else(|| a.what.clone());
    let mut actions: Vec<Value> = Vec::new();
    for (title, url) in [
        ("Download report", a.links.report.as_deref()),
        ("Download sealed bundle", a.links.bundle.as_deref()),
        ("Open export", Some(a.links.export.as_str())),
    ] {
        if let Some(url) = url.filter(|u| u.starts_with("http")) {
            actions.push(json!({"type": "Action.OpenUrl", "title": title, "url": url}));
        }
    }
    let card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {"type": "TextBlock", "text": a.headline(), "size": "Medium", "weight": "Bolder", "wrap": true},
            {"type": "TextBlock", "text": detail, "wrap": true},
            {"type": "TextBlock", "text": a.what, "isSubtle": true, "spacing": "Small", "wrap": true}
        ],
        "actions": actions,
    });
    let msg = json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card,
        }],
    });
    serde_json::to_vec(&msg).unwrap_or_default()
}
