//! Long lines are cut at the bound, short ones pass whole, the last unterminated line is kept.

use super::*;

#[tokio::test]
async fn a_line_without_a_newline_is_bounded() {
    let mut input = vec![b'x'; 3 * 1024 * 1024];
    input.extend_from_slice(b"\nshort\r\nlast");
    let mut lines = Vec::new();
    read_lines(&input[..], 1024, |line, truncated| {
        lines.push((line.len(), truncated, line.chars().next()))
    })
    .await;
    assert_eq!(
        lines,
        vec![
            (1024, true, Some('x')),
            (5, false, Some('s')),
            (4, false, Some('l'))
        ]
    );
}
