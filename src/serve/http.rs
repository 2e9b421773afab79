//! The HTTP side: `/metrics` hands out pre-rendered bytes (zero-copy, gzip when asked);
//! the page and the probes are warp routes. Connections are served by hyper directly so
//! header size, slow clients and shutdown are under our control.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_service::Service;
use warp::Filter;

use super::webconfig::WebConfig;
use super::{Shared, page};

type Body = BoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

/// The content type of the Prometheus text format.
pub const PROM_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A client that has not sent its headers by then is dropped.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Request heads larger than this are refused.
const MAX_HEADER_BYTES: usize = 16 * 1024;
/// A TLS client that has not finished its handshake by then is dropped.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; more wait in the kernel's backlog. Each idle connection
/// costs a few KiB, and slow ones are dropped by the header timeout.
pub const MAX_CONNECTIONS: usize = 4096;

/// Accepts connections until `cancel`, then lets in-flight responses finish.
pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    web: WebConfig,
    cancel: CancellationToken,
) {
    let routes = routes(shared.clone());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let permit = tokio::select! {
            _ = cancel.cancelled() => break,
            permit = slots.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, _peer) = tokio::select! {
            _ = cancel.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of descriptors and the like: pause instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        // Without it the last small piece of a response (the gzip trailer, the self-metrics)
        // waits for the client's delayed ACK: ~40 ms on a scrape that is otherwise ~1 ms.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        let shared = shared.clone();
        let auth = web.auth.clone();
        let warp_service = warp::service(routes.clone());
        let service = hyper::service::service_fn(move |req: Request<Incoming>| {
            let shared = shared.clone();
            let auth = auth.clone();
            let mut warp_service = warp_service.clone();
            async move {
                Ok::<_, Infallible>(handle(req, &shared, auth.as_deref(), &mut warp_service).await)
            }
        });
        let builder = {
            let mut b = hyper::server::conn::http1::Builder::new();
            b.timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .max_buf_size(MAX_HEADER_BYTES.max(8192))
                .keep_alive(true);
            b
        };
        let tls = web.tls.clone();
        let watcher = graceful.watcher();
        let cancel = cancel.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let result = match tls {
                None => {
                    watcher
                        .watch(builder.serve_connection(TokioIo::new(stream), service))
                        .await
                }
                Some(acceptor) => {
                    let handshake = tokio::select! {
                        _ = cancel.cancelled() => return,
                        h = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)) => h,
                    };
                    match handshake {
                        Ok(Ok(tls_stream)) => {
                            watcher
                                .watch(builder.serve_connection(TokioIo::new(tls_stream), service))
                                .await
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => return,
                    }
                }
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

async fn handle<S>(
    req: Request<Incoming>,
    shared: &Shared,
    auth: Option<&super::webconfig::BasicAuth>,
    warp_service: &mut S,
) -> Response<Body>
where
    S: Service<Request<Incoming>, Response = warp::reply::Response, Error = Infallible>,
{
    if let Some(auth) = auth {
        let header = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if req.uri().path() != "/healthz" && !auth.check(header).await {
            let mut resp = plain(StatusCode::UNAUTHORIZED, "authentication required\n");
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"pantheon-metrics\""),
            );
            return resp;
        }
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut resp = plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET and HEAD are served\n",
        );
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return resp;
    }
    if req.uri().path() == "/metrics" {
        return metrics(&req, shared);
    }
    // warp's routes match GET; hyper itself leaves the body out of a HEAD answer.
    let (mut parts, body) = req.into_parts();
    parts.method = Method::GET;
    match warp_service.call(Request::from_parts(parts, body)).await {
        Ok(resp) => resp.map(|b| {
            b.map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)
                .boxed()
        }),
        Err(never) => match never {},
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut resp = Response::new(full(Bytes::from_static(text.as_bytes())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

fn full(b: Bytes) -> Body {
    http_body_util::Full::new(b)
        .map_err(|never| match never {})
        .boxed()
}

fn chunks(parts: Vec<Bytes>) -> Body {
    let frames = futures::stream::iter(
        parts
            .into_iter()
            .map(|b| Ok::<_, Infallible>(Frame::data(b))),
    );
    StreamBody::new(frames)
        .map_err(|never| match never {})
        .boxed()
}

/// `/metrics`: the site metrics rendered ahead of time, then the self-metrics.
fn metrics(req: &Request<Incoming>, shared: &Shared) -> Response<Body> {
    let exposition = shared.exposition();
    let tail = shared.self_metrics();
    let gzip = req
        .headers()
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(accepts_gzip);
    let parts = if gzip {
        exposition.gzip_with(tail.deflated())
    } else {
        exposition.plain_with_tail(tail.plain.clone())
    };
    let len: usize = parts.iter().map(Bytes::len).sum();
    let mut resp = Response::new(chunks(parts));
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(PROM_CONTENT_TYPE),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if gzip {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    resp
}

/// Whether an `Accept-Encoding` value lets us answer with gzip (`q=0` refuses it; `*`
/// allows it unless gzip is refused by name).
///
/// ```
/// use pantheon_metrics::serve::accepts_gzip;
/// assert!(accepts_gzip("gzip, deflate"));
/// assert!(accepts_gzip("br;q=1.0, gzip;q=0.8"));
/// assert!(accepts_gzip("*"));
/// assert!(!accepts_gzip("gzip;q=0"));
/// assert!(!accepts_gzip("*, gzip;q=0"));
/// assert!(!accepts_gzip("identity"));
/// ```
pub fn accepts_gzip(value: &str) -> bool {
    let mut star = None;
    for item in value.split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .or_else(|| p.trim().strip_prefix("Q="))
            })
            .filter_map(|q| q.trim().parse::<f32>().ok())
            .next()
            .unwrap_or(1.0);
        match coding.as_str() {
            "gzip" | "x-gzip" => return q > 0.0,
            "*" => star = Some(q > 0.0),
            _ => {}
        }
    }
    star.unwrap_or(false)
}

fn routes(
    shared: Arc<Shared>,
) -> impl Filter<Extract = (warp::reply::Response,), Error = Infallible> + Clone + Send + Sync + 'static
{
    use warp::Reply;
    let with_shared = warp::any().map(move || shared.clone());
    let index = warp::path::end()
        .and(with_shared.clone())
        .map(|shared: Arc<Shared>| {
            warp::reply::with_header(
                warp::reply::html(page::render(&shared)),
                "cache-control",
                "no-store",
            )
            .into_response()
        });
    let healthz = warp::path!("healthz")
        .map(|| warp::reply::with_status("ok\n", StatusCode::OK).into_response());
    let readyz = warp::path!("readyz")
        .and(with_shared)
        .map(|shared: Arc<Shared>| {
            if shared.ready() {
                warp::reply::with_status("ready\n", StatusCode::OK).into_response()
            } else {
                warp::reply::with_status(
                    "not ready: site lists still loading\n",
                    StatusCode::SERVICE_UNAVAILABLE,
                )
                .into_response()
            }
        });
    warp::get()
        .and(index.or(healthz).unify().or(readyz).unify())
        .recover(|_rejection: warp::Rejection| async {
            Ok::<_, Infallible>(
                warp::reply::with_status("not found\n", StatusCode::NOT_FOUND).into_response(),
            )
        })
        .unify()
}
