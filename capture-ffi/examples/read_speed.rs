//! Reads a capture file N times through the batch path and prints packets/s (no parsing):
//! `cargo run --release --example read_speed -- FILE [N]`.

use pathspider_capture::reader::open_file;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: read_speed FILE [N]");
        std::process::exit(2);
    };
    let loops: u32 = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(100);
    let mut out = vec![0u8; 4 << 20];
    let (mut packets, t0) = (0u64, std::time::Instant::now());
    for _ in 0..loops {
        let mut r = match open_file(path) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{}", e.message);
                std::process::exit(1);
            }
        };
        loop {
            let (mut pos, mut count) = (0, 0);
            let res = r.fill_batch(&mut out, &mut pos, &mut count);
            packets += count as u64;
            match res {
                Ok(false) => {}
                Ok(true) => break,
                Err(e) => {
                    eprintln!("{}", e.message);
                    break;
                }
            }
        }
    }
    let dt = t0.elapsed().as_secs_f64();
    println!(
        "{packets} packets in {dt:.3} s = {:.1} M packets/s",
        packets as f64 / dt / 1e6
    );
}
