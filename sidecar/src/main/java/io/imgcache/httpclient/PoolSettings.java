package io.imgcache.httpclient;

import static com.google.common.base.Preconditions.checkArgument;

import java.time.Duration;

/**
 * Limits of a {@link PooledHttpClient}, per target (host:port).
 *
 * @param maxPerTarget connections open to one target, at most
 * @param maxIdlePerTarget idle connections kept per target
 * @param borrowTimeout how long a request waits for a free connection
 * @param idleTimeout idle connections older than this are closed
 * @param connectTimeout how long opening a connection may take
 */
public record PoolSettings(
    int maxPerTarget, int maxIdlePerTarget, Duration borrowTimeout, Duration idleTimeout, Duration connectTimeout) {
  public PoolSettings {
    checkArgument(maxPerTarget > 0, "maxPerTarget must be positive, was %s", maxPerTarget);
    checkArgument(maxIdlePerTarget >= 0 && maxIdlePerTarget <= maxPerTarget,
        "maxIdlePerTarget must be in [0, %s], was %s", maxPerTarget, maxIdlePerTarget);
    checkArgument(connectTimeout.toMillis() > 0, "connectTimeout must be positive, was %s", connectTimeout);
  }
}
