//! Adapters both stacks use, so neither copies them and the pipeline holds none: the four
//! data sources (a StellaOps service over HTTP where configured, else what was ingested
//! through the API), chosen by [`sources::Sources::from_env`], and the report renderer
//! ([`renderer::LocalRenderer`]: built-in templates in process, custom ones in the
//! [`sandbox`]).

pub mod http_sender;
pub mod http_sources;
pub mod local_sources;
pub mod mailer;
pub mod renderer;
pub mod resolver;
pub mod sandbox;
pub mod sources;
pub mod tsa;
