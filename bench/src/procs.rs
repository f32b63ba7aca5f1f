//! Processes: the children a benchmark starts (always stopped, even when the
//! benchmark fails), their memory as /proc reports it, and the open-file
//! limit a cluster of hundreds of nodes needs.

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

/// Raises this process's soft open-file limit to its hard limit (children
/// inherit it); returns the limit now in force.
pub fn raise_fd_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                return raised.rlim_cur;
            }
        }
    }
    limit.rlim_cur
}

/// A `VmXxx:` field of /proc/<pid>/status in KiB ("self" for this process).
pub fn status_kib(pid: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// Resets this process's peak RSS (VmHWM) to its current RSS, so the next
/// reading of VmHWM is the peak of what runs in between.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The pids whose parent is `parent`.
pub fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| parent_of(*pid) == Some(parent))
        .collect()
}

/// Whether `pid` runs `pairctl node <role> ...`.
pub fn is_node(pid: u32, role: &str) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        args.windows(2)
            .any(|w| w[0] == b"node" && w[1] == role.as_bytes())
    })
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: parse after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Sends `signal` to `pid`.
pub fn signal(pid: u32, signal: i32) {
    // SAFETY: kill(2) with a pid we started; failure (already gone) is fine.
    unsafe {
        libc::kill(pid as i32, signal);
    }
}

/// A child process that is stopped when dropped: SIGTERM, then SIGKILL
/// after `grace`. Its own children are SIGKILLed too if they outlive it.
pub struct ChildGuard {
    pub child: Child,
    pub grace: Duration,
}

impl ChildGuard {
    pub fn new(child: Child, grace: Duration) -> ChildGuard {
        ChildGuard { child, grace }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the child (SIGTERM, then SIGKILL after the grace) and reaps it;
    /// returns whether it stopped within the grace.
    pub fn stop(&mut self) -> bool {
        if let Ok(Some(_)) = self.child.try_wait() {
            return true;
        }
        let grandchildren = children_of(self.pid());
        signal(self.pid(), libc::SIGTERM);
        let deadline = Instant::now() + self.grace;
        let mut clean = false;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                clean = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if !clean {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        for pid in grandchildren {
            if Path::new(&format!("/proc/{pid}")).exists() && parent_of(pid).is_some() {
                signal(pid, libc::SIGKILL);
            }
        }
        clean
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.stop();
    }
}
