package io.imgcache.metrics;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class MetricsTest {
  @Test
  void readyGaugeReadsTheReadinessAtScrapeTime() {
    Metrics metrics = new Metrics();
    AtomicBoolean ready = new AtomicBoolean();
    metrics.registerReadiness(ready::get);
    assertTrue(text(metrics).contains("\nimgcache_ready 0.0\n"), text(metrics));
    ready.set(true);
    assertTrue(text(metrics).contains("\nimgcache_ready 1.0\n"), text(metrics));
  }

  /** A static-membership node exported imgcache_etcd_up 0: "etcd unreachable" for every such node. */
  @Test
  void etcdFiguresAreExportedOnlyOnceRegistered() {
    Metrics metrics = new Metrics();
    metrics.etcdUp(false);
    assertFalse(text(metrics).contains("imgcache_etcd"), text(metrics));

    metrics.registerEtcd();
    metrics.etcdUp(true);
    metrics.etcdLeaseGranted();
    String text = text(metrics);
    assertTrue(text.contains("\nimgcache_etcd_up 1.0\n"), text);
    assertTrue(text.contains("\nimgcache_etcd_lease_grants_total 1.0\n"), text);
    assertTrue(text.contains("\nimgcache_etcd_resyncs_total 0.0\n"), text);
  }

  private static String text(Metrics metrics) {
    return new String(metrics.text(), StandardCharsets.UTF_8);
  }
}
