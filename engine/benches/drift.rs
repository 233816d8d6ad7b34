//! Throughput of the pure core on a large estate (reported, never asserted):
//! - `tfstate`: parse + index a generated 100k-resource state, beside a raw `serde_json`
//!   parse of the same bytes (the floor any reader pays);
//! - `normalize`: the declared side of every resource;
//! - `diff`: 100k declared against 100k live resources with 1% drift.
//!
//! Run: `cargo bench -p driftguard-engine --bench drift`.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use driftguard_engine::drift::declared::declared;
use driftguard_engine::drift::{Location, Normalized, diff};
use driftguard_engine::model::Provider;
use driftguard_engine::tfstate;
use serde_json::json;

const RESOURCES: usize = 100_000;

/// A state shaped like Terraform's: a mix of security groups, instances and buckets, in
/// modules, with count and for_each instances.
fn generated_state() -> Vec<u8> {
    let mut resources = Vec::new();
    for index in 0..RESOURCES {
        let resource = match index % 3 {
            0 => {
                json!({"module": format!("module.net{}", index % 50), "mode": "managed", "type": "aws_security_group", "name": format!("sg{index}"),
                "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
                "instances": [{"schema_version": 1, "attributes": {
                    "arn": format!("arn:aws:ec2:us-east-1:123456789012:security-group/sg-{index:017x}"), "id": format!("sg-{index:017x}"),
                    "name": format!("sg{index}"), "description": "managed", "vpc_id": "vpc-1",
                    "ingress": [{"cidr_blocks": ["10.0.0.0/8"], "description": "", "from_port": 443, "ipv6_cidr_blocks": [], "prefix_list_ids": [],
                                 "protocol": "tcp", "security_groups": [], "self": false, "to_port": 443}],
                    "egress": [{"cidr_blocks": ["0.0.0.0/0"], "description": "", "from_port": 0, "ipv6_cidr_blocks": [], "prefix_list_ids": [],
                                "protocol": "-1", "security_groups": [], "self": false, "to_port": 0}],
                    "tags": {"Team": "net"}, "tags_all": {"Team": "net"}}}]})
            }
            1 => {
                json!({"mode": "managed", "type": "aws_instance", "name": format!("app{index}"), "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
                "instances": [{"index_key": index % 7, "schema_version": 1, "attributes": {
                    "arn": format!("arn:aws:ec2:us-east-1:123456789012:instance/i-{index:017x}"), "id": format!("i-{index:017x}"),
                    "ami": "ami-1", "instance_type": "t3.micro", "vpc_security_group_ids": ["sg-1", "sg-2"], "iam_instance_profile": "",
                    "disable_api_termination": false, "monitoring": false, "metadata_options": [{"http_tokens": "required"}],
                    "tags": {"Name": format!("app{index}")}, "tags_all": {"Name": format!("app{index}")}}}]})
            }
            _ => {
                json!({"mode": "managed", "type": "aws_s3_bucket", "name": format!("b{index}"), "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
                "instances": [{"index_key": format!("k{index}"), "schema_version": 0, "attributes": {
                    "arn": format!("arn:aws:s3:::bucket-{index}"), "bucket": format!("bucket-{index}"), "id": format!("bucket-{index}"),
                    "tags": {"Team": "data"}, "tags_all": {"Team": "data"}}}]})
            }
        };
        resources.push(resource);
    }
    serde_json::to_vec(&json!({"version": 4, "terraform_version": "1.9.8", "serial": 1, "lineage": "l", "outputs": {}, "resources": resources}))
        .unwrap()
}

fn benches(c: &mut Criterion) {
    let bytes = generated_state();
    let mut group = c.benchmark_group("tfstate");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("serde_json_value_baseline", |b| {
        b.iter(|| black_box(serde_json::from_slice::<serde_json::Value>(black_box(&bytes)).unwrap()));
    });
    group.bench_function("parse_and_index", |b| {
        // The reader keeps the bytes it is given (attributes are spans of them): the copy
        // each iteration hands over is made outside the measurement.
        b.iter_batched(
            || bytes.clone(),
            |owned| black_box(tfstate::parse("bench", owned).unwrap()),
            BatchSize::LargeInput,
        );
    });
    group.finish();

    let state = tfstate::parse("bench", bytes).unwrap();
    let mut group = c.benchmark_group("drift");
    group.sample_size(10);
    group.throughput(Throughput::Elements(RESOURCES as u64));
    group.bench_function("normalize_declared", |b| {
        b.iter(|| state.resources.iter().filter_map(declared).count());
    });
    let declared_side: Vec<Normalized> = state.resources.iter().filter_map(declared).collect();
    let mut live_side = declared_side.clone();
    for (index, resource) in live_side.iter_mut().enumerate() {
        if index % 100 == 0 {
            resource.attributes.insert("tags.Owner".to_owned(), json!("someone"));
        }
    }
    let scope = Location { provider: Provider::Aws, account: "123456789012".into(), region: "us-east-1".into() };
    let none = |_: &Normalized| false;
    group.bench_function("diff_1pct_drift", |b| {
        b.iter(|| black_box(diff(&scope, &declared_side, &live_side, &none)).len());
    });
    group.finish();
}

criterion_group!(drift, benches);
criterion_main!(drift);
