package io.imgcache.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.imgcache.Node;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * A fetch waiting on an owner that stopped answering (SIGSTOP, a hung process) falls back as soon
 * as the health monitor takes the owner out of the ring — not at {@code peers.timeout}, which must
 * be long enough for an owner's queue and origin.
 */
class HungOwnerTest extends ClusterTest {
  @Test
  void aFetchWaitingOnAnOwnerThatLeavesTheRingFallsBackAtOnce() throws Exception {
    List<Socket> held = new CopyOnWriteArrayList<>();
    try (ServerSocket blackHole = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      Thread acceptor = new Thread(() -> {
        try {
          while (true) {
            held.add(blackHole.accept()); // accepted, never answered
          }
        } catch (IOException closed) {
          // the test is over
        }
      }, "test-black-hole");
      acceptor.setDaemon(true);
      acceptor.start();
      int port = LocalCluster.freePorts(1)[0];
      String hung = "http://127.0.0.1:" + blackHole.getLocalPort();
      // peers.timeout (60 s) is far beyond the client's own timeout (LocalCluster's 20 s): only an
      // abandoned fetch can answer in time. The health monitor is slowed down (LocalCluster's
      // defaults); the test takes the owner out of the ring itself, once the fetch is waiting.
      Node a = cluster.startNode(port, List.of(LocalCluster.url(port), hung), Map.of("imgcache.peers.timeout", "60s"));
      String target = null;
      for (int i = 0; target == null; i++) {
        String candidate = "/v2/image/png/hung?i=" + i;
        if (LocalCluster.ownerUrl(a, LocalCluster.keyOf(candidate)).equals(hung)) {
          target = candidate;
        }
      }
      byte[] body = cluster.stub(target, 7, 0);
      String asked = target;
      CompletableFuture<HttpResponse<byte[]>> response = CompletableFuture.supplyAsync(() -> cluster.get(a, asked));
      LocalCluster.await("the fetch waits on the hung owner", Duration.ofSeconds(10),
          () -> cluster.metric(a, "imgcache_pool_active_connections", "pool", "peer", "target", hung) >= 1);
      a.cluster().markUnhealthy(hung);
      LocalCluster.assertAnswer(body, "FALLBACK", response.get(30, TimeUnit.SECONDS));
      assertEquals(1, cluster.originRequests(target));
    } finally {
      for (Socket s : held) {
        s.close();
      }
    }
  }
}
