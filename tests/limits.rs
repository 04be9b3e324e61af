//! Input limits and shutdown: bad or greedy clients get a clear answer, never a crash or a hang,
//! and SIGTERM lets in-flight requests finish.

use crate::common;

use common::{Server, conforms_error};
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const SP: &str = "sk_test_limits";

#[test]
fn an_oversized_body_is_a_413_in_the_apis_shape() {
    let s = Server::start(&["specs"], &["--max-body", "1k"]);
    let big = json!({"email": "big@example.com", "name": "x".repeat(2000)});
    let r = s.post("/api/v1/customers").bearer(SP).json(&big).send().expect(413);
    assert_eq!(r.json()["error"]["code"], "payload_too_large");
    conforms_error(&s, "createCustomer", &r);
    s.post("/api/v1/customers")
        .bearer(SP)
        .json(&json!({"email": "small@example.com"}))
        .send()
        .expect(201);
    // Recorded in the journal like any other request.
    let n = s.get("/__specbox/requests/count?status=413").send().json()["count"]
        .as_u64()
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn deep_nesting_is_a_400_before_parsing() {
    let s = Server::start(&["specs"], &["--max-depth", "8"]);
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let r = s
        .post("/api/v1/customers")
        .bearer(SP)
        .raw("application/json", deep.as_bytes())
        .send()
        .expect(400);
    assert!(
        conforms_error(&s, "createCustomer", &r)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("deeper than 8")
    );
    // Brackets inside strings do not count.
    let ok = json!({"email": "brackets@example.com", "name": "[[[[[[[[[[[[{{{{{{{{{{"});
    s.post("/api/v1/customers").bearer(SP).json(&ok).send().expect(201);
    // Without a flag the default (64) holds; a million levels cannot exhaust the stack.
    let d = Server::bundled();
    let huge = format!("{}{}", "{\"a\":".repeat(1_000_000), "}".repeat(1_000_000));
    let r = d
        .post("/api/v1/customers")
        .bearer(SP)
        .raw("application/json", huge.as_bytes())
        .send();
    assert!(r.status == 400 || r.status == 413, "{}", r.status);
}

#[test]
fn too_many_headers_are_refused_and_the_server_lives_on() {
    let s = Server::start(&["specs"], &["--max-headers", "20"]);
    let mut req = s.get("/api/v1/customers").bearer(SP);
    for i in 0..40 {
        req = req.header(&format!("X-Filler-{i}"), "x");
    }
    match req.try_send() {
        Ok(r) => assert_eq!(r.status, 431, "{}", r.text()),
        Err(e) => assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::InvalidData
            ),
            "{e:?}"
        ),
    }
    s.get("/api/v1/customers").bearer(SP).send().expect(200);
}

#[test]
fn a_client_that_stalls_in_its_headers_is_disconnected() {
    let s = Server::start(&["specs"], &["--header-timeout", "200ms"]);
    let mut stream = TcpStream::connect(&s.addr).unwrap();
    stream
        .write_all(b"GET /api/v1/customers HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    // A safety net only: the server closes long before; a hang would fail here, not wait forever.
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut buf = Vec::new();
    let result = stream.read_to_end(&mut buf);
    assert!(
        result.is_ok() || matches!(result.as_ref().unwrap_err().kind(), std::io::ErrorKind::ConnectionReset),
        "{result:?}"
    );
    let text = String::from_utf8_lossy(&buf);
    assert!(buf.is_empty() || text.starts_with("HTTP/1.1 408"), "{text}");
    s.get("/api/v1/customers").bearer(SP).send().expect(200);
}

#[test]
fn a_client_that_stalls_in_its_body_is_disconnected() {
    let s = Server::start(&["specs"], &["--header-timeout", "200ms"]);
    let mut stream = TcpStream::connect(&s.addr).unwrap();
    stream
        .write_all(
            b"POST /api/v1/customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk_test_limits\r\n\
              Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"email\":",
        )
        .unwrap();
    // A safety net only, as above: without the watchdog this read would wait out the 20 s.
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).unwrap();
    // The request had begun, so it gets an answer in the API's shape, then the connection closes.
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(text.contains("longer than the header timeout"), "{text}");
}

