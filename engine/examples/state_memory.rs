//! Peak memory of reading one Terraform state (parse + index, nothing else), for
//! `bench/state_memory.py`: prints the file's size and the process's peak resident set
//! (Linux `/proc/self/status` VmHWM) in KiB, as `file_kib=N peak_kib=N resources=N`.
//!
//! Run: `cargo run --release -p driftguard-engine --example state_memory -- FILE`.

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: state_memory FILE");
        std::process::exit(2);
    };
    let bytes = std::fs::read(&path).unwrap_or_else(|error| {
        eprintln!("{path}: {error}");
        std::process::exit(1);
    });
    let file_kib = bytes.len() / 1024;
    let state = driftguard_engine::tfstate::parse(&path, bytes).unwrap_or_else(|error| {
        eprintln!("{error}");
        std::process::exit(1);
    });
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let peak_kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0);
    println!("file_kib={file_kib} peak_kib={peak_kib} resources={}", state.resources.len());
}
