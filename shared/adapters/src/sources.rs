//! Which data source serves each of scans, verdicts, VEX and SBOMs: a StellaOps service
//! where its URL is configured (`EXPORTCENTER_SCANNER_URL`, `_POLICY_URL`, `_VEX_URL`,
//! `_SBOM_URL`), else the local one over what the API ingested. Read once through [`Env`].

use std::sync::Arc;
use std::time::Duration;

use ec_domain::env::{ConfigError, Env, parse_var};
use ec_domain::policy::PolicyConfig;
use ec_domain::ports::{
    ObjectStore, SbomSource, ScanCatalog, ScanSource, VerdictSource, VexSource,
};

use crate::http_sources::{HttpSboms, HttpScans, HttpVerdicts, HttpVex, Service};
use crate::local_sources::{BuiltinPolicy, DerivedSbom, StoredScans, StoredVex};

/// The four data sources.
pub struct Sources {
    pub scans: Arc<dyn ScanSource>,
    pub verdicts: Arc<dyn VerdictSource>,
    pub vex: Arc<dyn VexSource>,
    pub sboms: Arc<dyn SbomSource>,
}

impl Sources {
    pub fn from_env(
        env: &dyn Env,
        policy: &PolicyConfig,
        objects: Arc<dyn ObjectStore>,
        catalog: Arc<dyn ScanCatalog>,
    ) -> Result<Sources, ConfigError> {
        let token = env.var("EXPORTCENTER_INTERNAL_TOKEN");
        let timeout =
            Duration::from_secs(parse_var(env, "EXPORTCENTER_INTERNAL_TIMEOUT_SECS", 30u64)?);
        let service = |var: &'static str| -> Result<Option<Service>, ConfigError> {
            env.var(var)
                .map(|url| {
                    Service::new(&url, token.clone(), timeout).map_err(|e| ConfigError {
                        var,
                        reason: e.to_string(),
                    })
                })
                .transpose()
        };
        Ok(Sources {
            scans: match service("EXPORTCENTER_SCANNER_URL")? {
                Some(s) => Arc::new(HttpScans(s)),
                None => Arc::new(StoredScans {
                    objects: objects.clone(),
                    catalog,
                }),
            },
            verdicts: match service("EXPORTCENTER_POLICY_URL")? {
                Some(s) => Arc::new(HttpVerdicts(s)),
                None => Arc::new(BuiltinPolicy(policy.clone())),
            },
            vex: match service("EXPORTCENTER_VEX_URL")? {
                Some(s) => Arc::new(HttpVex(s)),
                None => Arc::new(StoredVex { objects }),
            },
            sboms: match service("EXPORTCENTER_SBOM_URL")? {
                Some(s) => Arc::new(HttpSboms(s)),
                None => Arc::new(DerivedSbom),
            },
        })
    }
}
