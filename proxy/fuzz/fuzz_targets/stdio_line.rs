//! Fuzz target: the stdio front's bounded line reader never panics, never keeps more than its limit
//! of one line, and consumes its whole input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ucp_proxy::stdio::{Line, read_bounded_line};

const LIMIT: usize = 64;

fuzz_target!(|data: &[u8]| {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    runtime.block_on(async {
        // A tiny buffer makes lines span many reads.
        let mut reader = tokio::io::BufReader::with_capacity(7, data);
        let mut line = Vec::new();
        let mut lines = 0;
        loop {
            match read_bounded_line(&mut reader, &mut line, LIMIT).await.unwrap() {
                Line::Eof => break,
                Line::TooLong => assert!(line.is_empty()),
                Line::Complete => assert!(line.len() <= LIMIT && !line.contains(&b'\n')),
            }
            lines += 1;
            assert!(lines <= data.len() + 1, "no progress");
        }
    });
});
