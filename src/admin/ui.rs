//! `GET /__specbox/ui`: the dashboard, one self-contained page compiled into the binary.
//!
//! The stylesheet and the script are inlined into the HTML at compile time (`concat!` of
//! `include_str!`), so the page is one response: it needs no network, no build step and no second
//! request that would have to carry the admin token too. A browser cannot send a header when it
//! navigates, so the page takes the token from its own URL (`?token=`, checked in `mod.rs`) and
//! its script sends it as `X-Specbox-Admin-Token` on every call to the JSON endpoints.
//!
//! The page reads only public admin endpoints; `/__specbox/reloads` and `/__specbox/deliveries`
//! are read when the server has them (a 404 hides their panels), so features that add them show
//! up without a change here.

use crate::exchange::Reply;
use bytes::Bytes;
use hyper::Method;

/// The whole page: HTML, the stylesheet and the script.
pub const PAGE: &str = concat!(
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
    // No favicon request: it would reach the API engine and show up in the journal.
    "<link rel=\"icon\" href=\"data:,\"><title>specbox</title><style>\n",
    include_str!("ui/style.css"),
    "</style></head>\n",
    include_str!("ui/body.html"),
    "<script>\n",
    include_str!("ui/app.js"),
    "</script></html>\n"
);

/// Whether an admin path (below `/__specbox`) is the page.
pub fn is_page(path: &str) -> bool {
    path == "/ui"
}

/// The page, when this is a request for it.
pub fn serve(method: &Method, path: &str) -> Option<Reply> {
    if !is_page(path) || !(method == Method::GET || method == Method::HEAD) {
        return None;
    }
    Some(
        Reply::bytes(200, "text/html; charset=utf-8", Bytes::from_static(PAGE.as_bytes()))
            .header("cache-control", "no-store")
            .header("x-content-type-options", "nosniff"),
    )
}
