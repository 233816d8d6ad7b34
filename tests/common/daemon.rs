//! `driftguard run` as a child process, watched the way systemd and a log shipper watch
//! it: its notify socket (a Unix datagram socket this harness binds, passed as
//! NOTIFY_SOCKET) and its JSON log lines, read as they come. Tests wait for events, never
//! for time.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::driftguard;

/// How long any one expected event may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(90);

/// A running daemon.
pub struct Daemon {
    child: Child,
    lines: Receiver<Value>,
    /// Every JSON log line read so far.
    pub seen: Vec<Value>,
    stderr: Arc<(Mutex<String>, Condvar)>,
    stderr_reader: Option<std::thread::JoinHandle<()>>,
    notify: UnixDatagram,
    /// Every notify datagram received so far.
    pub notified: Vec<String>,
}

impl Daemon {
    /// Starts `driftguard run --policy POLICY` in `dir` with test AWS credentials and `env`;
    /// `watchdog_usec` sets WATCHDOG_USEC as systemd does.
    pub fn start(dir: &Path, policy: &Path, env: &[(&str, &str)], watchdog_usec: Option<u64>) -> Self {
        let socket_path = dir.join(format!("notify-{}.sock", uuid_like()));
        let notify = UnixDatagram::bind(&socket_path).expect("bind the notify socket");
        let mut command = driftguard(dir);
        if watchdog_usec.is_some() {
            // systemd sets WATCHDOG_PID to the service's pid, and sd_notify ignores the
            // watchdog without it: a shell learns its own pid and execs the daemon in place.
            let mut shell = std::process::Command::new("sh");
            shell.current_dir(dir).args(["-c", "export WATCHDOG_PID=$$; exec \"$0\" \"$@\"", super::BIN]);
            for (key, _) in std::env::vars() {
                if key.starts_with("DRIFTGUARD_") {
                    shell.env_remove(key);
                }
            }
            shell.env("DRIFTGUARD_LOG_FORMAT", "json");
            command = shell;
        }
        command
            .args(["run", "--policy"])
            .arg(policy)
            .env("NOTIFY_SOCKET", &socket_path)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("WATCHDOG_PID")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        match watchdog_usec {
            Some(usec) => command.env("WATCHDOG_USEC", usec.to_string()),
            None => command.env_remove("WATCHDOG_USEC"),
        };
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("start driftguard run");
        let (sender, lines) = channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(value) = serde_json::from_str::<Value>(&line)
                    && sender.send(value).is_err()
                {
                    break;
                }
            }
        });
        let stderr = Arc::new((Mutex::new(String::new()), Condvar::new()));
        let mut pipe = child.stderr.take().unwrap();
        let collected = Arc::clone(&stderr);
        let stderr_reader = std::thread::spawn(move || {
            let mut text = String::new();
            let mut buffer = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                text.push_str(&String::from_utf8_lossy(&buffer[..n]));
                collected.0.lock().unwrap().clone_from(&text);
                collected.1.notify_all();
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
            stderr,
            stderr_reader: Some(stderr_reader),
            notify,
            notified: Vec::new(),
        }
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What it wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.0.lock().unwrap().clone()
    }

    /// Waits until stderr holds `text` (stderr and the JSON log are two pipes, read by two
    /// threads: a line on one says nothing about how far the other was read).
    pub fn wait_stderr(&self, text: &str) -> String {
        let (lock, written) = &*self.stderr;
        let guard = lock.lock().unwrap();
        let (guard, timeout) = written.wait_timeout_while(guard, PATIENCE, |seen| !seen.contains(text)).unwrap();
        assert!(!timeout.timed_out(), "no {text:?} on stderr:\n{}", *guard);
        guard.clone()
    }

    /// Waits for the first log event (after those already consumed) that `matches`.
    pub fn wait_for(&mut self, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(value) => {
                    self.seen.push(value.clone());
                    if matches(&value) {
                        return value;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => panic!(
                    "no {what} in the log\nlog:\n{}\nstderr:\n{}",
                    self.seen.iter().map(Value::to_string).collect::<Vec<_>>().join("\n"),
                    self.stderr()
                ),
            }
        }
    }

    /// Waits until `count` events seen so far (consumed or not) match; returns them.
    pub fn wait_count(&mut self, what: &str, count: usize, matches: impl Fn(&Value) -> bool) -> Vec<Value> {
        while self.seen.iter().filter(|v| matches(v)).count() < count {
            self.wait_for(what, &matches);
        }
        self.seen.iter().filter(|v| matches(v)).cloned().collect()
    }

    /// Waits for an audit event by name (and optional action).
    pub fn wait_event(&mut self, event: &str, action: Option<&str>) -> Value {
        self.wait_for(&format!("{event} {action:?}"), |v| {
            v["event"] == event && action.is_none_or(|action| v["action"] == action)
        })
    }

    /// The next notify datagram that contains `wanted` (others, e.g. WATCHDOG=1, are kept
    /// in `notified`).
    pub fn wait_notify(&mut self, wanted: &str) -> String {
        self.notify.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut buffer = vec![0u8; 4096];
        loop {
            let n = self.notify.recv(&mut buffer).unwrap_or_else(|error| {
                panic!("no {wanted} notification ({error}); so far {:?}\nstderr:\n{}", self.notified, self.stderr())
            });
            let message = String::from_utf8_lossy(&buffer[..n]).into_owned();
            self.notified.push(message.clone());
            if message.lines().any(|line| line == wanted) {
                return message;
            }
        }
    }

    /// Notify datagrams already queued (none wait).
    pub fn drain_notify(&mut self) -> Vec<String> {
        self.notify.set_nonblocking(true).unwrap();
        let mut buffer = vec![0u8; 4096];
        let mut out = Vec::new();
        while let Ok(n) = self.notify.recv(&mut buffer) {
            out.push(String::from_utf8_lossy(&buffer[..n]).into_owned());
        }
        self.notify.set_nonblocking(false).unwrap();
        self.notified.extend(out.iter().cloned());
        out
    }

    /// Sends a signal (HUP, TERM, INT, KILL).
    pub fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits for the exit; returns the code and reads the rest of the log.
    pub fn exit_code(&mut self) -> i32 {
        let status = self.child.wait().expect("wait for driftguard run");
        if let Some(reader) = self.stderr_reader.take() {
            let _ = reader.join();
        }
        while let Ok(value) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(value);
        }
        status.code().unwrap_or(-1)
    }

    /// The metrics listener's address, from the `daemon.lifecycle started` event.
    pub fn metrics_address(&self) -> String {
        let started = self
            .seen
            .iter()
            .find(|v| v["event"] == "daemon.lifecycle" && v["action"] == "started")
            .expect("started event seen");
        let reason = started["reason"].as_str().unwrap();
        reason.split("metrics on http://").nth(1).expect("metrics address in the started event").to_owned()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A name unique in this process (each daemon of a test gets its own socket).
fn uuid_like() -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    format!("{}-{}", std::process::id(), NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst))
}

