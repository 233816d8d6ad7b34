//! The project's own fakes where no emulator exists, each started per test on free
//! 127.0.0.1 ports and killed when the test ends: a gRPC fake of Google Cloud Storage
//! (tests/support/gcs_fake.py) and a fake Azure Resource Manager
//! (tests/support/azure_arm_fake.py). Both say in their doc comments what they are not.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use super::moto::emulator_python;
use super::root;

/// A fake's process; killed on drop.
pub struct Fake {
    child: Child,
    /// Its first stdout line (ports).
    pub ports: serde_json::Value,
}

impl Fake {
    fn start(script: &str, env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(emulator_python())
            .arg(root().join("tests/support").join(script))
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start a fake");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("the fake prints its ports");
        let ports = serde_json::from_str(&line).unwrap_or_else(|_| panic!("{script}: not a port line: {line:?}"));
        Self { child, ports }
    }

    /// tests/support/gcs_fake.py: `ports["port"]` (gRPC) and `ports["admin_port"]`.
    pub fn gcs() -> Self {
        Self::start("gcs_fake.py", &[])
    }

    /// tests/support/azure_arm_fake.py: `ports["port"]` (ARM and `/_fake/` admin).
    pub fn azure() -> Self {
        Self::azure_with(&[])
    }

    /// The Azure fake with more settings (`AZ_FAKE_*`).
    pub fn azure_with(env: &[(&str, &str)]) -> Self {
        let mut all = vec![("AZ_FAKE_DELETE_POLLS", "2"), ("AZ_FAKE_THROTTLE_RETRY_AFTER", "0")];
        all.extend_from_slice(env);
        Self::start("azure_arm_fake.py", &all)
    }

    /// `http://127.0.0.1:PORT` of the served API.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports["port"])
    }

    /// An admin request (plain HTTP/1.0 JSON) to `port_key`'s port.
    pub fn admin(
        &self,
        port_key: &str,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> serde_json::Value {
        let port = self.ports[port_key].as_u64().and_then(|p| u16::try_from(p).ok()).expect("a port number");
        let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the fake");
        let body = body.map(ToString::to_string).unwrap_or_default();
        write!(
            stream,
            "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, payload) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        assert!(head.split(' ').nth(1).is_some_and(|code| code.starts_with('2')), "{method} {path}: {head}\n{payload}");
        serde_json::from_str(payload).unwrap_or(serde_json::Value::Null)
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
