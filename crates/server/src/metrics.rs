//! `GET /metrics` in Prometheus' text format: HTTP traffic by route pattern, event-log appends,
//! where each projection stands and what each store delivered. Every label takes its values from
//! a closed set (route patterns, methods, status classes, projection names, the integration ids
//! of connected stores), never from raw request input, so no request can grow the series.
//!
//! Served unauthenticated on the service's own listener, as scrapers expect: it holds counts,
//! latencies and opaque integration ids, never a store URL, a name or a token. A deployment that
//! exposes the port to the internet blocks `/metrics` at its reverse proxy (README).

use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use async_trait::async_trait;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use woo_domain::IntegrationId;
use woo_domain::api::{ItemResult, ItemStatus};
use woo_eventlog::{
    AppendError, AppendOutcome, Direction, EventLog, ExpectedRevision, NewEvent, Position,
    ReadFrom, RecordedEvent, StorageError, Subscription,
};

use crate::{ApiError, AppState};

/// The label of a request that matched no route: its path is never a label.
const UNMATCHED: &str = "unmatched";

/// The service's metrics, registered in a registry of their own (tests run many services in one
/// process).
pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    append_duration: Histogram,
    appends_in_flight: IntGauge,
    items: IntCounterVec,
    projection_lag_events: IntGaugeVec,
    projection_lag_seconds: prometheus::GaugeVec,
    projection_parked: IntGaugeVec,
    sync_batches_deferred: IntGauge,
    pacing: PaceCounts,
    /// Paths that are a route's whole pattern (no `{id}` in it): their label is the path itself.
    /// Finding a request's pattern walks the router, matching each dynamic route with a regex;
    /// the hot routes are static and are found here instead. Bounded by the routes there are.
    static_routes: RwLock<HashSet<Box<str>>>,
}

/// What pacing bulk requests has done (`app::backpressure`), counted where `/metrics` shows it:
/// the backpressure moves these, and `/healthz` reads them back.
#[derive(Clone)]
pub struct PaceCounts {
    pub waiting: IntGauge,
    pub paced: IntCounter,
    pub waited_seconds: prometheus::Counter,
}

