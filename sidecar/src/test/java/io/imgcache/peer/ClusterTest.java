package io.imgcache.peer;

import com.github.tomakehurst.wiremock.WireMockServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

/**
 * The lifecycle every cluster test shares: one WireMock origin per class (reset before each
 * test), a fresh {@link LocalCluster} per test, everything stopped afterwards.
 */
abstract class ClusterTest {
  static WireMockServer origin;
  LocalCluster cluster;

  @BeforeAll
  static void startOrigin() {
    origin = LocalCluster.startOrigin();
  }

  @AfterAll
  static void stopOrigin() {
    origin.stop();
  }

  @BeforeEach
  void startCluster() {
    origin.resetAll();
    cluster = new LocalCluster(origin);
  }

  @AfterEach
  void stopCluster() {
    cluster.close();
  }
}
