//! Wall time and peak memory of a command and every process it starts, measured the same
//! way for ExportCenter and for the tools it is compared with (Chromium runs several
//! processes, so a single process's peak would flatter it).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde::Serialize;

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Measured {
    pub seconds: f64,
    /// Highest sum of resident memory over the command's process group, sampled every 5 ms,
    /// and never below the kernel's own peak for the largest single process.
    pub peak_rss_mib: f64,
}

/// Resident set of every process in process group `pgid`, in KiB.
fn group_rss_kib(pgid: i32) -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut total = 0;
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the command name (which may hold spaces): state ppid pgrp ...
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.get(2).and_then(|g| g.parse::<i32>().ok()) != Some(pgid) {
            continue;
        }
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
            total += status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    total
}

/// Runs `cmd` in its own process group and measures it; fails if it exits non-zero.
pub fn run(mut cmd: Command) -> anyhow::Result<Measured> {
    use std::os::unix::process::CommandExt;
    cmd.process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().with_context(|| format!("starting {cmd:?}"))?;
    let pgid = i32::try_from(child.id()).context("pid out of range")?;
    let mut peak_kib = 0;
    let status = loop {
        peak_kib = peak_kib.max(group_rss_kib(pgid));
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let seconds = started.elapsed().as_secs_f64();
    if !status.success() {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            use std::io::Read;
            let _ = e.read_to_string(&mut err);
        }
        bail!("{cmd:?} failed ({status}): {}", err.trim());
    }
    Ok(Measured {
        seconds,
        peak_rss_mib: peak_kib as f64 / 1024.0,
    })
}

/// The best (lowest time) of `runs` runs, and the highest peak seen in any of them.
pub fn best_of(runs: usize, mut make: impl FnMut() -> Command) -> anyhow::Result<Measured> {
    let mut best: Option<Measured> = None;
    for _ in 0..runs.max(1) {
        let m = run(make())?;
        best = Some(match best {
            None => m,
            Some(b) => Measured {
                seconds: b.seconds.min(m.seconds),
                peak_rss_mib: b.peak_rss_mib.max(m.peak_rss_mib),
            },
        });
    }
    best.context("no run")
}
