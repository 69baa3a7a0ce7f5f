package io.imgcache.metrics;

import io.imgcache.group.Source;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;

/**
 * Computes this node's {@link NodeReport} from its metrics, the moment it is asked. Thread-safe and
 * non-blocking (counters and cache sizes only, no JVM MXBeans): fine on an IO thread.
 */
public final class NodeStatus {
  /** X-Cache values answered from this node's memory. */
  private static final Set<String> MEMORY_HITS =
      Set.of(Source.HIT.header(), Source.HIT_HOT.header(), Source.HIT_DISK.header(), Source.STALE.header());

  private final String self;
  private final String version;
  private final Metrics metrics;
  private final BooleanSupplier ready;
  private final IntSupplier ringMembers;
  private final LongSupplier nanoClock;
  private final long startNanos;

  /**
   * @param version e.g. {@code 0.1.0 (commit 0123abcdef)}
   * @param ready what {@code /_imgcache/readyz} answers
   * @param ringMembers how many members this node's ring holds now
   * @param nanoClock usually {@code System::nanoTime}; the node started at {@code startNanos} on it
   */
  public NodeStatus(String self, String version, Metrics metrics, BooleanSupplier ready, IntSupplier ringMembers,
      LongSupplier nanoClock, long startNanos) {
    this.self = self;
    this.version = version;
    this.metrics = metrics;
    this.ready = ready;
    this.ringMembers = ringMembers;
    this.nanoClock = nanoClock;
    this.startNanos = startNanos;
  }

  /** The figures now. */
  public NodeReport report() {
    long cacheable = 0;
    long hits = 0;
    for (Map.Entry<String, Long> answered : metrics.requestsByCache().entrySet()) {
      if (!answered.getKey().equals(Source.PASS.header())) {
        cacheable += answered.getValue();
      }
      if (MEMORY_HITS.contains(answered.getKey())) {
        hits += answered.getValue();
      }
    }
    Map<String, Metrics.CacheFigures> caches = metrics.caches();
    return new NodeReport(self, version, (nanoClock.getAsLong() - startNanos) / 1e9, ready.getAsBoolean(),
        ringMembers.getAsInt(), tier(caches.get("main")), tier(caches.get("hot")),
        caches.containsKey("disk") ? tier(caches.get("disk")) : null, cacheable, hits,
        metrics.originLoads(), metrics.recentOriginLoadsPerSecond(), Metrics.RECENT_WINDOW.toSeconds(),
        metrics.peerErrors());
  }

  private static NodeReport.Tier tier(Metrics.CacheFigures figures) {
    return figures == null
        ? new NodeReport.Tier(0, 0, 0)
        : new NodeReport.Tier(figures.entries(), figures.bytes(), figures.maxBytes());
  }
}
