//! The framing against RFC 6455's rules, over in-memory pipes; the
//! integration tests run it against real clients (tungstenite, Chromium).

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

use super::*;
use crate::connection::frames::Frame;

const STALL: Duration = Duration::from_secs(5);
const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A client frame: masked, as RFC 6455 requires.
fn client_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![if fin { 0x80 } else { 0 } | opcode];
    match payload.len() {
        len @ 0..=125 => frame.push(0x80 | len as u8),
        len @ 126..=0xFFFF => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&MASK);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    frame
}

fn open_reader(max_message: usize) -> (Reader<DuplexStream>, DuplexStream) {
    let (ours, theirs) = tokio::io::duplex(1 << 20);
    (
        Reader::new(ours, Arc::new(Metrics::default()), max_message),
        theirs,
    )
}

fn open_writer(pipe: usize, stall: Duration) -> (Writer<DuplexStream>, DuplexStream) {
    let (ours, theirs) = tokio::io::duplex(pipe);
    (
        Writer::new(ours, Arc::new(Metrics::default()), stall),
        theirs,
    )
}

/// Parses server frames: (fin, opcode, payload), checking none is masked.
fn server_frames(mut bytes: &[u8]) -> Vec<(bool, u8, Vec<u8>)> {
    let mut frames = Vec::new();
    while !bytes.is_empty() {
        assert_eq!(bytes[1] & 0x80, 0, "a server frame must not be masked");
        let (len, at) = match bytes[1] {
            126 => (u16::from_be_bytes([bytes[2], bytes[3]]) as usize, 4),
            127 => (
                u64::from_be_bytes(bytes[2..10].try_into().unwrap()) as usize,
                10,
            ),
            len => (len as usize, 2),
        };
        frames.push((
            bytes[0] & 0x80 != 0,
            bytes[0] & 0x0F,
            bytes[at..at + len].to_vec(),
        ));
        bytes = &bytes[at + len..];
    }
    frames
}

#[tokio::test]
async fn reads_a_text_message_and_keeps_no_buffer_after_it() {
    let (mut reader, mut client) = open_reader(1024);
    client
        .write_all(&client_frame(true, TEXT, b"{\"type\":\"ping\"}"))
        .await
        .unwrap();
    assert_eq!(
        reader.next().await,
        Some(Ok(Received::Text("{\"type\":\"ping\"}".into())))
    );
    assert_eq!(reader.buffered_capacity(), 0);
    drop(client);
    assert_eq!(reader.next().await, None, "end of stream");
}

#[tokio::test]
async fn reassembles_fragments_around_a_ping_fed_one_byte_at_a_time() {
    let (mut reader, mut client) = open_reader(1024);
    let large = "x".repeat(300);
    let mut bytes = client_frame(false, TEXT, b"hel");
    bytes.extend(client_frame(true, PING, b"beat"));
    bytes.extend(client_frame(false, CONTINUATION, b"lo "));
    bytes.extend(client_frame(true, CONTINUATION, large.as_bytes()));
    bytes.extend(client_frame(true, PONG, b""));
    bytes.extend(client_frame(true, BINARY, b"\x00\x01"));
    let feeding = tokio::spawn(async move {
        for byte in bytes {
            client.write_all(&[byte]).await.unwrap();
            tokio::task::yield_now().await;
        }
        client
    });
    assert_eq!(reader.next().await, Some(Ok(Received::Ping("beat".into()))));
    assert_eq!(
        reader.next().await,
        Some(Ok(Received::Text(format!("hello {large}"))))
    );
    assert_eq!(reader.next().await, Some(Ok(Received::Pong)));
    assert_eq!(reader.next().await, Some(Ok(Received::Binary)));
    drop(feeding.await.unwrap());
    assert_eq!(reader.next().await, None);
}

#[tokio::test]
async fn reads_a_64_bit_length_and_several_frames_from_one_read() {
    let (mut reader, mut client) = open_reader(100_000);
    let long = "y".repeat(70_000);
    let mut bytes = client_frame(true, TEXT, long.as_bytes());
    bytes.extend(client_frame(true, TEXT, b"short"));
    bytes.extend(client_frame(true, CLOSE, &[0x03, 0xe8, b'b', b'y', b'e']));
    client.write_all(&bytes).await.unwrap();
    assert_eq!(reader.next().await, Some(Ok(Received::Text(long))));
    assert_eq!(
        reader.next().await,
        Some(Ok(Received::Text("short".into())))
    );
    assert_eq!(reader.next().await, Some(Ok(Received::Close(Some(1000)))));
    assert_eq!(reader.next().await, None, "nothing is read after a close");
}

