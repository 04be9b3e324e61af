//! Credentials: who is calling, and therefore whose state a request sees.
//!
//! Every credential is its own tenant (a "merchant"), so parallel CI jobs with different keys do
//! not see each other's data. A bearer token or API key is its own tenant; an OAuth2 token issued
//! by specbox's own token endpoint maps to its client, so every token of one client shares state.
//! With checks switched off (`--no-auth`) everyone shares one tenant.

use crate::exchange::TenantName;
use crate::exchange::parts::{cookie_pairs, form_pairs};
use crate::model::errors::{ApiError, ErrorKind};
use crate::model::operation::{Operation, SchemeKind, Spec};
use crate::model::schema::Location;
use crate::spec::pointer::percent_decode;
use crate::state::fixtures::Client;
use base64::Engine;
use dashmap::DashMap;
use hyper::HeaderMap;
use hyper::header::{AUTHORIZATION, AsHeaderName};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The tenant of requests that carry no credential (or when checks are off).
pub const DEFAULT_TENANT: &str = "default";

/// How long an issued access token is valid, unless `--token-ttl` says otherwise.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(3600);

struct Issued {
    spec: usize,
    /// `client:<id>`, made once when the token is issued rather than on every request.
    tenant: TenantName,
    expires: Instant,
}

pub struct Auth {
    enabled: bool,
    token_ttl: Duration,
    /// Accepted clients per spec; an empty list accepts any client.
    clients: Vec<Vec<Client>>,
    /// Issued access tokens, by their bytes (looked up without checking them as text first).
    /// Shared with the engine a reload makes next (see [`Auth::carry_tokens`]).
    tokens: Arc<DashMap<Box<[u8]>, Issued, crate::state::store::Hasher>>,
    default_tenant: TenantName,
}

/// The parts of a request that can carry credentials.
pub struct Credentials<'a> {
    pub headers: &'a HeaderMap,
    pub query: &'a str,
}

impl Credentials<'_> {
    fn header(&self, name: impl AsHeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The bearer token as bytes: an issued token is looked up as it came, while `to_str` would
    /// check a long token one byte at a time (this runs on every request).
    fn bearer_bytes(&self) -> Option<&[u8]> {
        let h = self.headers.get(AUTHORIZATION)?.as_bytes();
        let space = h.iter().position(|b| *b == b' ')?;
        let (scheme, rest) = h.split_at(space);
        if !scheme.eq_ignore_ascii_case(b"bearer") {
            return None;
        }
        let token = rest.trim_ascii();
        (!token.is_empty()).then_some(token)
    }

    fn bearer(&self) -> Option<&str> {
        std::str::from_utf8(self.bearer_bytes()?).ok()
    }

    fn basic(&self) -> Option<(String, String)> {
        let h = self.header(AUTHORIZATION)?;
        let (scheme, encoded) = h.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (user, pass) = text.split_once(':')?;
        Some((percent_decode(user).into_owned(), percent_decode(pass).into_owned()))
    }

    fn api_key(&self, location: Location, name: &str) -> Option<String> {
        match location {
            Location::Header => self.header(name).map(str::to_string),
            Location::Query => form_pairs(self.query.as_bytes())
                .find(|(k, _)| k == name)
                .map(|(_, v)| v),
            Location::Cookie => cookie_pairs(self.headers)
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string()),
            _ => None,
        }
        .filter(|v| !v.is_empty())
    }
}