/// GET http://ADDRESS/PATH: (status, body).
pub fn http_get(address: &str, path: &str) -> (u16, String) {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(address).expect("connect to the metrics listener");
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default();
    (status, body)
}

/// Checks an exposition with `promtool check metrics` when promtool is installed; CI sets
/// DRIFTGUARD_REQUIRE_PROMTOOL=1 so that a missing promtool fails instead of skipping.
pub fn promtool_check(exposition: &str) {
    let spawned = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) => {
            assert!(
                std::env::var_os("DRIFTGUARD_REQUIRE_PROMTOOL").is_none(),
                "promtool is required (DRIFTGUARD_REQUIRE_PROMTOOL) but cannot run: {error}"
            );
            eprintln!("promtool not installed: the exposition was not linted ({error})");
            return;
        }
    };
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(exposition.as_bytes()).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "promtool check metrics: {}{}\n{exposition}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A webhook receiver (tests/support/webhook_sink.py) whose first `fail` POSTs fail.
pub struct Sink {
    child: Child,
    /// Its port.
    pub port: u16,
}

impl Sink {
    /// Starts one.
    pub fn start(fail: usize) -> Self {
        let mut child = std::process::Command::new(super::moto::emulator_python())
            .arg(super::root().join("tests/support/webhook_sink.py"))
            .env("SINK_FAIL", fail.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the webhook sink");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("the sink prints its port");
        let port = serde_json::from_str::<Value>(&line).unwrap()["port"].as_u64().unwrap();
        Self { child, port: u16::try_from(port).unwrap() }
    }

    /// Every POST so far.
    pub fn requests(&self) -> Vec<Value> {
        let (_, body) = http_get(&format!("127.0.0.1:{}", self.port), "/_sink/requests");
        serde_json::from_str(&body).unwrap()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A path inside `dir`.
pub fn path(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}
