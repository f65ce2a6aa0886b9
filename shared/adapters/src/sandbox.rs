//! Custom templates run in a child process: a tenant's template is code, and the worker must
//! survive it. The child is the worker's own executable started with [`SANDBOX_ARG`]; it
//! reads the snapshot on stdin, writes the report on stdout, and runs under an address-space
//! and CPU-time limit while the parent enforces a wall-clock deadline. A template that loops,
//! allocates without end or crashes fails its export with `ERR_TEMPLATE_LIMIT` or
//! `ERR_TEMPLATE`; the worker carries on.
//!
//! Every binary that renders (`export-render`, `exportctl`) calls [`serve_if_requested`]
//! first thing in `main`.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ec_domain::snapshot::Snapshot;

use ec_domain::{StageCode, StageError};

/// The first argument that turns a worker binary into a sandboxed renderer.
pub const SANDBOX_ARG: &str = "--exportcenter-render-sandbox";

/// Exit status of a child whose template failed (stderr holds `code\tmessage`).
const TEMPLATE_FAILED: i32 = 3;

#[derive(Debug, Clone)]
pub struct SandboxLimits {
    /// The executable that serves [`SANDBOX_ARG`]; the current one unless set.
    pub program: Option<PathBuf>,
    /// `EXPORTCENTER_TEMPLATE_TIMEOUT_SECS`: wall-clock limit, also the CPU-time limit.
    pub timeout: Duration,
    /// `EXPORTCENTER_TEMPLATE_MEMORY_MB`: address-space limit of the child.
    pub memory_bytes: u64,
}

impl Default for SandboxLimits {
    fn default() -> Self {
        SandboxLimits {
            program: None,
            timeout: Duration::from_secs(30),
            memory_bytes: 1024 * 1024 * 1024,
        }
    }
}

/// In a child started with [`SANDBOX_ARG`]: renders stdin to stdout and exits. Otherwise
/// returns, and the binary goes on as usual.
pub fn serve_if_requested() {
    if std::env::args().nth(1).as_deref() != Some(SANDBOX_ARG) {
        return;
    }
    let mut input = Vec::new();
    let result = std::io::stdin()
        .read_to_end(&mut input)
        .map_err(|e| ("ERR_TEMPLATE", format!("reading the snapshot: {e}")))
        .and_then(|_| {
            serde_json::from_slice::<Snapshot>(&input)
                .map_err(|e| ("ERR_TEMPLATE", format!("snapshot unreadable: {e}")))
        })
        .and_then(|snapshot| {
            ec_render::render(&snapshot).map_err(|e| (e.code().as_str(), e.to_string()))
        });
    match result {
        Ok(bytes) => {
            let mut out = std::io::stdout().lock();
            if out.write_all(&bytes).and_then(|_| out.flush()).is_err() {
                std::process::exit(1);
            }
            std::process::exit(0);
        }
        Err((code, message)) => {
            eprint!("{code}\t{message}");
            std::process::exit(TEMPLATE_FAILED);
        }
    }
}

/// Renders `snapshot` (which names a custom template) in a limited child process.
pub fn render_isolated(snapshot: &Snapshot, limits: &SandboxLimits) -> Result<Vec<u8>, StageError> {
    let input = serde_json::to_vec(snapshot)
        .map_err(|e| StageError::permanent(StageCode::Encode, e.to_string()))?;
    let program = match &limits.program {
        Some(p) => p.clone(),
        None => std::env::current_exe().map_err(|e| {
            StageError::retryable(
                StageCode::Template,
                format!("cannot find own executable: {e}"),
            )
        })?,
    };
    let mut cmd = Command::new(&program);
    cmd.arg(SANDBOX_ARG)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    limit_child(&mut cmd, limits);
    let mut child = cmd.spawn().map_err(|e| {
        StageError::retryable(
            StageCode::Template,
            format!(
                "cannot start the template sandbox {}: {e}",
                program.display()
            ),
        )
    })?;
    // Feed and drain on threads so a child that stops reading cannot block the deadline.
    let mut stdin = child.stdin.take();
    let feeder = std::thread::spawn(move || {
        if let Some(s) = stdin.as_mut() {
            let _ = s.write_all(&input);
        }
    });
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                // Bounded: a template cannot make the parent hold more than the render limit.
                let _ = p
                    .by_ref()
                    .take(ec_render::custom::MAX_OUTPUT_BYTES as u64 + 1)
                    .read_to_end(&mut buf);
            }
            buf
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() >= limits.timeout => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => {
                return Err(StageError::retryable(
                    StageCode::Template,
                    format!("waiting for the template sandbox: {e}"),
                ));
            }
        }
    };
    let _ = feeder.join();
    let out = stdout.join().unwrap_or_default();
    let err = String::from_utf8_lossy(&stderr.join().unwrap_or_default()).into_owned();
    let Some(status) = status else {
        return Err(StageError::permanent(
            StageCode::TemplateLimit,
            format!(
                "the custom template ran longer than {} s and was stopped",
                limits.timeout.as_secs()
            ),
        ));
    };
    match status.code() {
        Some(0) => Ok(out),
        Some(TEMPLATE_FAILED) => {
            let (code, message) = err
                .split_once('\t')
                .unwrap_or(("ERR_TEMPLATE", err.as_str()));
            // Only the child's own stable codes pass through.
            let code = match code {
                "ERR_TEMPLATE" => StageCode::Template,
                "ERR_RENDER_UNSUPPORTED" => StageCode::RenderUnsupported,
                _ => StageCode::RenderEncode,
            };
            Err(StageError::permanent(code, message.to_string()))
        }
        // Killed by the CPU limit, or aborted when an allocation hit the memory limit.
        _ => Err(StageError::permanent(
            StageCode::TemplateLimit,
            format!(
                "the custom template exceeded its limits ({} MiB memory, {} s CPU) and was stopped",
                limits.memory_bytes / (1024 * 1024),
                limits.timeout.as_secs()
            ),
        )),
    }
}

#[cfg(unix)]
fn limit_child(cmd: &mut Command, limits: &SandboxLimits) {
    use std::os::unix::process::CommandExt;
    let memory = limits.memory_bytes;
    let cpu = limits.timeout.as_secs().max(1);
    // SAFETY: between fork and exec only async-signal-safe calls happen: setrlimit is one.
    unsafe {
        cmd.pre_exec(move || {
            rlimit::setrlimit(rlimit::Resource::AS, memory, memory)?;
            rlimit::setrlimit(rlimit::Resource::CPU, cpu, cpu + 1)?;
            Ok(())
        });
    }
}

#[cfg(not(unix))]
fn limit_child(_cmd: &mut Command, _limits: &SandboxLimits) {}
