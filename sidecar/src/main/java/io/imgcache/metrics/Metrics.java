package io.imgcache.metrics;

import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;

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
  private final Counter originQueueWaits = Counter.builder()
      .name("imgcache_origin_queue_waits")
      .help("Origin requests (loads and pass-through) that found every connection busy and queued")
      .register(registry);
  private final Counter originQueueTimeouts = Counter.builder()
      .name("imgcache_origin_queue_timeouts")
      .help("Queued origin requests that got no connection within origin.queue-timeout (answered 503)")
      .register(registry);
  private final Counter originQueueRejects = Counter.builder()
      .name("imgcache_origin_queue_rejects")
      .help("Origin requests refused at once because origin.max-queued requests were waiting (answered 503)")
      .register(registry);
  private final Histogram originQueueWait = Histogram.builder()
      .name("imgcache_origin_queue_wait_seconds")
      .help("Time a queued origin request waited for a connection")
      .classicOnly()
      .classicUpperBounds(LATENCY_BUCKETS)
      .register(registry);
  private final Counter refusedRequests = Counter.builder()
      .name("imgcache_refused_requests")
      .help("Requests the node refused for their framing before any handler (505 version, 431 header line, ...), by status")
      .labelNames("code")
      .register(registry);
  private final Counter coalescedWaits = Counter.builder()
      .name("imgcache_coalesced_waits")
      .help("Requests that joined a load already in flight instead of starting one")
      .register(registry);

  private final Counter peerRequests = Counter.builder()
      .name("imgcache_peer_requests")
      .help("Fetches from key owners, by peer and outcome (ok, error, busy, too_large, not_cached)")
      .labelNames("peer", "outcome")
      .register(registry);
  private final Histogram peerDuration = Histogram.builder()
      .name("imgcache_peer_request_duration_seconds")
      .help("Time for one fetch from a key's owner, by peer")
      .classicOnly()
      .classicUpperBounds(LATENCY_BUCKETS)
      .labelNames("peer")
      .register(registry);
  private final Counter peerServed = Counter.builder()
      .name("imgcache_peer_served")
      .help("Peer requests this node answered as a key's owner")
      .register(registry);
  private final Counter fallbacks = Counter.builder()
      .name("imgcache_fallbacks")
      .help("Keys loaded from this node's origin because their owner failed (never kept in the main cache)")
      .register(registry);
  private final Counter bans = Counter.builder()
      .name("imgcache_bans")
      .help("Bans this node applied (each once, however often delivered)")
      .register(registry);
  private final Counter banRemoved = Counter.builder()
      .name("imgcache_ban_removed_copies")
      .help("Cached copies (main and hot) removed by bans")
      .register(registry);
  private final Counter originFailovers = Counter.builder()
      .name("imgcache_origin_failovers")
      .help("Loads this node's origin gave no usable answer to, asked of another member's origin instead")
      .register(registry);

  private final Counter healthTransitions = Counter.builder()
      .name("imgcache_peer_health_transitions")
      .help("Peers turning unhealthy (leaving this node's ring) or healthy (returning), by peer")
      .labelNames("peer", "to")
      .register(registry);
  // Built here, exported by registerEtcd() only: with static membership a 0 would claim that
  // etcd does not answer, and an alert on it would fire for every such node.
  private final Gauge etcdUp = Gauge.builder()
      .name("imgcache_etcd_up")
      .help("1 while etcd answers this node, 0 while it does not (membership = etcd only)")
      .build();
  private final Counter etcdLeaseGrants = Counter.builder()
      .name("imgcache_etcd_lease_grants")
      .help("Registrations in etcd: the first, and one per lease lost and re-granted")
      .build();
  private final Counter etcdResyncs = Counter.builder()
      .name("imgcache_etcd_resyncs")
      .help("Lists of the member prefix followed by a new watch")
      .build();

  /** Over how long {@link #recentOriginLoadsPerSecond} counts. */
  public static final Duration RECENT_WINDOW = Duration.ofMinutes(1);

  private final RecentRate recentOriginLoads;

  // Read at scrape time; registered while the node is wired, before it serves.
  private final Map<String, Supplier<CacheFigures>> caches = new ConcurrentSkipListMap<>();
  private final Map<String, Supplier<Map<String, PoolFigures>>> pools = new ConcurrentSkipListMap<>();

  public Metrics() {
    this(System::nanoTime);
  }

  /** {@code nanoClock} times the recent rates ({@link #RECENT_WINDOW}). */
  public Metrics(LongSupplier nanoClock) {
    recentOriginLoads = new RecentRate(RECENT_WINDOW, 60, nanoClock);
    JvmMetrics.builder().register(registry);
    registerCacheMetrics();
    registerPoolMetrics();
  }

  /** Data points of one X-Cache value, resolved once: labelValues() allocates on every call. */
  private record RequestSeries(CounterDataPoint[] byClass, DistributionDataPoint duration) {}

  private final ConcurrentHashMap<String, RequestSeries> requestSeries = new ConcurrentHashMap<>();

  /** Records one answered client request. Allocation-free once {@code cache} has been seen. */
  public void request(String cache, int status, long nanos) {
    RequestSeries series = requestSeries.get(cache);
    if (series == null) {
      series = requestSeries.computeIfAbsent(cache, c -> {
        CounterDataPoint[] byClass = new CounterDataPoint[STATUS_CLASSES.length];
        for (int i = 0; i < byClass.length; i++) {
          byClass[i] = requests.labelValues(c, STATUS_CLASSES[i]);
        }
        return new RequestSeries(byClass, requestDuration.labelValues(c));
      });
    }
    series.byClass()[Math.min(Math.max(status / 100, 1), 5) - 1].inc();
    series.duration().observe(nanos / 1e9);
  }

  private static final String[] STATUS_CLASSES = {"1xx", "2xx", "3xx", "4xx", "5xx"};

  /** Records one origin request of {@code kind} ("load" or "pass"). */
  public void originRequest(String kind) {
    originRequests.labelValues(kind).inc();
    if (kind.equals("load")) {
      recentOriginLoads.record();
    }
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

  public void peerRequest(String peer, String outcome) {
    peerRequests.labelValues(peer, outcome).inc();
  }

  public void peerDuration(String peer, long nanos) {
    peerDuration.labelValues(peer).observe(nanos / 1e9);
  }

  public void peerServed() {
    peerServed.inc();
  }

  public void fallback() {
    fallbacks.inc();
  }

  public void banned(int removed) {
    bans.inc();
    banRemoved.inc(removed);
  }

  public void originFailover() {
    originFailovers.inc();
  }

  public void healthTransition(String peer, boolean healthy) {
    healthTransitions.labelValues(peer, healthy ? "healthy" : "unhealthy").inc();
  }

  /** Exports the etcd figures ({@code imgcache_etcd_*}); called once, for membership = etcd only. */
  public void registerEtcd() {
    registry.register(etcdUp);
    registry.register(etcdLeaseGrants);
    registry.register(etcdResyncs);
  }

  public void etcdUp(boolean up) {
    etcdUp.set(up ? 1 : 0);
  }

  public void etcdLeaseGranted() {
    etcdLeaseGrants.inc();
  }

  public void etcdResynced() {
    etcdResyncs.inc();
  }

  /** A request was refused for its framing (HTTP version, header line, body framing) with {@code status}. */
  public void refused(int status) {
    refusedRequests.labelValues(String.valueOf(status)).inc();
  }

  /** An origin request queued for a connection. */
  public void originQueued() {
    originQueueWaits.inc();
  }

  /** A queued origin request got its connection after {@code nanos}. */
  public void originQueueWaited(long nanos) {
    originQueueWait.observe(nanos / 1e9);
  }

  public void originQueueTimedOut() {
    originQueueTimeouts.inc();
  }

  public void originQueueRejected() {
    originQueueRejects.inc();
  }

  /**
   * Exports the origin queue's length ({@code imgcache_origin_queue_length}) and the origin
   * connections in use ({@code imgcache_origin_connections_in_use}), read at scrape time.
   */
  public void registerOriginQueue(java.util.function.IntSupplier length, java.util.function.IntSupplier inUse,
      int limit) {
    GaugeWithCallback.builder().name("imgcache_origin_queue_length")
        .help("Origin requests waiting for a connection now")
        .callback(cb -> cb.call(length.getAsInt()))
        .register(registry);
    GaugeWithCallback.builder().name("imgcache_origin_connections_in_use")
        .help("Origin connections busy now (loads and pass-through), at most imgcache_origin_connections_limit")
        .callback(cb -> cb.call(inUse.getAsInt()))
        .register(registry);
    GaugeWithCallback.builder().name("imgcache_origin_connections_limit")
        .help("origin.max-connections: the connections the origin may see from this node")
        .callback(cb -> cb.call(limit))
        .register(registry);
  }

  /**
   * Exports {@code imgcache_ready}: 1 while {@code ready} holds (what {@code /_imgcache/readyz}
   * answers 200 to), read at scrape time.
   */
  public void registerReadiness(BooleanSupplier ready) {
    GaugeWithCallback.builder().name("imgcache_ready")
        .help("1 while /_imgcache/readyz answers 200 (member list loaded, not stopping), 0 while it answers 503")
        .callback(cb -> cb.call(ready.getAsBoolean() ? 1 : 0))
        .register(registry);
  }

  /**
   * Exports the members this node knows, each with whether it is in this node's ring
   * ({@code imgcache_peer_healthy}), and the ring's size ({@code imgcache_ring_members}).
   */
  public void registerMembers(Supplier<Map<String, Boolean>> healthByMember) {
    GaugeWithCallback.builder().name("imgcache_peer_healthy")
        .help("1 for a member in this node's ring, 0 for one the health monitor holds unhealthy")
        .labelNames("peer")
        .callback(cb -> healthByMember.get().forEach((peer, healthy) -> cb.call(healthy ? 1 : 0, peer)))
        .register(registry);
    GaugeWithCallback.builder().name("imgcache_ring_members").help("Members in this node's ring")
        .callback(cb -> cb.call(healthByMember.get().values().stream().filter(h -> h).count()))
        .register(registry);
  }

  /** The disk tier's own figures (its bytes, entries, hits ... are a cache's: {@link #registerCache}). */
  public record DiskFigures(long writes, long writeDrops, long corruptFiles, long indexedFiles, boolean indexDone,
      long ioThreadReads, long ioThreadDeviceReads, long mappedFiles) {}

  /**
   * Exports the disk tier's writes, dropped writes, damaged files found, start-up indexing, where
   * reads ran and files mapped.
   */
  public void registerDisk(Supplier<DiskFigures> figures) {
    CounterWithCallback.builder().name("imgcache_disk_writes")
        .help("Responses written to the disk tier").callback(cb -> cb.call(figures.get().writes())).register(registry);
    CounterWithCallback.builder().name("imgcache_disk_write_drops")
        .help("Disk writes dropped: queue full, disk full or failing (the memory copy stands)")
        .callback(cb -> cb.call(figures.get().writeDrops())).register(registry);
    CounterWithCallback.builder().name("imgcache_disk_corrupt_files")
        .help("Damaged, truncated or foreign files found in the disk tier (deleted, never served)")
        .callback(cb -> cb.call(figures.get().corruptFiles())).register(registry);
    GaugeWithCallback.builder().name("imgcache_disk_index_files")
        .help("Files the start-up scan has indexed so far")
        .callback(cb -> cb.call(figures.get().indexedFiles())).register(registry);
    CounterWithCallback.builder().name("imgcache_disk_io_thread_reads")
        .help("Disk reads run on the requesting IO thread (recently used files, in the page cache), not a disk thread")
        .callback(cb -> cb.call(figures.get().ioThreadReads())).register(registry);
    CounterWithCallback.builder().name("imgcache_disk_io_thread_device_reads")
        .help("Reads on an IO thread that went to the device (the page cache had let the file go); each sends"
            + " reads to the disk threads for 10 s")
        .callback(cb -> cb.call(figures.get().ioThreadDeviceReads())).register(registry);
    GaugeWithCallback.builder().name("imgcache_disk_mapped_files")
        .help("Files mapped for reads: those kept (at most cache.disk.mapped-files) and dropped ones still being sent")
        .callback(cb -> cb.call(figures.get().mappedFiles())).register(registry);
    GaugeWithCallback.builder().name("imgcache_disk_index_done")
        .help("1 once the start-up scan has indexed the whole disk tier (reads work before it)")
        .callback(cb -> cb.call(figures.get().indexDone() ? 1 : 0)).register(registry);
  }

  /** Exports the counters of a cache called {@code name} ("main", "hot" or "disk"), read at scrape time. */
  public void registerCache(String name, Supplier<CacheFigures> figures) {
    caches.put(name, figures);
  }

  /**
   * Exports the figures of a connection pool called {@code name} ("origin" or "peer"), one series
   * per target (its http://host:port), read at scrape time.
   */
  public void registerPool(String name, Supplier<Map<String, PoolFigures>> perTarget) {
    pools.put(name, perTarget);
  }

  private void registerCacheMetrics() {
    cacheGauge("imgcache_cache_bytes", "Weighed bytes held by a cache", CacheFigures::bytes);
    cacheGauge("imgcache_cache_max_bytes", "Bound on a cache's weighed bytes", CacheFigures::maxBytes);
    cacheGauge("imgcache_cache_entries", "Entries held by a cache", CacheFigures::entries);
    cacheCounter("imgcache_cache_hits", "Lookups that found an entry", CacheFigures::hits);
    cacheCounter("imgcache_cache_misses", "Lookups that found none", CacheFigures::misses);
    cacheCounter("imgcache_cache_evictions", "Entries evicted for size or expiry", CacheFigures::evictions);
  }

  private void cacheGauge(String metric, String help, ToLongFunction<CacheFigures> read) {
    GaugeWithCallback.builder().name(metric).help(help).labelNames("cache")
        .callback(cb -> caches.forEach((name, f) -> cb.call(read.applyAsLong(f.get()), name)))
        .register(registry);
  }

  private void cacheCounter(String metric, String help, ToLongFunction<CacheFigures> read) {
    CounterWithCallback.builder().name(metric).help(help).labelNames("cache")
        .callback(cb -> caches.forEach((name, f) -> cb.call(read.applyAsLong(f.get()), name)))
        .register(registry);
  }

  private void registerPoolMetrics() {
    poolGauge("imgcache_pool_active_connections", "Pooled connections in use", PoolFigures::active);
    poolGauge("imgcache_pool_idle_connections", "Pooled connections idle", PoolFigures::idle);
    poolCounter("imgcache_pool_created_connections", "Connections opened by a pool", PoolFigures::created);
    poolCounter("imgcache_pool_destroyed_connections", "Connections closed by a pool", PoolFigures::destroyed);
  }

  private void poolGauge(String metric, String help, ToLongFunction<PoolFigures> read) {
    GaugeWithCallback.builder().name(metric).help(help).labelNames("pool", "target")
        .callback(cb -> pools.forEach((pool, perTarget) -> perTarget.get()
            .forEach((target, f) -> cb.call(read.applyAsLong(f), pool, target))))
        .register(registry);
  }

  private void poolCounter(String metric, String help, ToLongFunction<PoolFigures> read) {
    CounterWithCallback.builder().name(metric).help(help).labelNames("pool", "target")
        .callback(cb -> pools.forEach((pool, perTarget) -> perTarget.get()
            .forEach((target, f) -> cb.call(read.applyAsLong(f), pool, target))))
        .register(registry);
  }

  /** What {@link #registerCache} reads. */
  public record CacheFigures(long maxBytes, long bytes, long entries, long hits, long misses, long evictions) {}

  /** What {@link #registerPool} reads. */
  public record PoolFigures(long active, long idle, long created, long destroyed) {}

  // ---- figures read back, for the node's status ----

  /** Client requests answered since start, by X-Cache value (every status class together). */
  public Map<String, Long> requestsByCache() {
    Map<String, Long> byCache = new TreeMap<>();
    requests.collect().getDataPoints().forEach(
        p -> byCache.merge(p.getLabels().get("cache"), (long) p.getValue(), Long::sum));
    return byCache;
  }

  /** Loads from the local origin since start (pass-through not counted). */
  public long originLoads() {
    return sum(originRequests, "kind", "load"::equals);
  }

  /** Origin loads per second over the last {@link #RECENT_WINDOW} (or since start, if shorter). */
  public double recentOriginLoadsPerSecond() {
    return recentOriginLoads.perSecond();
  }

  /**
   * Fetches from key owners that failed since start (outcome {@code error}: an error answer, a
   * timeout, no connection). Not counted: {@code busy} (no free connection here, borrowed again)
   * and {@code not_cached} (a warm-up question the previous owner had no copy for).
   */
  public long peerErrors() {
    return sum(peerRequests, "outcome", "error"::equals);
  }

  /** The figures of every registered cache, by name, now. */
  public Map<String, CacheFigures> caches() {
    Map<String, CacheFigures> now = new TreeMap<>();
    caches.forEach((name, figures) -> now.put(name, figures.get()));
    return now;
  }

  private static long sum(Counter counter, String label, Predicate<String> values) {
    return (long) counter.collect().getDataPoints().stream()
        .filter(p -> values.test(p.getLabels().get(label)))
        .mapToDouble(p -> p.getValue())
        .sum();
  }

  /** The registry, for components that export metrics of their own kind. */
  public PrometheusRegistry registry() {
    return registry;
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

}
