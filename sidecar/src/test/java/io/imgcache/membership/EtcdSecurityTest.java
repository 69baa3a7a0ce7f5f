package io.imgcache.membership;

import static io.imgcache.membership.EtcdNodes.await;
import static io.imgcache.membership.EtcdNodes.key;
import static io.imgcache.membership.EtcdNodes.ring;
import static io.imgcache.membership.EtcdNodes.url;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.imgcache.Node;
import io.imgcache.sample.SampleOrigin;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@code imgcache.etcd.user/password} and {@code imgcache.etcd.tls.*} against etcd with auth, and with TLS. */
class EtcdSecurityTest {
  private static SampleOrigin origin;

  @BeforeAll
  static void startOrigin() {
    origin = SampleOrigin.start("127.0.0.1", 0, Duration.ZERO);
  }

  @AfterAll
  static void stopOrigin() {
    origin.close();
  }

  private static String originUrl() {
    return "http://127.0.0.1:" + origin.port();
  }

  @Nested
  class Auth {
    @RegisterExtension
    static final EtcdExtension etcd = EtcdExtension.single().withAuth();

    private EtcdNodes nodes;

    @AfterEach
    void stopNodes() {
      if (nodes != null) {
        nodes.close();
      }
    }

    @Test
    void nodeWithCredentialsRegistersAndOneWithoutKeepsServingUnready() throws Exception {
      EtcdNodes.wipe(etcd.cluster());
      nodes = new EtcdNodes(etcd.cluster(), originUrl());
      Map<String, Object> credentials = Map.of(
          "imgcache.etcd.user", etcd.cluster().user(), "imgcache.etcd.password", etcd.cluster().password());
      Node anonymous = nodes.start(Map.of());
      Node a = nodes.start(credentials);
      Node b = nodes.start(credentials);

      Duration registered = await("both nodes with credentials registered and ready", Duration.ofSeconds(10),
          () -> a.ready() && b.ready() && ring(a).equals(Set.of(url(a), url(b)))
              && ring(b).equals(Set.of(url(a), url(b))));
      assertEquals(Map.of(key(a), url(a), key(b), url(b)), nodes.registrations());
      System.out.printf("etcd auth: nodes with credentials registered within %d ms%n", registered.toMillis());

      // The node without credentials retries with backoff (200 ms, 400 ms, ...): give it several tries.
      long until = System.nanoTime() + Duration.ofSeconds(2).toNanos();
      while (System.nanoTime() < until) {
        assertFalse(anonymous.ready(), "a node etcd refuses must not become ready");
        EtcdNodes.pause(50); // watching for a state that must not come, for a fixed time
      }
      assertEquals(503, nodes.get(anonymous, "/_imgcache/readyz").statusCode());
      assertEquals(0.0, EtcdNodes.metric(anonymous, "imgcache_etcd_up"));
      assertFalse(nodes.registrations().containsKey(key(anonymous)));
      assertEquals(Set.of(url(anonymous)), ring(anonymous), "it knows no members but itself");
      assertFalse(ring(a).contains(url(anonymous)));

      // Still serving, alone: liveness and exact bytes.
      assertEquals(200, nodes.get(anonymous, "/_imgcache/healthz").statusCode());
      String target = "/v2/image/png/auth?w=30&h=30";
      byte[] expected = nodes.body(originUrl() + target);
      HttpResponse<byte[]> response = nodes.get(anonymous, target);
      assertEquals(200, response.statusCode());
      assertArrayEquals(expected, response.body());
      assertArrayEquals(expected, nodes.body(url(a) + target));
    }
  }

  @Nested
  class Tls {
    @RegisterExtension
    static final EtcdExtension etcd = EtcdExtension.single().withTls();

    private EtcdNodes nodes;

    @AfterEach
    void stopNodes() {
      if (nodes != null) {
        nodes.close();
      }
    }

    @Test
    void nodesWithCertificatesRegisterOverHttpsAndSeeEachOther() {
      EtcdNodes.wipe(etcd.cluster());
      nodes = new EtcdNodes(etcd.cluster(), originUrl());
      EtcdCluster cluster = etcd.cluster();
      assertTrue(cluster.endpoints().stream().allMatch(e -> e.startsWith("https://")), cluster.endpoints().toString());
      Map<String, Object> tls = Map.of(
          "imgcache.etcd.tls.ca-file", cluster.caFile().toString(),
          "imgcache.etcd.tls.cert-file", cluster.certFile().toString(),
          "imgcache.etcd.tls.key-file", cluster.keyFile().toString());
      List<Node> two = List.of(nodes.start(tls), nodes.start(tls));
      Set<String> urls = Set.of(url(two.get(0)), url(two.get(1)));

      Duration registered = await("both nodes registered over TLS and in each other's ring", Duration.ofSeconds(10),
          () -> two.stream().allMatch(n -> n.ready() && ring(n).equals(urls)));
      System.out.printf("etcd TLS: nodes registered and saw each other within %d ms%n", registered.toMillis());
      assertEquals(Map.of(key(two.get(0)), url(two.get(0)), key(two.get(1)), url(two.get(1))),
          nodes.registrations());
    }
  }
}