#[tokio::test]
async fn refuses_a_message_over_the_limit_from_its_header() {
    let (mut reader, mut client) = open_reader(1000);
    let frame = client_frame(true, TEXT, &[b'a'; 1001]);
    // Only the header: the payload is never waited for.
    client.write_all(&frame[..8]).await.unwrap();
    assert_eq!(reader.next().await, Some(Err(ReadError::TooBig)));
    assert_eq!(reader.next().await, None);

    let (mut reader, mut client) = open_reader(1000);
    let mut bytes = client_frame(false, TEXT, &[b'a'; 600]);
    bytes.extend(client_frame(true, CONTINUATION, &[b'a'; 401]));
    client.write_all(&bytes).await.unwrap();
    assert_eq!(
        reader.next().await,
        Some(Err(ReadError::TooBig)),
        "fragments add up"
    );
}

#[tokio::test]
async fn refuses_frames_that_break_the_rfc() {
    let unmasked = vec![0x81, 0x02, b'h', b'i'];
    let reserved_bits = {
        let mut frame = client_frame(true, TEXT, b"hi");
        frame[0] |= 0x40;
        frame
    };
    let mut interleaved = client_frame(false, TEXT, b"a");
    interleaved.extend(client_frame(true, TEXT, b"b"));
    let cases = [
        unmasked,
        reserved_bits,
        client_frame(true, 0x3, b""),
        client_frame(true, CONTINUATION, b"orphan"),
        interleaved,
        client_frame(false, PING, b""),
        client_frame(true, PING, &[0; 126]),
        client_frame(true, CLOSE, &[0x03]),
        client_frame(true, TEXT, &[0xff, 0xfe]),
    ];
    for (i, bytes) in cases.into_iter().enumerate() {
        let (mut reader, mut client) = open_reader(1024);
        client.write_all(&bytes).await.unwrap();
        let got = reader.next().await;
        assert!(
            matches!(got, Some(Err(ReadError::Protocol(_)))),
            "case {i}: {got:?}"
        );
        assert_eq!(
            reader.next().await,
            None,
            "case {i}: nothing after an error"
        );
    }
}

#[tokio::test]
async fn writes_queued_frames_in_order_through_a_narrow_pipe() {
    // A 64-byte pipe takes each write in pieces, so frames end mid-header
    // and mid-payload.
    let (mut writer, mut client) = open_writer(64, STALL);
    let sizes = [0, 5, 125, 126, 300, 0xFFFF, 0x10000, 3];
    let payloads: Vec<String> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| char::from(b'a' + i as u8).to_string().repeat(n))
        .collect();
    let reading = tokio::spawn(async move {
        let mut bytes = Vec::new();
        client.read_to_end(&mut bytes).await.unwrap();
        bytes
    });
    for payload in &payloads {
        writer.feed(&Frame::from(payload.clone()));
    }
    writer.flush().await.unwrap();
    writer.ping().await.unwrap();
    writer.close(Some((4008, "too slow"))).await.unwrap();
    let frames = server_frames(&reading.await.unwrap());
    let mut expected: Vec<(bool, u8, Vec<u8>)> = payloads
        .into_iter()
        .map(|p| (true, TEXT, p.into_bytes()))
        .collect();
    expected.push((true, PING, Vec::new()));
    expected.push((true, CLOSE, b"\x0f\xa8too slow".to_vec()));
    assert_eq!(frames, expected);
}

#[tokio::test]
async fn a_close_reason_is_cut_on_a_character_boundary_and_ends_the_writes() {
    let (mut writer, mut client) = open_writer(4096, STALL);
    let reason = "é".repeat(100);
    writer.close(Some((1001, &reason))).await.unwrap();
    writer.feed(&Frame::from(String::from("after the close")));
    writer.flush().await.unwrap();
    let mut bytes = Vec::new();
    client.read_to_end(&mut bytes).await.unwrap();
    let frames = server_frames(&bytes);
    assert_eq!(frames.len(), 1, "nothing follows a close frame");
    let (_, opcode, payload) = &frames[0];
    assert_eq!(*opcode, CLOSE);
    assert_eq!(
        payload.len(),
        2 + 122,
        "61 two-byte characters fit in 123 bytes"
    );
    assert!(std::str::from_utf8(&payload[2..]).is_ok());
}

#[tokio::test]
async fn a_write_the_peer_does_not_take_stalls() {
    let stall = Duration::from_millis(100);
    let (mut writer, _client) = open_writer(16, stall);
    writer.feed(&Frame::from("z".repeat(100)));
    let started = tokio::time::Instant::now();
    assert!(matches!(writer.flush().await, Err(WriteError::Stalled)));
    assert!(started.elapsed() >= stall);
}

#[tokio::test]
async fn a_write_to_a_closed_peer_fails() {
    let (mut writer, client) = open_writer(16, STALL);
    drop(client);
    writer.feed(&Frame::from(String::from("lost")));
    assert!(matches!(writer.flush().await, Err(WriteError::Io(_))));
}

#[test]
fn only_codes_a_close_frame_may_carry_are_sendable() {
    for code in [1000, 1001, 1002, 1003, 1007, 1011, 3000, 4002, 4999] {
        assert!(sendable(code), "{code}");
    }
    for code in [0, 999, 1004, 1005, 1006, 1015, 2999, 5000] {
        assert!(!sendable(code), "{code}");
    }
}