#[test]
fn a_response_that_takes_longer_than_the_header_timeout_still_arrives() {
    // The server's own delay is not the client's silence: the connection must survive it, and
    // serve the next request too.
    let s = Server::start(&["specs"], &["--header-timeout", "100ms"]);
    let mut stream = TcpStream::connect(&s.addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let request = b"GET /api/v1/customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk_test_limits\r\n\
                    Prefer: delay=700\r\n\r\n";
    for _ in 0..2 {
        stream.write_all(request).unwrap();
        // The whole response (its length is in the headers) is read before the next request.
        let (status, _) = read_response(&mut stream);
        assert_eq!(status, 200);
    }
}

#[test]
fn connections_beyond_the_limit_wait_for_a_free_slot() {
    let s = Server::start(&["specs"], &["--max-connections", "1"]);
    // The first connection holds the only slot (accepted, idle).
    let holder = TcpStream::connect(&s.addr).unwrap();
    let mut waiting = TcpStream::connect(&s.addr).unwrap();
    waiting
        .write_all(
            format!(
                "GET /__specbox/health HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                s.addr
            )
            .as_bytes(),
        )
        .unwrap();
    drop(holder);
    waiting.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut buf = String::new();
    waiting.read_to_string(&mut buf).unwrap();
    assert!(buf.starts_with("HTTP/1.1 200"), "{buf}");
}

#[test]
fn sigterm_lets_in_flight_requests_finish_then_exits_cleanly() {
    let s = Server::bundled();
    let addr = s.addr.clone();
    let slow = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(&addr).unwrap();
        let req = format!(
            "GET /api/v1/customers HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {SP}\r\nPrefer: delay=1500\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(req.as_bytes()).unwrap();
        let mut buf = String::new();
        stream.read_to_string(&mut buf).unwrap();
        buf
    });
    // Wait (by polling, not by sleeping) until the server has the slow request in hand.
    let mut seen = false;
    for _ in 0..10_000 {
        if s.get("/__specbox/health").send().json()["in_flight"].as_u64() == Some(1) {
            seen = true;
            break;
        }
    }
    assert!(seen, "the slow request never arrived");
    let status = s.terminate();
    assert!(status.success(), "{status:?}");
    let answer = slow.join().unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// Reads one response (head, then a `content-length` body) from a kept-alive connection.
fn read_response(stream: &mut TcpStream) -> (u16, Vec<u8>) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 "), "{head}");
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).unwrap();
    (status, body)
}

#[test]
fn responses_small_and_larger_than_the_coalescing_buffer_arrive_whole_and_in_order() {
    // Responses are held until the end of the runtime's tick and sent together; one larger than
    // the holding buffer (64 KiB) goes straight out. Every byte of every response must arrive,
    // in order: on one kept-alive connection with requests written two at a time (pipelined),
    // and on many connections at once.
    let s = Server::start(&["specs"], &[]);
    let big = "x".repeat(100_000);
    let mut stream = TcpStream::connect(&s.addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let body = json!({"name": big, "email": "big@example.com"}).to_string();
    let create = format!(
        "POST /api/v1/customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {SP}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(create.as_bytes()).unwrap();
    let (status, created) = read_response(&mut stream);
    assert_eq!(status, 201);
    let created: serde_json::Value = serde_json::from_slice(&created).unwrap();
    assert_eq!(created["name"].as_str().map(str::len), Some(100_000));
    let id = created["id"].as_str().unwrap().to_string();
    // Small and large answers in turn, two requests written at once (pipelined) each time.
    let small = format!("GET /api/v1/customers?per_page=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {SP}\r\n\r\n");
    let large = format!("GET /api/v1/customers/{id} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {SP}\r\n\r\n");
    for _ in 0..3 {
        stream.write_all(format!("{small}{large}").as_bytes()).unwrap();
        let (status, page) = read_response(&mut stream);
        assert_eq!(status, 200);
        let page: serde_json::Value = serde_json::from_slice(&page).unwrap();
        assert_eq!(page["data"].as_array().map(Vec::len), Some(1), "{page}");
        let (status, item) = read_response(&mut stream);
        assert_eq!(status, 200);
        let item: serde_json::Value = serde_json::from_slice(&item).unwrap();
        assert_eq!(item["id"], created["id"]);
        assert_eq!(item["name"], created["name"]);
    }
    // Many connections at once, so that one tick answers several of them.
    let addr = s.addr.clone();
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (addr, small, large) = (addr.clone(), small.clone(), large.clone());
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(&addr).unwrap();
                stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                for i in 0..20 {
                    let request = if i % 5 == 0 { &large } else { &small };
                    stream.write_all(request.as_bytes()).unwrap();
                    let (status, body) = read_response(&mut stream);
                    assert_eq!(status, 200);
                    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                    assert!(v.is_object(), "{v}");
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
}
