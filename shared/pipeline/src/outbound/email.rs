//! Email: a subject with the outcome and the counts, a plain-text body and an HTML body
//! saying the same (counts by severity, the policy decision or the error, what was
//! exported, links to the report, the sealed bundle and the export), every tenant-made
//! string HTML-escaped.

use super::Announcement;

/// Subject, plain text and HTML of the message about `a`; `attachment_note` says what
/// happened to the report (attached, or too large to attach).
pub fn compose(a: &Announcement, attachment_note: Option<&str>) -> (String, String, String) {
    let detail = a.counts().or_else(|| a.error.clone());
    let subject = match &detail {
        Some(d) => format!("[ExportCenter] {} — {d}", a.headline()),
        None => format!("[ExportCenter] {}", a.headline()),
    };
    let mut links: Vec<(&str, &str)> = Vec::new();
    if let Some(r) = a.links.report.as_deref() {
        links.push(("Download the report", r));
    }
    if let Some(b) = a.links.bundle.as_deref() {
        links.push(("Download the sealed bundle", b));
    }
    links.push(("Open the export", &a.links.export));

    let mut text = format!("{}.\n\n", a.headline());
    if let Some(d) = &detail {
        text.push_str(&format!("{d}\n"));
    }
    text.push_str(&format!("{}\n", a.what));
    if let Some(note) = attachment_note {
        text.push_str(&format!("\n{note}\n"));
    }
    text.push('\n');
    for (label, url) in &links {
        text.push_str(&format!("{label}: {url}\n"));
    }

    let mut html = format!(
        "<!doctype html><html><body><h2>{}</h2>",
        escape(&a.headline())
    );
    if let Some(d) = &detail {
        html.push_str(&format!("<p><strong>{}</strong></p>", escape(d)));
    }
    html.push_str(&format!("<p>{}</p>", escape(&a.what)));
    if let Some(note) = attachment_note {
        html.push_str(&format!("<p>{}</p>", escape(note)));
    }
    html.push_str("<ul>");
    for (label, url) in &links {
        html.push_str(&format!(
            "<li><a href=\"{}\">{}</a></li>",
            escape(url),
            escape(label)
        ));
    }
    html.push_str("</ul></body></html>");
    (subject, text, html)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
