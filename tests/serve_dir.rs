//! tower-http's `ServeDir` behind the layer with the takeover (issue 30): a file server with
//! validators of its own (size and modification time) and its own evaluation of If-Match,
//! If-None-Match and the dates. The layer hides the fields it decides and gives the client only
//! its own validators, so identity, gzip and br revalidations get 304, a change that keeps
//! size and modification time gets 200, and a GET with the If-Match the client was given gets
//! 200.

use std::fmt::Debug;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use http::header::{ACCEPT_ENCODING, CONTENT_ENCODING, ETAG, IF_MATCH, IF_NONE_MATCH};
use http::request::Parts;
use http::{HeaderMap, HeaderName, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::BodyExt;
use tower::{Layer, Service, ServiceExt};
use tower_conditional::{ConditionalLayer, ETag, Lookup, Validators};
use tower_http::services::ServeDir;

const CONTENT: &[u8] = b"<h1>A page served from disk, long enough to be compressed.</h1>";
const CHANGED: &[u8] = b"<h1>A page served from disk, long enough to be COMPRESSED.</h1>";

/// A directory of its own with `page.html` and its precompressed siblings. (`ServeDir` does
/// not look inside them: any bytes stand for the compressed copies.)
fn site(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("serve-dir-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("page.html"), CONTENT).expect("write");
    std::fs::write(dir.join("page.html.gz"), b"gzip bytes of the page").expect("write");
    std::fs::write(dir.join("page.html.br"), b"br bytes of the page").expect("write");
    dir
}

fn files(dir: &Path) -> ServeDir {
    ServeDir::new(dir).precompressed_gzip().precompressed_br()
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

async fn get<S, B>(service: &S, fields: &[(HeaderName, &str)]) -> Reply
where
    S: Service<Request<String>, Response = Response<B>> + Clone,
    S::Error: Debug,
    B: Body,
    B::Error: Debug,
{
    let mut request = Request::get("/page.html");
    for (name, value) in fields {
        request = request.header(name, *value);
    }
    let request = request.body(String::new()).expect("request");
    let response = service.clone().oneshot(request).await.expect("served");
    let (head, body) = response.into_parts();
    let body = body.collect().await.expect("body").to_bytes();
    Reply {
        status: head.status,
        headers: head.headers,
        body,
    }
}

/// Everything the issue asks of a file server behind the layer, for one layered `service`.
async fn revalidations_and_writes_agree<S, B>(service: S, dir: &Path, label: &str)
where
    S: Service<Request<String>, Response = Response<B>> + Clone,
    S::Error: Debug,
    B: Body,
    B::Error: Debug,
{
    // Identity, gzip and br: each copy's tag revalidates to 304.
    let mut identity_tag = String::new();
    for coding in ["identity", "gzip", "br"] {
        let accept = [(ACCEPT_ENCODING, coding)];
        let first = get(&service, &accept).await;
        assert_eq!(first.status, StatusCode::OK, "{label} {coding}");
        let served = first
            .headers
            .get(CONTENT_ENCODING)
            .map(|v| v.to_str().unwrap());
        assert_eq!(served, (coding != "identity").then_some(coding), "{label}");
        let tag = first.headers[ETAG].to_str().expect("a tag").to_owned();
        if coding == "identity" {
            identity_tag = tag.clone();
        }
        let again = get(&service, &[accept[0].clone(), (IF_NONE_MATCH, &tag)]).await;
        assert_eq!(
            again.status,
            StatusCode::NOT_MODIFIED,
            "{label} {coding}: If-None-Match {tag}"
        );
        assert_eq!(again.headers[ETAG], tag.as_str(), "{label} {coding}");
    }

    // A GET with the If-Match the client was given.
    let checked = get(&service, &[(IF_MATCH, &identity_tag)]).await;
    assert_eq!(
        checked.status,
        StatusCode::OK,
        "{label}: If-Match {identity_tag}"
    );
    assert_eq!(&checked.body[..], CONTENT);

    // A deploy that keeps size and modification time: the content decides.
    let page = dir.join("page.html");
    let modified = std::fs::metadata(&page)
        .expect("metadata")
        .modified()
        .expect("mtime");
    std::fs::write(&page, CHANGED).expect("write");
    let file = std::fs::File::options()
        .write(true)
        .open(&page)
        .expect("open");
    file.set_modified(modified).expect("keep the mtime");
    drop(file);
    let after = get(&service, &[(IF_NONE_MATCH, &identity_tag)]).await;
    assert_eq!(
        after.status,
        StatusCode::OK,
        "{label}: a false 304 after a deploy"
    );
    assert_eq!(&after.body[..], CHANGED);
    assert_ne!(after.headers[ETAG], identity_tag.as_str());
    std::fs::write(&page, CONTENT).expect("restore");
}

#[tokio::test]
async fn serve_dir_behind_from_responses_with_the_takeover() {
    for aware in [false, true] {
        let dir = site(&format!("responses-{aware}"));
        let layer = ConditionalLayer::from_responses()
            .take_over_validators(true)
            .encoding_aware_etags(aware);
        let label = format!("from_responses, encoding-aware tags {aware}");
        revalidations_and_writes_agree(layer.layer(files(&dir)), &dir, &label).await;
        std::fs::remove_dir_all(&dir).ok();
    }
}

#[tokio::test]
async fn serve_dir_behind_a_content_hash_source_with_the_takeover() {
    for aware in [false, true] {
        let dir = site(&format!("source-{aware}"));
        // The source a static site would have: the hash of the file's content.
        let root = dir.clone();
        let source = move |head: &Parts| {
            let path = root.join(head.uri.path().trim_start_matches('/'));
            async move {
                Ok::<_, std::io::Error>(match tokio::fs::read(&path).await {
                    Ok(content) => {
                        Lookup::Present(Validators::new().with_etag(ETag::from_content(&content)))
                    }
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => Lookup::Missing,
                    Err(error) => return Err(error),
                })
            }
        };
        let layer = ConditionalLayer::new(source)
            .take_over_validators(true)
            .encoding_aware_etags(aware);
        let label = format!("content-hash source, encoding-aware tags {aware}");
        revalidations_and_writes_agree(layer.layer(files(&dir)), &dir, &label).await;
        std::fs::remove_dir_all(&dir).ok();
    }
}

/// Without the takeover, the two sets of validators disagree (what issue 30 measured): the file
/// server refuses the If-Match the layer's client was given.
#[tokio::test]
async fn without_the_takeover_the_file_server_decides_by_its_own_tags() {
    let dir = site("plain");
    let source = |_: &Parts| async {
        let current = Validators::new().with_etag(ETag::from_content(CONTENT));
        Ok::<_, std::convert::Infallible>(Lookup::Present(current))
    };
    let service = ConditionalLayer::new(source)
        .fill_response_validators(true)
        .layer(files(&dir));
    let given = ETag::from_content(CONTENT).to_string();
    let refused = get(&service, &[(IF_MATCH, &given)]).await;
    assert_eq!(refused.status, StatusCode::PRECONDITION_FAILED);
    std::fs::remove_dir_all(&dir).ok();
}
