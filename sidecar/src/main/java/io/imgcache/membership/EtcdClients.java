package io.imgcache.membership;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.ClientBuilder;
import io.imgcache.config.ImgcacheConfig;
import java.io.File;
import java.net.URI;
import java.time.Duration;
import javax.net.ssl.SSLException;

/** Builds the jetcd client from {@code imgcache.etcd.*}: endpoints, user/password, TLS files. */
public final class EtcdClients {
  private EtcdClients() {}

  public static Client create(ImgcacheConfig.Etcd etcd) {
    ClientBuilder builder = Client.builder()
        .endpoints(etcd.endpoints().toArray(URI[]::new))
        .connectTimeout(Duration.ofSeconds(2))
        // etcd 3.4 answers pings more often than every 5 s with GOAWAY too_many_pings.
        .keepaliveTime(Duration.ofSeconds(30))
        .keepaliveTimeout(Duration.ofSeconds(10))
        // Retries calls on the same channel only; it does not shorten the channel's own reconnect
        // backoff after an outage (EtcdMembership replaces the client for that, see ReconnectingClient).
        .retryMaxDuration(Duration.ofSeconds(5));
    if (!etcd.user().isEmpty()) {
      builder.user(ByteSequence.from(etcd.user(), UTF_8)).password(ByteSequence.from(etcd.password(), UTF_8));
    }
    if (!etcd.caFile().isEmpty() || !etcd.certFile().isEmpty()) {
      try {
        builder.sslContext(ssl -> {
          if (!etcd.caFile().isEmpty()) {
            ssl.trustManager(new File(etcd.caFile()));
          }
          if (!etcd.certFile().isEmpty()) {
            ssl.keyManager(new File(etcd.certFile()), new File(etcd.keyFile()));
          }
        });
      } catch (SSLException e) {
        throw new IllegalArgumentException("imgcache.etcd.tls: cannot build the TLS context: " + e.getMessage(), e);
      }
    }
    return builder.build();
  }
}