impl Metrics {
    /// The pacing counts, for the backpressure to move.
    pub fn pacing(&self) -> PaceCounts {
        self.pacing.clone()
    }

    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new_custom(Some("woo".into()), None)?;
        let http_requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by route pattern, method and status class",
            ),
            &["route", "method", "status"],
        )?;
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time from a request's arrival to its response head, by route pattern",
            ),
            &["route"],
        )?;
        let append_duration = Histogram::with_opts(
            HistogramOpts::new(
                "event_log_append_duration_seconds",
                "Time an append waits for the event log to make it durable",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
        )?;
        let appends_in_flight = IntGauge::new(
            "event_log_appends_in_flight",
            "Appends handed to the event log and not yet durable: the writer's queue and the commit under way",
        )?;
        let items = IntCounterVec::new(
            Opts::new(
                "ingested_items_total",
                "Events and sync items delivered by each connected store, by outcome",
            ),
            &["integration", "outcome"],
        )?;
        let projection_lag_events = IntGaugeVec::new(
            Opts::new(
                "projection_lag_events",
                "Log positions between a projection's checkpoint and the head",
            ),
            &["projection"],
        )?;
        let projection_lag_seconds = prometheus::GaugeVec::new(
            Opts::new(
                "projection_lag_seconds",
                "How long the oldest event a projection has not applied has been in the log",
            ),
            &["projection"],
        )?;
        let projection_parked = IntGaugeVec::new(
            Opts::new(
                "projection_parked_events",
                "Events a projection could not apply and set aside",
            ),
            &["projection"],
        )?;
        let sync_batches_deferred = IntGauge::new(
            "sync_batches_deferred",
            "1 while sync batches are deferred because the projections are too far behind",
        )?;
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_duration.clone()))?;
        registry.register(Box::new(append_duration.clone()))?;
        registry.register(Box::new(appends_in_flight.clone()))?;
        registry.register(Box::new(items.clone()))?;
        registry.register(Box::new(projection_lag_events.clone()))?;
        registry.register(Box::new(projection_lag_seconds.clone()))?;
        registry.register(Box::new(projection_parked.clone()))?;
        let bulk_requests_waiting = IntGauge::new(
            "bulk_requests_waiting",
            "Bulk requests waiting now for the projections to come back under the pace bound",
        )?;
        let bulk_requests_paced = IntCounter::new(
            "bulk_requests_paced_total",
            "Bulk requests that waited for the projections before they were read",
        )?;
        let bulk_pace_wait = prometheus::Counter::new(
            "bulk_pace_wait_seconds_total",
            "Time bulk requests waited for the projections, in all",
        )?;
        registry.register(Box::new(sync_batches_deferred.clone()))?;
        registry.register(Box::new(bulk_requests_waiting.clone()))?;
        registry.register(Box::new(bulk_requests_paced.clone()))?;
        registry.register(Box::new(bulk_pace_wait.clone()))?;
        Ok(Metrics {
            registry,
            http_requests,
            http_duration,
            append_duration,
            appends_in_flight,
            items,
            projection_lag_events,
            projection_lag_seconds,
            projection_parked,
            sync_batches_deferred,
            pacing: PaceCounts {
                waiting: bulk_requests_waiting,
                paced: bulk_requests_paced,
                waited_seconds: bulk_pace_wait,
            },
            static_routes: RwLock::default(),
        })
    }

    /// The label of `request`: the pattern of the route it matched, or [`UNMATCHED`].
    fn route_label(&self, request: &actix_web::HttpRequest, label: impl FnOnce(&str)) {
        let path = request.path();
        if self
            .static_routes
            .read()
            .is_ok_and(|routes| routes.contains(path))
        {
            return label(path);
        }
        match request.match_pattern() {
            Some(pattern) => {
                if pattern == path
                    && let Ok(mut routes) = self.static_routes.write()
                {
                    routes.insert(path.into());
                }
                label(&pattern);
            }
            None => label(UNMATCHED),
        }
    }

    /// Counts what one request of `integration` delivered: one counter update per outcome, not
    /// per item (a sync batch carries up to 1,000).
    pub fn delivered(&self, integration: IntegrationId, results: &[ItemResult]) {
        let integration = integration.to_string();
        for status in [
            ItemStatus::Accepted,
            ItemStatus::Duplicate,
            ItemStatus::Rejected,
        ] {
            let count = results.iter().filter(|r| r.status == status).count();
            if count > 0 {
                self.items
                    .with_label_values(&[integration.as_str(), status.as_str()])
                    .inc_by(u64::try_from(count).unwrap_or(u64::MAX));
            }
        }
    }

    fn observe_request(&self, route: &str, method: &Method, status: u16, started: Instant) {
        let class = match status {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        self.http_requests
            .with_label_values(&[route, method_label(method), class])
            .inc();
        self.http_duration
            .with_label_values(&[route])
            .observe(started.elapsed().as_secs_f64());
    }
}

/// A method as a label: the standard ones by name, any other as `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The middleware that counts and times every request by the pattern of the route it matched.
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.app.metrics.clone());
    let method = req.method().clone();
    // The request is read back from the response: a clone held across the call would stop the
    // router from recording the route it matched.
    let response = next.call(req).await;
    if let Some(metrics) = metrics {
        match &response {
            Ok(response) => metrics.route_label(response.request(), |route| {
                metrics.observe_request(route, &method, response.status().as_u16(), started);
            }),
            Err(error) => {
                let status = error.as_response_error().status_code();
                metrics.observe_request(UNMATCHED, &method, status.as_u16(), started);
            }
        }
    }
    response
}