impl Auth {
    pub fn new(enabled: bool, clients: Vec<Vec<Client>>, token_ttl: Duration) -> Self {
        Auth {
            enabled,
            token_ttl,
            clients,
            tokens: Arc::default(),
            default_tenant: Arc::from(DEFAULT_TENANT),
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    pub fn token_ttl(&self) -> Duration {
        self.token_ttl
    }

    /// Takes over the tokens `old` issued, so that a reload logs no client out. `spec_map` gives
    /// each old spec index its new one (`None`: the spec is gone, and so are its tokens). The
    /// token map itself is shared, so a token the old engine issues while the new one is swapped
    /// in is not lost; its spec index is the old one, which is the new one unless the set of
    /// specs changed in that instant.
    pub fn carry_tokens(&mut self, old: &Auth, spec_map: &[Option<usize>]) {
        self.tokens = old.tokens.clone();
        if spec_map.iter().enumerate().any(|(i, m)| *m != Some(i)) {
            self.tokens
                .retain(|_, t| match spec_map.get(t.spec).copied().flatten() {
                    Some(new) => {
                        t.spec = new;
                        true
                    }
                    None => false,
                });
        }
    }

    /// The tenant of what every credential shares: anonymous requests' and shared resources'.
    pub fn shared_tenant(&self) -> TenantName {
        self.default_tenant.clone()
    }

    /// The tenant for a request to `op`, or a 401.
    pub fn authenticate(
        &self,
        spec_idx: usize,
        spec: &Spec,
        op: &Operation,
        creds: &Credentials,
        secret: Option<&[u8; 32]>,
    ) -> Result<TenantName, ApiError> {
        if !self.enabled {
            return Ok(self.default_tenant.clone());
        }
        let mut problem: Option<String> = None;
        // Where anonymous access is allowed (`security: [{}]`, or none at all), a request that
        // carries a credential anyway still sees that credential's tenant, so a client that sends
        // its key everywhere sees one state. Alternatives that name schemes are tried first.
        if op.security.optional() {
            let named = op.security.alternatives.iter().filter(|a| !a.is_empty());
            let tried = named.flat_map(|a| a.first().copied()).chain(0..spec.schemes.len());
            for scheme in tried.filter_map(|i| spec.schemes.get(i)) {
                if let Ok(t) = self.check(spec_idx, scheme, creds, secret) {
                    return Ok(t);
                }
            }
            return Ok(self.default_tenant.clone());
        }
        for alternative in &op.security.alternatives {
            let mut tenant: Option<TenantName> = None;
            let mut ok = true;
            for scheme_idx in alternative {
                let Some(scheme) = spec.schemes.get(*scheme_idx) else {
                    continue;
                };
                match self.check(spec_idx, scheme, creds, secret) {
                    Ok(t) => {
                        tenant.get_or_insert(t);
                    }
                    Err(why) => {
                        problem.get_or_insert(why);
                        ok = false;
                        break;
                    }
                }
            }
            if ok {
                return Ok(tenant.unwrap_or_else(|| self.default_tenant.clone()));
            }
        }
        if op.security.alternatives.is_empty() {
            return Ok(self.default_tenant.clone());
        }
        let scheme_name = op
            .security
            .alternatives
            .first()
            .and_then(|a| a.first())
            .and_then(|i| spec.schemes.get(*i))
            .map(|s| match s.kind {
                SchemeKind::Basic => "Basic",
                SchemeKind::ApiKey { .. } => "ApiKey",
                _ => "Bearer",
            })
            .unwrap_or("Bearer");
        Err(ApiError::new(
            401,
            ErrorKind::Unauthorized,
            problem.unwrap_or_else(|| "credentials required".into()),
        )
        .with_header("www-authenticate", format!("{scheme_name} realm=\"specbox\"")))
    }

    fn check(
        &self,
        spec_idx: usize,
        scheme: &crate::model::operation::SecurityScheme,
        creds: &Credentials,
        secret: Option<&[u8; 32]>,
    ) -> Result<TenantName, String> {
        let matches_pattern = |value: &str| scheme.pattern.as_ref().is_none_or(|p| p.is_match(value));
        match &scheme.kind {
            SchemeKind::Bearer | SchemeKind::OAuth2Any => {
                let token = creds
                    .bearer()
                    .ok_or("missing bearer token (Authorization: Bearer ...)")?;
                if !matches_pattern(token) {
                    return Err(format!(
                        "invalid bearer token: it must match {}",
                        scheme.pattern.as_ref().map_or("", |p| p.as_str())
                    ));
                }
                Ok(Arc::from(token))
            }
            SchemeKind::Basic => {
                let (user, _) = creds
                    .basic()
                    .ok_or("missing basic credentials (Authorization: Basic ...)")?;
                if !matches_pattern(&user) {
                    return Err("invalid basic credentials".into());
                }
                Ok(Arc::from(format!("basic:{user}")))
            }
            SchemeKind::ApiKey { location, name } => {
                let key = creds
                    .api_key(*location, name)
                    .ok_or_else(|| format!("missing API key ({} {name})", location.as_str()))?;
                if !matches_pattern(&key) {
                    return Err(format!("invalid API key in {name}"));
                }
                Ok(Arc::from(key))
            }
            SchemeKind::OAuth2Issued => {
                let token = creds
                    .bearer_bytes()
                    .ok_or("missing bearer token: get one from the token endpoint")?;
                if let Some(t) = self.tokens.get(token) {
                    return match &*t {
                        t if t.spec == spec_idx && t.expires > Instant::now() => Ok(t.tenant.clone()),
                        t if t.spec == spec_idx => Err("access token expired".into()),
                        _ => Err("unknown access token".into()),
                    };
                }
                // Issued by another process on the same store: its signature says so, and what
                // it says is kept here, so the next request with it is a map look-up again.
                match secret.and_then(|s| signed::open(s, token)) {
                    Some(issued) if issued.spec == spec_idx => {
                        let tenant = issued.tenant.clone();
                        let live = issued.expires > Instant::now();
                        self.tokens.insert(token.into(), issued);
                        if live {
                            Ok(tenant)
                        } else {
                            Err("access token expired".into())
                        }
                    }
                    _ => Err("unknown access token".into()),
                }
            }
        }
    }

    /// The OAuth2 client-credentials token endpoint (RFC 6749 §4.4): form body or HTTP Basic.
    /// Answers with RFC 6749's own error shape, since the API's spec does not describe this endpoint.
    ///
    /// With `signing` (the key of a store that several processes share), the token is signed with it and
    /// carries its client and expiry, so every process on the store accepts it, and a restarted
    /// one too; without, it is a random name only this process knows.
    pub fn token(&self, spec_idx: usize, headers: &HeaderMap, body: &[u8], signing: Option<&[u8; 32]>) -> (u16, Value) {
        let creds = Credentials { headers, query: "" };
        let form: Vec<(String, String)> = form_pairs(body).collect();
        let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let is_form = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
        // Some clients send JSON; accept it too rather than fail a test over an encoding.
        let json: Option<Value> = (!is_form).then(|| serde_json::from_slice(body).ok()).flatten();
        let get = |name: &str| {
            field(name).or_else(|| {
                json.as_ref()
                    .and_then(|j| j.get(name))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
        };
        let oauth_error = |status: u16, code: &str, description: &str| {
            (status, json!({ "error": code, "error_description": description }))
        };

        match get("grant_type").as_deref() {
            Some("client_credentials") => {}
            Some(other) => {
                return oauth_error(
                    400,
                    "unsupported_grant_type",
                    &format!("grant_type {other:?} is not supported; use client_credentials"),
                );
            }
            None => return oauth_error(400, "invalid_request", "grant_type is required"),
        }
        let (id, secret) = match creds.basic() {
            Some(pair) => pair,
            None => match (get("client_id"), get("client_secret")) {
                (Some(id), Some(secret)) => (id, secret),
                _ => {
                    return oauth_error(
                        401,
                        "invalid_client",
                        "client authentication failed: send client_id and client_secret",
                    );
                }
            },
        };
        let known = self.clients.get(spec_idx).map(Vec::as_slice).unwrap_or_default();
        if !known.is_empty() && !known.iter().any(|c| c.id == id && c.secret == secret) {
            return oauth_error(
                401,
                "invalid_client",
                "client authentication failed: unknown client or wrong secret",
            );
        }
        // A TTL too large for the clock means "does not expire" (a year is plenty).
        let ttl = if Instant::now().checked_add(self.token_ttl).is_some() {
            self.token_ttl
        } else {
            Duration::from_secs(365 * 24 * 3600)
        };
        let token = match signing {
            Some(key) => signed::seal(key, spec_idx, &id, ttl),
            None => format!("sbx_at_{}", ulid::Ulid::generate().to_string().to_lowercase()),
        };
        self.tokens.insert(
            token.as_bytes().into(),
            Issued {
                spec: spec_idx,
                tenant: Arc::from(format!("client:{id}")),
                expires: Instant::now() + ttl,
            },
        );
        let mut body = json!({ "access_token": token, "token_type": "Bearer", "expires_in": self.token_ttl.as_secs() });
        if let (Some(scope), Some(obj)) = (get("scope"), body.as_object_mut()) {
            obj.insert("scope".into(), Value::String(scope));
        }
        (200, body)
    }
}

mod signed {
    //! Tokens that carry what they grant, signed (HMAC-SHA256) with a key every process on one
    //! shared store has: `sbx_at_` + base64url(`spec|expires unix ms|client id`) + `.` +
    //! base64url(first 16 bytes of the MAC).

    use crate::pipeline::auth::Issued;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use hmac::{Hmac, Mac};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    type HmacSha256 = Hmac<sha2::Sha256>;

    fn mac(secret: &[u8; 32], payload: &[u8]) -> Option<Vec<u8>> {
        let mut m = HmacSha256::new_from_slice(secret).ok()?;
        m.update(payload);
        Some(m.finalize().into_bytes().get(..16)?.to_vec())
    }

    pub fn seal(secret: &[u8; 32], spec: usize, client: &str, ttl: Duration) -> String {
        let expires = crate::state::step::real_ms().saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX));
        let payload = format!("{spec}|{expires}|{client}");
        let sig = mac(secret, payload.as_bytes()).unwrap_or_default();
        format!("sbx_at_{}.{}", B64.encode(payload), B64.encode(sig))
    }

    pub fn open(secret: &[u8; 32], token: &[u8]) -> Option<Issued> {
        let rest = token.strip_prefix(b"sbx_at_")?;
        let dot = rest.iter().position(|b| *b == b'.')?;
        let payload = B64.decode(rest.get(..dot)?).ok()?;
        let sig = B64.decode(rest.get(dot + 1..)?).ok()?;
        // Exactly the 16 bytes `seal` writes: a shorter tag would be guessed in a few tries.
        if sig.len() != 16 {
            return None;
        }
        let mut m = HmacSha256::new_from_slice(secret).ok()?;
        m.update(&payload);
        m.verify_truncated_left(&sig).ok()?;
        let text = std::str::from_utf8(&payload).ok()?;
        let mut parts = text.splitn(3, '|');
        let spec: usize = parts.next()?.parse().ok()?;
        let expires_ms: u64 = parts.next()?.parse().ok()?;
        let client = parts.next()?;
        let left = expires_ms.saturating_sub(crate::state::step::real_ms());
        Some(Issued {
            spec,
            tenant: Arc::from(format!("client:{client}")),
            expires: Instant::now() + Duration::from_millis(left),
        })
    }
}
