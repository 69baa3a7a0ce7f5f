package io.imgcache.metrics;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;

/**
 * One node's own figures, as {@code imgcache status} shows them, and their JSON form (what {@code
 * GET /_imgcache/status} answers), written by {@link #write} and read back by {@link #read}.
 * Immutable. The JSON:
 *
 * <pre>{@code
 * {"url": "http://10.0.0.1:9000", "version": "0.1.0 (commit 0123abcdef)", "uptime_seconds": 3600.5,
 *  "ready": true, "ring_members": 3,
 *  "memory": {"entries": 120, "bytes": 5242880, "max_bytes": 67108864,
 *             "main": {"entries": 100, "bytes": ..., "max_bytes": ...}, "hot": {...}},
 *  "disk": {"entries": 90000, "bytes": 9663676416, "max_bytes": 10737418240} or null,
 *  "requests": {"cacheable": 1000, "memory_hits": 800, "hit_ratio": 0.8},
 *  "origin_loads": {"total": 150, "per_second": 0.25, "window_seconds": 60},
 *  "peer_errors": 0}
 * }</pre>
 *
 * <p>{@code disk} is {@code null} for a node without a disk tier ({@code cache.disk.path = ""}). {@code
 * hit_ratio} is {@code null} before the first cacheable request. Readers ignore members they do
 * not know, so later versions may add some.
 *
 * @param ringMembers the members in this node's own ring (its view, which may differ from the asker's)
 * @param cacheableRequests client requests since start that went through the cache (every X-Cache but PASS)
 * @param disk the disk tier's size, or null when the node has none
 * @param memoryHits of those, the ones answered from this node's storage (HIT, HIT-HOT, HIT-DISK, STALE)
 * @param originLoads loads from this node's origin since start
 * @param originLoadsPerSecond over the last {@code loadWindowSeconds} (or since start, if shorter)
 * @param peerErrors fetches from key owners that failed since start
 */
public record NodeReport(String url, String version, double uptimeSeconds, boolean ready, int ringMembers,
    Tier main, Tier hot, Tier disk, long cacheableRequests, long memoryHits, long originLoads, double originLoadsPerSecond,
    double loadWindowSeconds, long peerErrors) {

  /** One cache tier's size now. */
  public record Tier(long entries, long bytes, long maxBytes) {
    Tier plus(Tier other) {
      return new Tier(entries + other.entries, bytes + other.bytes, maxBytes + other.maxBytes);
    }

    private void write(Json json) {
      json.beginObject().name("entries").value(entries).name("bytes").value(bytes)
          .name("max_bytes").value(maxBytes).endObject();
    }

    private static Tier read(Config tier) {
      return new Tier(tier.getLong("entries"), tier.getLong("bytes"), tier.getLong("max_bytes"));
    }
  }

  /** Main and hot cache together. */
  public Tier memory() {
    return main.plus(hot);
  }

  /** Memory hits over cacheable requests; NaN before the first. */
  public double hitRatio() {
    return cacheableRequests == 0 ? Double.NaN : (double) memoryHits / cacheableRequests;
  }

  /** Writes this report as one JSON object. */
  public Json write(Json json) {
    Tier memory = memory();
    json.beginObject()
        .name("url").value(url)
        .name("version").value(version)
        .name("uptime_seconds").value(uptimeSeconds)
        .name("ready").value(ready)
        .name("ring_members").value(ringMembers)
        .name("memory").beginObject()
        .name("entries").value(memory.entries()).name("bytes").value(memory.bytes())
        .name("max_bytes").value(memory.maxBytes())
        .name("main");
    main.write(json);
    json.name("hot");
    hot.write(json);
    json.endObject()
        .name("disk");
    if (disk == null) {
      json.value((String) null);
    } else {
      disk.write(json);
    }
    return json.name("requests").beginObject()
        .name("cacheable").value(cacheableRequests).name("memory_hits").value(memoryHits)
        .name("hit_ratio").value(hitRatio())
        .endObject()
        .name("origin_loads").beginObject()
        .name("total").value(originLoads).name("per_second").value(originLoadsPerSecond)
        .name("window_seconds").value(loadWindowSeconds)
        .endObject()
        .name("peer_errors").value(peerErrors)
        .endObject();
  }

  @Override
  public String toString() {
    return write(new Json()).toString();
  }

  /**
   * Reads what {@link #write} wrote (parsed with {@link Json#read}).
   *
   * @throws IllegalArgumentException naming the member that is missing or of the wrong type
   */
  public static NodeReport read(Config report) {
    try {
      return new NodeReport(report.getString("url"), report.getString("version"),
          report.getDouble("uptime_seconds"), report.getBoolean("ready"), report.getInt("ring_members"),
          Tier.read(report.getConfig("memory.main")), Tier.read(report.getConfig("memory.hot")),
          report.getIsNull("disk") ? null : Tier.read(report.getConfig("disk")),
          report.getLong("requests.cacheable"), report.getLong("requests.memory_hits"),
          report.getLong("origin_loads.total"), report.getDouble("origin_loads.per_second"),
          report.getDouble("origin_loads.window_seconds"), report.getLong("peer_errors"));
    } catch (ConfigException e) {
      throw new IllegalArgumentException("not a node status: " + e.getMessage(), e);
    }
  }
}
