//! Child processes (spawn, wait for `listening on http://ADDR`, stop) and
//! what `/proc` says about them: CPU ticks, resident memory, the fd limit
//! and the machine.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};

/// A running child, killed (and reaped) when dropped.
#[derive(Debug)]
pub struct Running {
    /// Short name for messages.
    pub name: String,
    /// Process id.
    pub pid: u32,
    /// File receiving its stderr.
    pub log: PathBuf,
    child: std::process::Child,
}

impl Running {
    /// Whether it is still running (an exit is reported with its log tail).
    pub fn check_alive(&mut self) -> Result<()> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => bail!(
                "{} exited ({status}); last lines of {}:\n{}",
                self.name,
                self.log.display(),
                log_tail(&self.log)
            ),
            Err(e) => Err(anyhow!("cannot wait for {}: {e}", self.name)),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The last lines of a log file (for error messages).
pub fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// Spawns `cmd` with stderr to `log`, and starts a thread that drains its
/// stdout; returns the process and a receiver of its stdout lines.
pub fn spawn(
    name: &str,
    mut cmd: Command,
    log: &Path,
) -> Result<(Running, mpsc::Receiver<String>)> {
    let err =
        std::fs::File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(err));
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start {name} ({:?})", cmd.get_program()))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow!("{name}: no stdout pipe"))?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        while matches!(reader.read_line(&mut line), Ok(n) if n > 0) {
            if tx.send(line.trim_end().to_owned()).is_err() {
                break;
            }
            line.clear();
        }
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    let running = Running {
        name: name.to_owned(),
        pid: child.id(),
        log: log.to_path_buf(),
        child,
    };
    Ok((running, rx))
}

/// Spawns `cmd` and waits up to `timeout` for its `listening on
/// http://ADDR` line.
pub fn spawn_listening(
    name: &str,
    cmd: Command,
    log: &Path,
    timeout: Duration,
) -> Result<(Running, SocketAddr)> {
    let (mut running, lines) = spawn(name, cmd, log)?;
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                if let Some(addr) = parse_listening(&line) {
                    return Ok((running, addr));
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                bail!(
                    "{name} did not print `listening on http://...` within {timeout:?}; last lines of {}:\n{}",
                    log.display(),
                    log_tail(log)
                );
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                std::thread::sleep(Duration::from_millis(50));
                running.check_alive()?;
                bail!("{name} closed its stdout before listening");
            }
        }
    }
}

/// The address of a `listening on http://ADDR` line.
pub fn parse_listening(line: &str) -> Option<SocketAddr> {
    line.trim()
        .strip_prefix("listening on http://")?
        .trim_end_matches('/')
        .parse()
        .ok()
}

/// Runs a command to completion and returns its stdout (errors carry its
/// stderr).
pub fn run_to_end(mut cmd: Command) -> Result<String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {:?}", cmd.get_program()))?;
    if !out.status.success() {
        bail!(
            "{:?} {:?} failed ({}): {}",
            cmd.get_program(),
            cmd.get_args().collect::<Vec<_>>(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    String::from_utf8(out.stdout).context("output is not UTF-8")
}

/// Kernel clock ticks per second (`getconf CLK_TCK`), and whether 100 was
/// assumed because it could not be read.
pub fn clock_ticks() -> (u64, bool) {
    let read = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|&t: &u64| t > 0);
    match read {
        Some(t) => (t, false),
        None => (100, true),
    }
}

/// From `/proc/PID/stat`: (ppid, utime + stime + cutime + cstime) in ticks.
/// The command name may hold spaces and parentheses; fields are counted
/// after its last `)`.
pub fn parse_stat(text: &str) -> Option<(u32, u64)> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (state); ppid is field 4, utime..cstime 14..17.
    let ppid = fields.get(1)?.parse().ok()?;
    let mut ticks = 0u64;
    for i in 11..15 {
        ticks += fields.get(i)?.parse::<i64>().ok()?.max(0) as u64;
    }
    Some((ppid, ticks))
}

/// Resident memory from `/proc/PID/status`, in KiB.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Memory {
    /// `VmRSS`: resident now.
    pub rss_kib: u64,
    /// `VmHWM`: the peak resident size.
    pub hwm_kib: u64,
}

/// Parses `VmRSS` and `VmHWM` out of `/proc/PID/status`.
pub fn parse_status(text: &str) -> Memory {
    let mut m = Memory::default();
    for line in text.lines() {
        let value = |l: &str| {
            l.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        if line.starts_with("VmRSS:") {
            m.rss_kib = value(line);
        } else if line.starts_with("VmHWM:") {
            m.hwm_kib = value(line);
        }
    }
    m
}

/// `root` and every process descending from it.
fn tree(root: u32) -> Vec<u32> {
    let mut parents: HashMap<u32, Vec<u32>> = HashMap::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
                continue;
            };
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            if let Some((ppid, _)) = parse_stat(&stat) {
                parents.entry(ppid).or_default().push(pid);
            }
        }
    }
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        if let Some(children) = parents.get(&out[i]) {
            out.extend(children);
        }
        i += 1;
    }
    out
}

/// CPU ticks (user + system, children included) of `pid` and its
/// descendants.
pub fn cpu_ticks(pid: u32) -> Result<u64> {
    let mut total = 0;
    for p in tree(pid) {
        let path = format!("/proc/{p}/stat");
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                total += parse_stat(&text)
                    .ok_or_else(|| anyhow!("cannot parse {path}"))?
                    .1;
            }
            Err(e) if p == pid => return Err(anyhow!("cannot read {path}: {e}")),
            Err(_) => {}
        }
    }
    Ok(total)
}

