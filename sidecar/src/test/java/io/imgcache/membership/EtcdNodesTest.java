package io.imgcache.membership;

import io.imgcache.sample.SampleOrigin;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The lifecycle the etcd node tests share: one real etcd and one sample origin per class, etcd
 * wiped (and restarted, should an earlier test have failed between a kill and its restart) before
 * each test, every node stopped after it.
 */
abstract class EtcdNodesTest {
  @RegisterExtension
  static final EtcdExtension etcd = EtcdExtension.single();

  static SampleOrigin origin;
  EtcdNodes nodes;

  @BeforeAll
  static void startOrigin() {
    origin = SampleOrigin.start("127.0.0.1", 0, Duration.ZERO);
  }

  @AfterAll
  static void stopOrigin() {
    origin.close();
  }

  @BeforeEach
  void cleanEtcd() {
    etcd.cluster().restartAll();
    EtcdNodes.wipe(etcd.cluster());
    nodes = new EtcdNodes(etcd.cluster(), "http://127.0.0.1:" + origin.port());
  }

  @AfterEach
  void stopNodes() {
    nodes.close();
  }
}
