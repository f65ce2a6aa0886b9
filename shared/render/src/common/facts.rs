//! What a scanner said about a vulnerability beyond its severity, summed over the findings
//! that share its id: when it was published and last modified, its EPSS probability and
//! whether CISA lists it as known exploited. SARIF rules, CycloneDX vulnerabilities and the
//! detailed PDF each print these the same way.

use time::OffsetDateTime;

use ec_domain::scan::{Epss, Finding};

/// The facts of one vulnerability id.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct VulnerabilityFacts<'a> {
    /// The earliest publication date any finding gives.
    pub published: Option<OffsetDateTime>,
    /// The latest modification date any finding gives.
    pub modified: Option<OffsetDateTime>,
    /// The EPSS entry with the highest score.
    pub epss: Option<&'a Epss>,
    pub known_exploited: bool,
}

impl<'a> VulnerabilityFacts<'a> {
    pub(crate) fn of(findings: impl IntoIterator<Item = &'a Finding>) -> Self {
        let mut out = VulnerabilityFacts::default();
        for f in findings {
            let d = &f.details;
            out.published = match (out.published, d.published) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            out.modified = match (out.modified, d.modified) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            if let Some(e) = &d.epss
                && out.epss.is_none_or(|o| e.score > o.score)
            {
                out.epss = Some(e);
            }
            out.known_exploited |= d.known_exploited;
        }
        out
    }

    /// `published 2019-11-05 · modified 2023-02-01 · EPSS 0.0123 (87th percentile, 2024-05-01)
    /// · known exploited (CISA KEV)`; empty when there is nothing to say.
    #[cfg(feature = "pdf")]
    pub(crate) fn line(&self) -> String {
        let day = |t: OffsetDateTime| ec_domain::time::rfc3339(t)[..10].to_string();
        let mut parts = Vec::new();
        if let Some(p) = self.published {
            parts.push(format!("published {}", day(p)));
        }
        if let Some(m) = self.modified {
            parts.push(format!("modified {}", day(m)));
        }
        if let Some(e) = self.epss {
            let mut s = format!("EPSS {:.4}", e.score);
            let mut about = Vec::new();
            if let Some(p) = e.percentile {
                about.push(format!("percentile {:.2}", p));
            }
            if let Some(d) = &e.date {
                about.push(d.clone());
            }
            if !about.is_empty() {
                s.push_str(&format!(" ({})", about.join(", ")));
            }
            parts.push(s);
        }
        if self.known_exploited {
            parts.push("known exploited (CISA KEV)".to_string());
        }
        parts.join(" · ")
    }
}