/// Resident memory of `pid` and its descendants (summed).
pub fn memory(pid: u32) -> Result<Memory> {
    let mut total = Memory::default();
    for p in tree(pid) {
        let path = format!("/proc/{p}/status");
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let m = parse_status(&text);
                total.rss_kib += m.rss_kib;
                total.hwm_kib += m.hwm_kib;
            }
            Err(e) if p == pid => return Err(anyhow!("cannot read {path}: {e}")),
            Err(_) => {}
        }
    }
    Ok(total)
}

/// The soft limit on open files from `/proc/self/limits`.
pub fn parse_fd_soft_limit(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line["Max open files".len()..].split_whitespace().next()?;
    if soft == "unlimited" {
        Some(u64::MAX)
    } else {
        soft.parse().ok()
    }
}

/// This process's soft limit on open files (children inherit it).
pub fn fd_soft_limit() -> Option<u64> {
    parse_fd_soft_limit(&std::fs::read_to_string("/proc/self/limits").ok()?)
}

/// The machine the run happened on.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Machine {
    /// Online CPUs (`nproc`).
    pub cpus: usize,
    /// `MemTotal` in KiB.
    pub mem_total_kib: u64,
    /// First `model name` of `/proc/cpuinfo`.
    pub cpu_model: String,
    /// Kernel clock ticks per second used for CPU time.
    pub clock_ticks: u64,
    /// Whether `clock_ticks` was assumed (100) rather than read.
    pub clock_ticks_assumed: bool,
    /// 1, 5 and 15 minute load averages when the run started.
    pub load_at_start: String,
    /// The same when the report was written.
    pub load_at_end: String,
}

/// The 1, 5 and 15 minute load averages (`/proc/loadavg`).
pub fn load_average() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// (busy, total) jiffies of all CPUs from the `cpu` line of `/proc/stat`
/// (idle and iowait count as not busy).
pub fn parse_proc_stat_cpu(text: &str) -> Option<(u64, u64)> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3)? + v.get(4).copied().unwrap_or(0);
    Some((total.saturating_sub(idle), total))
}

/// Fraction of the machine's CPU time that was busy over `window` (before
/// the run: anything above a few percent is someone else's work).
pub fn cpu_busy(window: Duration) -> Option<f64> {
    let sample = || parse_proc_stat_cpu(&std::fs::read_to_string("/proc/stat").ok()?);
    let (b0, t0) = sample()?;
    std::thread::sleep(window);
    let (b1, t1) = sample()?;
    let total = t1.saturating_sub(t0);
    (total > 0).then(|| b1.saturating_sub(b0) as f64 / total as f64)
}

/// Reads the machine description; `load_at_start` from [`load_average`].
pub fn machine(load_at_start: String) -> Machine {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let (clock_ticks, clock_ticks_assumed) = clock_ticks();
    Machine {
        cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
        mem_total_kib: parse_meminfo_total(&meminfo),
        cpu_model: parse_cpu_model(&cpuinfo),
        clock_ticks,
        clock_ticks_assumed,
        load_at_start,
        load_at_end: load_average(),
    }
}

/// `MemTotal` of `/proc/meminfo`, KiB.
pub fn parse_meminfo_total(text: &str) -> u64 {
    text.lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The first `model name` of `/proc/cpuinfo`.
pub fn parse_cpu_model(text: &str) -> String {
    text.lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or_else(|| "unknown".to_owned(), |(_, v)| v.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_odd_command_name() {
        let text = "4242 (tokio (rt) x) S 17 4242 4242 0 -1 4194560 2510 0 0 0 150 37 4 5 20 0 5 0 123 0 0";
        assert_eq!(parse_stat(text), Some((17, 150 + 37 + 4 + 5)));
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (x) S 0 1"), None);
    }

    #[test]
    fn own_stat_parses() {
        let pid = std::process::id();
        let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        assert!(parse_stat(&text).is_some());
        assert!(memory(pid).unwrap().rss_kib > 0);
        cpu_ticks(pid).unwrap();
    }

    #[test]
    fn status_memory() {
        let text = "Name:\tmodelgate\nVmPeak:\t  900000 kB\nVmHWM:\t   41234 kB\nVmRSS:\t   30000 kB\nThreads:\t3\n";
        assert_eq!(
            parse_status(text),
            Memory {
                rss_kib: 30000,
                hwm_kib: 41234
            }
        );
    }

    #[test]
    fn limits_meminfo_cpuinfo() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 1048576              files\n";
        assert_eq!(parse_fd_soft_limit(limits), Some(1024));
        let unl = "Max open files            unlimited            unlimited            files\n";
        assert_eq!(parse_fd_soft_limit(unl), Some(u64::MAX));
        assert_eq!(
            parse_meminfo_total("MemTotal:       24684084 kB\nMemFree: 1 kB\n"),
            24684084
        );
        assert_eq!(
            parse_cpu_model("processor\t: 0\nmodel name\t: AMD EPYC 7B13\n"),
            "AMD EPYC 7B13"
        );
        assert_eq!(parse_cpu_model(""), "unknown");
    }

    #[test]
    fn proc_stat_busy() {
        let text = "cpu  100 5 50 800 20 1 2 3 0 0\ncpu0 1 2 3 4\n";
        assert_eq!(parse_proc_stat_cpu(text), Some((161, 981)));
        assert_eq!(parse_proc_stat_cpu("intr 1"), None);
        let busy = cpu_busy(Duration::from_millis(20)).unwrap();
        assert!((0.0..=1.0).contains(&busy));
    }

    #[test]
    fn listening_line() {
        assert_eq!(
            parse_listening("listening on http://127.0.0.1:4000"),
            Some("127.0.0.1:4000".parse().unwrap())
        );
        assert_eq!(parse_listening("hello"), None);
    }
}
