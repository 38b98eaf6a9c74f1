//! Merkle tree throughput next to raw SHA-256 throughput on the same inputs.
//!
//! `cargo bench -p bapay-core --bench merkle` prints, in one group, Merkle
//! leaves per second for a tree of 2^16 64-byte leaves and SHA-256 hashes per
//! second of the same 64-byte inputs, then the ratio of the two (measured
//! again directly, since criterion does not hand its estimates back). A
//! 64-byte leaf costs two compression blocks (0x00 prefix + padding) and each
//! inner node two more, so the ideal ratio is about 0.5.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bapay_core::merkle::MerkleTree;
use criterion::{Criterion, Throughput};
use sha2::{Digest, Sha256};

const LEAVES: usize = 1 << 16;

fn inputs() -> Vec<[u8; 64]> {
    (0..LEAVES as u64)
        .map(|j| {
            let mut b = [0u8; 64];
            for (k, chunk) in b.chunks_mut(8).enumerate() {
                chunk.copy_from_slice(
                    &(j.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ k as u64).to_be_bytes(),
                );
            }
            b
        })
        .collect()
}

fn merkle(data: &[[u8; 64]]) -> [u8; 32] {
    MerkleTree::from_leaves(data)
        .map(|t| t.root().0)
        .unwrap_or_default()
}

fn sha256_each(data: &[[u8; 64]]) -> u8 {
    data.iter().fold(0u8, |acc, d| acc ^ Sha256::digest(d)[0])
}

fn bench(c: &mut Criterion, data: &[[u8; 64]]) {
    let mut g = c.benchmark_group("merkle_vs_sha256_64B");
    g.throughput(Throughput::Elements(LEAVES as u64));
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("merkle_tree_2^16_leaves", |b| {
        b.iter(|| merkle(black_box(data)))
    });
    g.bench_function("sha256_2^16_inputs", |b| {
        b.iter(|| sha256_each(black_box(data)))
    });
    g.finish();
}

/// Best-of-`reps` rate in elements per second.
fn rate(reps: u32, f: impl Fn()) -> f64 {
    let best = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or(Duration::from_secs(1));
    LEAVES as f64 / best.as_secs_f64().max(1e-9)
}

fn main() {
    let data = inputs();
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c, &data);
    c.final_summary();
    // Under `cargo test --benches` criterion runs each routine once; skip the
    // extra measurement there.
    if std::env::args().any(|a| a == "--bench") {
        let m = rate(15, || {
            black_box(merkle(black_box(&data)));
        });
        let s = rate(15, || {
            black_box(sha256_each(black_box(&data)));
        });
        println!(
            "merkle: {:.3} M leaves/s, sha256: {:.3} M hashes/s, ratio merkle/sha256 = {:.3}",
            m / 1e6,
            s / 1e6,
            m / s
        );
    }
}
