//! Sending one delivery: the HTTP request, its signature, retries with exponential backoff.

use crate::model::hooks::Signature;
use crate::traffic::proxy::{HttpClient, describe};
use crate::traffic::webhooks::delivery::{Attempt, Job, Retry, State};
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use sha2::Sha256;
use std::time::{Duration, Instant, SystemTime};

/// Delivers one job, retrying on a non-2xx answer, a timeout or a connection failure, and reports
/// every attempt to `sink` (the journal and the recording).
pub async fn deliver(client: &HttpClient, retry: &Retry, job: Job, sink: &(dyn Fn(&Attempt) + Send + Sync)) {
    let Job {
        delivery,
        body,
        secret,
        signature,
    } = job;
    let (method, url, content_type, event) = {
        let d = delivery.lock();
        (d.method.clone(), d.url.clone(), d.content_type.clone(), d.event.clone())
    };
    let mut wait = retry.backoff;
    for attempt in 1..=retry.retries.saturating_add(1) {
        if delivery.lock().state == State::Cancelled {
            return;
        }
        let mut headers = vec![
            ("content-type".to_string(), content_type.clone()),
            (
                "user-agent".to_string(),
                concat!("specbox/", env!("CARGO_PKG_VERSION")).to_string(),
            ),
            ("x-specbox-event".to_string(), event.to_string()),
            ("x-specbox-delivery".to_string(), delivery.lock().id.clone()),
        ];
        // Signed afresh on each attempt: a timestamp in the signature is the attempt's.
        if let (Some(sig), Some(secret)) = (&signature, &secret) {
            let ts = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            headers.push((sig.header.clone(), sign(sig, secret.as_bytes(), ts, &body)));
        }
        let started = Instant::now();
        let at = SystemTime::now();
        let outcome = send(client, &method, &url, &headers, body.clone(), retry.timeout).await;
        let (status, error, response) = match outcome {
            Ok((status, response)) => (Some(status), None, response),
            Err(e) => (None, Some(e), Bytes::new()),
        };
        let ok = status.is_some_and(|s| (200..300).contains(&s));
        {
            let mut d = delivery.lock();
            d.attempts = attempt;
            d.status = status;
            d.error = error.clone();
            d.updated = SystemTime::now();
            d.state = if ok {
                State::Delivered
            } else if attempt > retry.retries {
                State::Failed
            } else {
                State::Retrying
            };
        }
        sink(&Attempt {
            delivery: &delivery,
            request_headers: &headers,
            body: &body,
            status,
            response_body: &response,
            started: at,
            took: started.elapsed(),
        });
        if ok || attempt > retry.retries {
            return;
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(60));
    }
}

/// One HTTP request, bounded by `timeout`: the status and body, or why there is none.
async fn send(
    client: &HttpClient,
    method: &hyper::Method,
    url: &str,
    headers: &[(String, String)],
    body: Bytes,
    timeout: Duration,
) -> Result<(u16, Bytes), String> {
    let mut builder = hyper::Request::builder().method(method.clone()).uri(url);
    for (k, v) in headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let request = builder
        .body(Full::new(body))
        .map_err(|e| format!("invalid request: {e}"))?;
    let exchange = async {
        let response = client.request(request).await.map_err(|e| describe(&e))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        Ok((status, body))
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(r) => r,
        Err(_) => Err(format!("timed out after {} ms", timeout.as_millis())),
    }
}

/// The signature header's value: HMAC-SHA256 with `secret` over `sig.over` (`{timestamp}` and
/// `{body}` filled in), hex or base64, placed in `sig.format`.
pub fn sign(sig: &Signature, secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    let ts = timestamp.to_string();
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return String::new();
    };
    // The body goes in as bytes, never re-encoded: what is signed is what is sent.
    let mut rest = sig.over.as_str();
    while let Some(i) = rest.find('{') {
        mac.update(rest.get(..i).unwrap_or("").as_bytes());
        let tail = rest.get(i..).unwrap_or("");
        if let Some(after) = tail.strip_prefix("{body}") {
            mac.update(body);
            rest = after;
        } else if let Some(after) = tail.strip_prefix("{timestamp}") {
            mac.update(ts.as_bytes());
            rest = after;
        } else {
            mac.update(b"{");
            rest = tail.get(1..).unwrap_or("");
        }
    }
    mac.update(rest.as_bytes());
    let digest = mac.finalize().into_bytes();
    let encoded = if sig.base64 {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(digest)
    } else {
        digest.iter().map(|b| format!("{b:02x}")).collect()
    };
    sig.format.replace("{timestamp}", &ts).replace("{signature}", &encoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_reference_hmac() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let sig = Signature {
            header: "x-sig".into(),
            over: "{body}".into(),
            base64: false,
            format: "{signature}".into(),
        };
        assert_eq!(
            sign(&sig, b"Jefe", 0, b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let templated = Signature {
            over: "{timestamp}.{body}".into(),
            format: "t={timestamp},v1={signature}".into(),
            ..sig.clone()
        };
        // "what do ya want " + "for nothing?" split around a `.` is a different message.
        let v = sign(&templated, b"Jefe", 12, b"x");
        assert!(v.starts_with("t=12,v1="), "{v}");
        assert_ne!(v, sign(&templated, b"Jefe", 13, b"x"));
        let b64 = Signature { base64: true, ..sig };
        assert_eq!(
            sign(&b64, b"Jefe", 0, b"what do ya want for nothing?"),
            "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="
        );
    }
}
