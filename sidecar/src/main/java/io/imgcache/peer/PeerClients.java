package io.imgcache.peer;

import io.imgcache.cache.CachePolicy;
import io.imgcache.group.PeerPicker;
import io.imgcache.httpclient.PooledHttpClient;
import io.imgcache.metrics.Metrics;
import java.time.Duration;
import java.util.function.Function;

/** Makes {@link PeerClient}s that share one pool, token and timeout. */
public final class PeerClients implements Function<String, PeerPicker.Peer> {
  private final String self;
  private final String group;
  private final PooledHttpClient pool;
  private final String token;
  private final Duration timeout;
  private final Duration warmupTimeout;
  private final long maxBody;
  private final CachePolicy policy;
  private final Metrics metrics;

  /** {@code warmupTimeout} bounds the cached-only asks of warm-up; keep it short. */
  public PeerClients(String self, String group, PooledHttpClient pool, String token, Duration timeout, Duration warmupTimeout,
      long maxBody, CachePolicy policy, Metrics metrics) {
    this.policy = policy;
    this.self = self;
    this.group = group;
    this.pool = pool;
    this.token = token;
    this.timeout = timeout;
    this.warmupTimeout = warmupTimeout;
    this.maxBody = maxBody;
    this.metrics = metrics;
  }

  @Override
  public PeerPicker.Peer apply(String url) {
    return new PeerClient(url, self, group, pool, token, timeout, warmupTimeout, maxBody, policy, metrics);
  }
}
