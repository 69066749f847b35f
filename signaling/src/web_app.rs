//! Serving the web app with the headers that keep a hostile board's content
//! from running as the app: a Content-Security-Policy that allows only the
//! app's own files, the wasm it compiles, and the one inline loader Trunk
//! writes into `index.html` (by its SHA-256, computed when the server
//! starts), images only from `blob:` URLs of verified bytes; and no type
//! sniffing, no referrer, no framing.

use std::path::Path;

use axum::Router;
use axum::http::{HeaderValue, header};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

/// The policy for an app whose `index.html` is `index`.
pub fn content_security_policy(index: &str) -> String {
    let hashes: String = inline_scripts(index)
        .into_iter()
        .map(|script| {
            let digest = Sha256::digest(script.as_bytes());
            format!(" 'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(digest))
        })
        .collect();
    format!(
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'{hashes}; \
         style-src 'self' 'unsafe-inline'; img-src 'self' blob:; connect-src 'self'; \
         manifest-src 'self'; worker-src 'self'; base-uri 'none'; form-action 'none'; \
         frame-ancestors 'none'; object-src 'none'"
    )
}

/// The texts of the `<script>` elements without a `src`, exactly as written.
fn inline_scripts(html: &str) -> Vec<&str> {
    let mut scripts = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let after = &rest[start..];
        let Some(open_end) = after.find('>') else { break };
        let tag = &after[..open_end];
        let body = &after[open_end + 1..];
        let Some(close) = body.find("</script>") else { break };
        if !tag.contains("src=") {
            scripts.push(&body[..close]);
        }
        rest = &body[close..];
    }
    scripts
}

/// The app in `dir` (`index.html` for every path that is not a file), with
/// its security headers.
pub fn serve<S: Clone + Send + Sync + 'static>(router: Router<S>, dir: &Path) -> Router<S> {
    let index_path = dir.join("index.html");
    let index = std::fs::read_to_string(&index_path).unwrap_or_else(|error| {
        tracing::warn!(path = %index_path.display(), %error, "the app's index could not be read; its loader will be refused");
        String::new()
    });
    let policy = HeaderValue::from_str(&content_security_policy(&index))
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"));
    let files = ServeDir::new(dir).fallback(ServeFile::new(index_path));
    let app: Router = Router::new()
        .fallback_service(files)
        .layer(SetResponseHeaderLayer::overriding(header::CONTENT_SECURITY_POLICY, policy))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ));
    router.fallback_service(app)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_exactly_the_inline_loader_and_no_other_script() {
        let index = "<html><head><script type=\"module\">import init from '/app.js';\nawait init();</script>\
                     <script src=\"/other.js\"></script></head></html>";
        let policy = content_security_policy(index);
        let loader = Sha256::digest(b"import init from '/app.js';\nawait init();");
        let expected = base64::engine::general_purpose::STANDARD.encode(loader);
        assert!(policy.contains(&format!("'sha256-{expected}'")), "{policy}");
        assert_eq!(policy.matches("'sha256-").count(), 1, "only inline scripts are hashed");
        assert!(!policy.contains("unsafe-eval'") || policy.contains("'wasm-unsafe-eval'"));
        assert!(!policy.contains("script-src 'self' 'unsafe-inline'"));
        assert!(policy.contains("img-src 'self' blob:;"), "images only from the app and verified blobs");
    }
}
