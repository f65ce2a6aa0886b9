//! The export pipeline: what happens to an export, with no I/O of its own. It reads as the
//! flow does:
//!
//! - [`app`]: the API's services (`Exports`, `Scans`, `Templates`, `Schedules`): typed
//!   inputs in, a job row and a gather message out;
//! - [`stages`]: `Gather` → `Render` (and store) → `Seal`, each over the ports it uses, with
//!   [`jobs::JobSteps`] for the job's state changes and [`notify::Notifier`] for events;
//! - [`scheduler`]: schedule runs; [`sweeper`]: active expiry; [`worker`]: the embedded
//!   pull loop;
//! - [`Pipeline::new`]: hands each of them its ports from a stack's [`Ports`].
//!
//! The same code runs on Lambda (AWS adapters, `ec_aws`) and in `exportctl serve`
//! (embedded adapters, `ec_embedded`).

pub mod app;
pub mod custom_templates;
mod delivery_records;
pub mod guard;
pub mod jobs;
pub mod notify;
pub mod offline;
pub mod outbound;
pub mod scheduler;
pub mod sender;
pub mod settings;
pub mod stages;
pub mod sweeper;
pub mod worker;

pub use ec_domain::ports::Ports;
pub use ec_domain::{FailureCode, StageError};
pub use settings::Settings;

use app::{App, Audit, Destinations, Exports, Scans, Schedules, Templates};
use custom_templates::CustomTemplates;
use guard::UrlGuard;
use jobs::JobSteps;
use notify::Notifier;
use scheduler::Scheduler;
use sender::Sender;
use stages::{Deliver, Gather, Render, RetryPolicy, Seal, Stages};
use sweeper::Sweeper;

/// What a stage handler did with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The job advanced.
    Done,
    /// Nothing to do: a duplicate delivery, or the job is cancelled or gone.
    Skipped(String),
}

/// The pipeline wired to one stack's ports: the API's services, the worker stages and the
/// scheduler, each holding only its own ports.
#[derive(Clone)]
pub struct Pipeline {
    pub app: App,
    pub stages: Stages,
    pub scheduler: Scheduler,
    pub sweeper: Sweeper,
}

impl Pipeline {
    pub fn new(ports: Ports, settings: Settings) -> Pipeline {
        let templates = CustomTemplates {
            objects: ports.objects.clone(),
        };
        let notifier = Notifier {
            connections: ports.connections.clone(),
            push: ports.push.clone(),
        };
        let steps = JobSteps {
            jobs: ports.jobs.clone(),
            queue: ports.queue.clone(),
            notifier: notifier.clone(),
            quotas: ports.quotas.clone(),
            destinations: ports.destinations.clone(),
            retention: settings.retention,
            crash_at: settings.crash_at,
        };
        let exports = Exports {
            jobs: ports.jobs.clone(),
            idempotency: ports.idempotency.clone(),
            queue: ports.queue.clone(),
            scans: ports.scans.clone(),
            objects: ports.objects.clone(),
            templates: templates.clone(),
            quotas: ports.quotas.clone(),
            destinations: ports.destinations.clone(),
            notifier,
            tenants: settings.tenants.clone(),
            retention: settings.retention,
            download_ttl: settings.download_ttl,
            idempotency_ttl: settings.idempotency_ttl,
            resend_queued_after: settings.resend_queued_after,
        };
        let audit = Audit {
            log: ports.audit.clone(),
        };
        let guard = UrlGuard {
            resolver: ports.resolver.clone(),
            allow_private: settings.allow_private_destinations,
        };
        let sender = Sender {
            secrets: ports.destination_secrets.clone(),
            guard: guard.clone(),
            http: ports.http.clone(),
            mailer: ports.mailer.clone(),
            objects: ports.objects.clone(),
            email_attach_max_bytes: settings.email_attach_max_bytes,
            github_api_url: settings.github_api_url.clone(),
            github_polls: 5,
            github_poll_interval: std::time::Duration::from_secs(2),
            buckets: ports.buckets.clone(),
            bucket_own_credentials: settings.s3_destination_own_credentials,
        };
        let app = App {
            keys: app::Keys::new(&ports.signing),
            audit: audit.clone(),
            exports: exports.clone(),
            scans: Scans {
                objects: ports.objects.clone(),
                catalog: ports.catalog.clone(),
            },
            templates: Templates {
                store: templates.clone(),
            },
            schedules: Schedules {
                store: ports.schedules.clone(),
                trigger: ports.trigger.clone(),
                exports: exports.clone(),
            },
            destinations: Destinations {
                store: ports.destinations.clone(),
                sender: sender.clone(),
                public_url: settings.public_url.clone(),
            },
        };
        let stages = Stages {
            gather: Gather {
                steps: steps.clone(),
                scans: ports.scans,
                verdicts: ports.verdicts,
                vex: ports.vex,
                sboms: ports.sboms,
                templates,
                objects: ports.objects.clone(),
                audit: audit.clone(),
            },
            render: Render {
                steps: steps.clone(),
                objects: ports.objects.clone(),
                renderer: ports.renderer,
            },
            seal: Seal {
                steps: steps.clone(),
                objects: ports.objects.clone(),
                keys: ports.signing.clone(),
                keys_published: Default::default(),
                timestamper: ports.timestamper.clone(),
                tsa_required: settings.tsa_required,
                audit: audit.clone(),
            },
            deliver: Deliver {
                steps: steps.clone(),
                destinations: ports.destinations.clone(),
                sender: sender.clone(),
                audit: audit.clone(),
                retry: RetryPolicy {
                    base: settings.delivery_retry_base,
                    cap: settings.delivery_retry_cap,
                    max_age: settings.delivery_max_age,
                },
                public_url: settings.public_url.clone(),
            },
            steps,
            max_attempts: settings.max_attempts,
        };
        let sweeper = Sweeper {
            jobs: ports.jobs.clone(),
            objects: ports.objects.clone(),
            audit,
            retention: settings.retention,
        };
        let scheduler = Scheduler {
            store: ports.schedules,
            exports,
        };
        Pipeline {
            app,
            stages,
            scheduler,
            sweeper,
        }
    }
}
