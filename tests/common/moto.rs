//! A real AWS emulator per test: moto's server (PyPI `moto[server]`, pinned in
//! scripts/emulator-venv) behind tests/support/moto_server.py, on a free 127.0.0.1 port,
//! killed when the test ends. Each test has its own server, so tests run in parallel.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use super::root;

/// The emulator venv's python (installed on first use).
pub fn emulator_python() -> PathBuf {
    let output = Command::new(root().join("scripts/emulator-venv")).output().expect("run scripts/emulator-venv");
    assert!(output.status.success(), "emulator venv: {}", String::from_utf8_lossy(&output.stderr));
    PathBuf::from(String::from_utf8(output.stdout).unwrap().trim())
}

/// A running moto server.
pub struct Moto {
    child: Child,
    python: PathBuf,
    pub port: u16,
    pub endpoint: String,
}

impl Moto {
    /// Starts a server; `fault_rate` makes that share of calls fail with throttling or 5xx.
    pub fn start(fault_rate: f64) -> Self {
        Self::start_with(fault_rate, &[])
    }

    /// [`Moto::start`] with environment variables for moto (`MOTO_IAM_LOAD_MANAGED_POLICIES`).
    pub fn start_with(fault_rate: f64, env: &[(&str, &str)]) -> Self {
        let python = emulator_python();
        let mut child = Command::new(&python)
            .arg(root().join("tests/support/moto_server.py"))
            .envs(env.iter().copied())
            .env("DG_FAULT_RATE", fault_rate.to_string())
            .env("DG_FAULT_SEED", "7")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("moto prints its port");
        let port = serde_json::from_str::<serde_json::Value>(&line).expect("port line")["port"]
            .as_u64()
            .and_then(|port| u16::try_from(port).ok())
            .expect("a port number");
        Self { child, python, port, endpoint: format!("http://127.0.0.1:{port}") }
    }

    /// Runs tests/support/aws_fixture.py against this server (never faulty: it talks to
    /// moto directly when faults are on, through the same layer otherwise).
    pub fn fixture(&self, args: &[&str]) -> String {
        self.script("aws_fixture.py", args)
    }

    /// Runs tests/support/janitor_fixture.py against this server.
    pub fn janitor_fixture(&self, args: &[&str]) -> String {
        self.script("janitor_fixture.py", args)
    }

    /// Runs tests/support/accounts_fixture.py (member accounts reached by AssumeRole).
    pub fn accounts_fixture(&self, args: &[&str]) -> String {
        self.script("accounts_fixture.py", args)
    }

    /// Runs tests/support/NAME against this server.
    pub fn script(&self, name: &str, args: &[&str]) -> String {
        let output = Command::new(&self.python)
            .arg(root().join("tests/support").join(name))
            .arg(&self.endpoint)
            .args(args)
            .output()
            .expect("run aws_fixture.py");
        assert!(output.status.success(), "{name} {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    }

    /// Request counts seen by the server: `calls`, `mutations`, per operation.
    pub fn stats(&self) -> serde_json::Value {
        serde_json::from_str(&self.control("stats")).unwrap()
    }

    /// How many faults the layer injected so far.
    pub fn injected_faults(&self) -> u64 {
        let stats = self.stats();
        stats.as_object().unwrap().iter().filter(|(k, _)| k.starts_with("fault ")).filter_map(|(_, v)| v.as_u64()).sum()
    }

    /// Arms faults from now on: `rate` of calls fail (throttling, 5xx and, with `lost`,
    /// answers lost after the call was carried out), every call delayed up to `latency_ms`.
    pub fn arm_faults(&self, rate: f64, latency_ms: u64, lost: bool) {
        self.control(&format!("faults?rate={rate}&latency_ms={latency_ms}&lost={}", u8::from(lost)));
    }

    /// Every mutation the emulator carried out: (service, operation, target).
    pub fn mutations(&self) -> Vec<(String, String, String)> {
        serde_json::from_str(&self.control("mutations")).unwrap()
    }

    /// Arrival times (monotonic seconds), service and operation of every AWS call so far.
    pub fn times(&self) -> Vec<(f64, String, String)> {
        serde_json::from_str(&self.control("times")).unwrap()
    }

    /// Arms a race: the next `operation` call finds its target deleted just before.
    pub fn vanish_on(&self, operation: &str) {
        self.control(&format!("vanish-on/{operation}"));
    }

    /// Holds the next `operation` call in flight: carried out and recorded, its answer
    /// held (`after_it_took_effect`), or held before it is carried out (and then refused
    /// without being carried out).
    pub fn hold_on(&self, operation: &str, after_it_took_effect: bool) {
        let when = if after_it_took_effect { "after" } else { "before" };
        self.control(&format!("hold-on/{}?when={when}", operation.replace(' ', "%20")));
    }

    /// Returns once the armed `operation` call is held (at most 120 s; panics otherwise).
    pub fn wait_held(&self, operation: &str) {
        let path = format!("wait-held/{}", operation.replace(' ', "%20"));
        assert_eq!(self.control(&path), "held", "no {operation} call arrived");
    }

    /// Lets every held call go.
    pub fn release(&self) {
        self.control("release");
    }

    fn control(&self, path: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to moto");
        write!(stream, "GET /_driftguard/{path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let body = response.split("\r\n\r\n").nth(1).unwrap_or("{}");
        if body.is_empty() { "{}".to_owned() } else { body.to_owned() }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
