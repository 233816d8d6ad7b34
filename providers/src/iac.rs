//! Phase 1's edge: the IaC destroy command (`terraform destroy`, or a wrapper such as
//! terragrunt or a script) run as a subprocess in one working directory. The janitor core
//! decides where it may run; this only runs it, bounded in time, and says how it ended.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::io::AsyncReadExt;

/// How long an interrupted IaC command may take to stop before it is killed.
const GRACE: Duration = Duration::from_secs(10);

/// The command to run: the policy's `janitor.iac`.
#[derive(Debug, Clone, Copy)]
pub struct Invocation<'a> {
    /// Executable, looked up in PATH.
    pub program: &'a str,
    /// Its arguments.
    pub args: &'a [String],
    /// Extra environment.
    pub env: &'a BTreeMap<String, String>,
}

/// Runs the destroy in `workdir`; `Err` says why it did not succeed (a state lock held by
/// another run, a timeout, the first `Error:` line of terraform's diagnostics). On timeout
/// the command's process group is interrupted first (SIGINT, as a person at the terminal
/// would: terraform then stops cleanly and releases its state lock) and killed if it has
/// not stopped within [`GRACE`].
pub async fn destroy(command: &Invocation<'_>, workdir: &str, timeout: Duration) -> Result<(), String> {
    let mut process = tokio::process::Command::new(command.program);
    process
        .args(command.args)
        .current_dir(workdir)
        .envs(command.env)
        // systemd's notify socket belongs to the daemon alone (NotifyAccess=main).
        .env_remove("NOTIFY_SOCKET")
        .env_remove("WATCHDOG_USEC")
        .env_remove("WATCHDOG_PID")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        // Its own process group, so that an interrupt reaches what a wrapper
        // (terragrunt, a script) started too.
        .process_group(0)
        .kill_on_drop(true);
    let program = command.program;
    let mut child = process.spawn().map_err(|error| format!("cannot start {program:?}: {error}"))?;
    let mut stderr_pipe = child.stderr.take();
    let reader = tokio::spawn(async move {
        let mut text = String::new();
        if let Some(pipe) = stderr_pipe.as_mut() {
            let _ = pipe.read_to_string(&mut text).await;
        }
        text
    });
    let status = tokio::select! {
        status = child.wait() => status.map_err(|error| format!("waiting for {program:?}: {error}"))?,
        () = tokio::time::sleep(timeout) => {
            if let Some(pid) = child.id() {
                let group = format!("-{pid}");
                let _ = tokio::process::Command::new("kill").args(["-INT", "--", &group]).status().await;
            }
            if tokio::time::timeout(GRACE, child.wait()).await.is_err() {
                if let Some(pid) = child.id() {
                    let group = format!("-{pid}");
                    let _ = tokio::process::Command::new("kill").args(["-KILL", "--", &group]).status().await;
                }
                let _ = child.kill().await;
            }
            return Err(format!("timed out after {}s", timeout.as_secs()));
        }
    };
    let stderr = reader.await.unwrap_or_default();
    if status.success() {
        Ok(())
    } else if stderr.contains("Error acquiring the state lock") {
        Err("state lock held by another run".to_owned())
    } else {
        // Terraform's diagnostics read "Error: <summary>": the first one says most.
        let lines = || stderr.lines().map(str::trim).filter(|l| !l.is_empty());
        let summary = lines().find(|l| l.starts_with("Error: ")).or_else(|| lines().next_back());
        Err(format!("exit {}: {}", status.code().map_or(-1, |c| c), summary.unwrap_or("no message")))
    }
}