/// `GET /metrics`: samples the projections, then every metric in Prometheus' text format.
pub async fn scrape(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let metrics = &state.app.metrics;
    let statuses = state
        .app
        .projectors
        .statuses()
        .await
        .map_err(|e| ApiError::internal(&e))?;
    for status in statuses {
        let lag = i64::try_from(status.lag).unwrap_or(i64::MAX);
        let parked = i64::try_from(status.parked).unwrap_or(i64::MAX);
        metrics
            .projection_lag_events
            .with_label_values(&[status.name])
            .set(lag);
        metrics
            .projection_lag_seconds
            .with_label_values(&[status.name])
            .set(std::time::Duration::from_millis(status.lag_ms).as_secs_f64());
        metrics
            .projection_parked
            .with_label_values(&[status.name])
            .set(parked);
    }
    metrics
        .sync_batches_deferred
        .set(i64::from(state.app.backpressure.behind().is_some()));
    let mut body = Vec::new();
    TextEncoder::new()
        .encode(&metrics.registry.gather(), &mut body)
        .map_err(|e| ApiError::internal(&e))?;
    Ok(HttpResponse::Ok()
        .content_type(prometheus::TEXT_FORMAT)
        .body(body))
}

/// An event log that times its appends and counts those in flight; everything else is passed
/// through. Whatever the backend, the time an append takes is what a request waits.
pub struct MeteredLog {
    inner: Arc<dyn EventLog>,
    metrics: Arc<Metrics>,
}

impl MeteredLog {
    pub fn new(inner: Arc<dyn EventLog>, metrics: Arc<Metrics>) -> MeteredLog {
        MeteredLog { inner, metrics }
    }
}

/// Takes an append out of the in-flight gauge however it ends, cancelled included.
struct InFlight<'a>(&'a IntGauge);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[async_trait]
impl EventLog for MeteredLog {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, AppendError> {
        self.metrics.appends_in_flight.inc();
        let _in_flight = InFlight(&self.metrics.appends_in_flight);
        let timer = self.metrics.append_duration.start_timer();
        let outcome = self.inner.append(stream, expected, events).await;
        timer.observe_duration();
        outcome
    }

    async fn read_stream(
        &self,
        stream: &str,
        from: ReadFrom<u64>,
        direction: Direction,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, StorageError> {
        self.inner.read_stream(stream, from, direction, max).await
    }

    async fn read_all(
        &self,
        from: ReadFrom<Position>,
        direction: Direction,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, StorageError> {
        self.inner.read_all(from, direction, max).await
    }

    async fn head(&self) -> Result<Position, StorageError> {
        self.inner.head().await
    }

    async fn subscribe_all(&self, after: Position) -> Result<Box<dyn Subscription>, StorageError> {
        self.inner.subscribe_all(after).await
    }

    async fn check_health(&self) -> Result<(), StorageError> {
        self.inner.check_health().await
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::{TestRequest, call_service, init_service};
    use actix_web::{App, HttpResponse, web};

    use super::Metrics;

    #[actix_web::test]
    async fn a_request_is_labelled_with_its_routes_pattern_static_or_not() {
        let app = init_service(
            App::new()
                .route("/a", web::get().to(HttpResponse::Ok))
                .route("/b/{id}", web::get().to(HttpResponse::Ok)),
        )
        .await;
        let metrics = Metrics::new().unwrap();
        let mut labels = Vec::new();
        for path in ["/a", "/a?x=1", "/b/1", "/b/2", "/b/2/c", "/a"] {
            let response = call_service(&app, TestRequest::get().uri(path).to_request()).await;
            metrics.route_label(response.request(), |label| labels.push(label.to_owned()));
        }
        assert_eq!(
            labels,
            ["/a", "/a", "/b/{id}", "/b/{id}", "unmatched", "/a"]
        );
        let remembered = metrics.static_routes.read().unwrap();
        assert_eq!(remembered.len(), 1, "only the static route is remembered");
        assert!(remembered.contains("/a"));
    }
}
