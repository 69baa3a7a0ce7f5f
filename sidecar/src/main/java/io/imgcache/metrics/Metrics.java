package io.imgcache.metrics;

import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Every metric one node exports, in its own registry (no global state). Thread-safe; recording
 * never blocks. Counters are named without {@code _total}: the exposition adds it.
 */
public final class Metrics {
  private static final double[] LATENCY_BUCKETS = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
  };

  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final PrometheusTextFormatWriter textWriter = PrometheusTextFormatWriter.create();

  private final Counter requests = Counter.builder()
      .name("imgcache_requests")
      .help("Client requests answered, by X-Cache result and status class")
      .labelNames("cache", "code")
      .register(registry);
  private final Histogram requestDuration = Histogram.builder()
      .name("imgcache_request_duration_seconds")
      .help("Time from request to response sent, by X-Cache result")
      .classicOnly()
      .classicUpperBounds(LATENCY_BUCKETS)
      .labelNames("cache")
      .register(registry);
  private final Counter originRequests = Counter.builder()
      .name("imgcache_origin_requests")
      .help("Requests sent to the local origin, by kind (load or pass)")
      .labelNames("kind")
      .register(registry);
  private final Counter originErrors = Counter.builder()
      .name("imgcache_origin_errors")
      .help("Origin requests that failed, by reason")
      .labelNames("reason")
      .register(registry);
  private final Histogram originDuration = Histogram.builder()
      .name("imgcache_origin_request_duration_seconds")
      .help("Time for one origin load, from request sent to body read")
      .classicOnly()
      .classicUpperBounds(LATENCY_BUCKETS)
      .register(registry);
  private final Counter coalescedWaits = Counter.builder()
      .name("imgcache_coalesced_waits")
      .help("Requests that joined a load already in flight instead of starting one")
      .register(registry);

  public Metrics() {
    JvmMetrics.builder().register(registry);
  }

  /** Records one answered client request. */
  public void request(String cache, int status, long nanos) {
    requests.labelValues(cache, statusClass(status)).inc();
    requestDuration.labelValues(cache).observe(nanos / 1e9);
  }

  /** Records one origin request of {@code kind} ("load" or "pass"). */
  public void originRequest(String kind) {
    originRequests.labelValues(kind).inc();
  }

  public void originError(String reason) {
    originErrors.labelValues(reason).inc();
  }

  public DistributionDataPoint originDuration() {
    return originDuration;
  }

  public void coalescedWait() {
    coalescedWaits.inc();
  }

  /** Exports the counters of a cache called {@code name} ("main" or "hot"), read at scrape time. */
  public void registerCache(String name, Supplier<CacheFigures> figures) {
    gauge("imgcache_cache_bytes", "Weighed bytes held by a cache", "cache", name, () -> figures.get().bytes());
    gauge("imgcache_cache_max_bytes", "Bound on a cache's weighed bytes", "cache", name,
        () -> figures.get().maxBytes());
    gauge("imgcache_cache_entries", "Entries held by a cache", "cache", name, () -> figures.get().entries());
    counter("imgcache_cache_hits", "Lookups that found an entry", "cache", name, () -> figures.get().hits());
    counter("imgcache_cache_misses", "Lookups that found none", "cache", name, () -> figures.get().misses());
    counter("imgcache_cache_evictions", "Entries evicted for size or expiry", "cache", name,
        () -> figures.get().evictions());
  }

  /** Exports the figures of a connection pool called {@code name} ("origin" or "peer"). */
  public void registerPool(String name, Supplier<PoolFigures> figures) {
    gauge("imgcache_pool_active_connections", "Pooled connections in use", "pool", name,
        () -> figures.get().active());
    gauge("imgcache_pool_idle_connections", "Pooled connections idle", "pool", name, () -> figures.get().idle());
    counter("imgcache_pool_created_connections", "Connections opened by a pool", "pool", name,
        () -> figures.get().created());
    counter("imgcache_pool_destroyed_connections", "Connections closed by a pool", "pool", name,
        () -> figures.get().destroyed());
  }

  /** What {@link #registerCache} reads. */
  public record CacheFigures(long maxBytes, long bytes, long entries, long hits, long misses, long evictions) {}

  /** What {@link #registerPool} reads. */
  public record PoolFigures(long active, long idle, long created, long destroyed) {}

  /** The registry, for components that export metrics of their own kind. */
  public PrometheusRegistry registry() {
    return registry;
  }

  public MetricSnapshots scrape() {
    return registry.scrape();
  }

  /** The Prometheus text exposition of every metric. */
  public byte[] text() {
    ByteArrayOutputStream out = new ByteArrayOutputStream(16 * 1024);
    try {
      textWriter.write(out, registry.scrape());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  public String textContentType() {
    return textWriter.getContentType();
  }

  private static String statusClass(int status) {
    return switch (status / 100) {
      case 1 -> "1xx";
      case 2 -> "2xx";
      case 3 -> "3xx";
      case 4 -> "4xx";
      default -> "5xx";
    };
  }

  // Several caches or pools share one metric name with different label values, so callbacks are
  // collected per name and registered once.
  private final Map<String, List<Labelled>> callbacks = new HashMap<>(); // guarded by this

  private record Labelled(String labelValue, LongSupplier value) {}

  private synchronized void gauge(String name, String help, String label, String value,
      LongSupplier read) {
    if (register(name, value, read)) {
      GaugeWithCallback.builder().name(name).help(help).labelNames(label)
          .callback(cb -> each(name, l -> cb.call(l.value().getAsLong(), l.labelValue())))
          .register(registry);
    }
  }

  private synchronized void counter(String name, String help, String label, String value,
      LongSupplier read) {
    if (register(name, value, read)) {
      CounterWithCallback.builder().name(name).help(help).labelNames(label)
          .callback(cb -> each(name, l -> cb.call(l.value().getAsLong(), l.labelValue())))
          .register(registry);
    }
  }

  /** Adds a callback; returns true when {@code name} is new and must be registered. */
  private boolean register(String name, String labelValue, LongSupplier read) {
    assert Thread.holdsLock(this);
    List<Labelled> list = callbacks.computeIfAbsent(name, n -> new CopyOnWriteArrayList<>());
    list.add(new Labelled(labelValue, read));
    return list.size() == 1;
  }

  private void each(String name, Consumer<Labelled> action) {
    List<Labelled> list;
    synchronized (this) {
      list = callbacks.get(name);
    }
    list.forEach(action);
  }
}
