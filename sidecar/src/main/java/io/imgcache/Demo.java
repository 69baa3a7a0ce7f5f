package io.imgcache;

import com.typesafe.config.ConfigFactory;
import io.imgcache.config.ImgcacheConfig;
import io.imgcache.key.KeyPolicy;
import io.imgcache.sample.SampleOrigin;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code imgcache demo}: a sample origin and local nodes on loopback with the embedded defaults and
 * static membership, no etcd. Prints what to try; Ctrl-C stops everything.
 */
final class Demo {
  static final int FIRST_PORT = 9000;
  static final int NODES = 3;

  private Demo() {}

  static int run(PrintStream out) {
    SampleOrigin origin = SampleOrigin.start("127.0.0.1", 0, Duration.ofMillis(50));
    List<Integer> ports = new ArrayList<>();
    int port = FIRST_PORT;
    for (int i = 0; i < NODES; i++) {
      port = freePortFrom(port);
      ports.add(port);
      port++;
    }
    List<String> urls = ports.stream().map(p -> "http://127.0.0.1:" + p).toList();
    List<Node> nodes = new ArrayList<>();
    for (int nodePort : ports) {
      Map<String, Object> overrides = Map.of(
          "imgcache.listen.host", "127.0.0.1",
          "imgcache.listen.port", nodePort,
          "imgcache.self-url", "http://127.0.0.1:" + nodePort,
          "imgcache.origin.url", "http://127.0.0.1:" + origin.port(),
          "imgcache.peers.static", urls,
          // No load balancer to leave and no peer that outlives the demo: nothing to wait for
          // after deregistering (the default keeps a production node serving 2 s more).
          "imgcache.shutdown.deregister-wait", "0s",
          "imgcache.shutdown.drain-timeout", "500ms");
      ImgcacheConfig config = ImgcacheConfig.from(ConfigFactory.parseMap(overrides)
          .withFallback(ImgcacheConfig.effective(null)).resolve());
      nodes.add(Node.start(config));
    }

    String image = "/v2/image/png/003?w=850&h=200&type=.png";
    ImgcacheConfig.Key keyConfig = nodes.get(0).config().cache().key();
    String key = new KeyPolicy(keyConfig.sortQuery(), keyConfig.ignoreParams(), keyConfig.maxLength())
        .keyFor(image.substring(0, image.indexOf('?')), image.substring(image.indexOf('?') + 1));
    String owner = nodes.get(0).cluster().snapshot().ring().owner(key);
    String other = urls.stream().filter(u -> !u.equals(owner)).findFirst().orElseThrow();
    String curl = "  curl -s -o /dev/null -D - '%s" + image + "' | grep -iE '^(HTTP|X-Cache|Content-Length)'   # %s";
    out.println();
    out.println("imgcache demo: sample origin on http://127.0.0.1:" + origin.port() + " (50 ms per image)");
    out.println("  nodes " + String.join(", ", urls) + " (static membership, one ring)");
    out.println();
    out.println("Try these in order; the key " + key + " is owned by " + owner + ":");
    out.println(String.format(curl, other, "PEER: fetched from the owner, which loads it once (MISS there)"));
    out.println(String.format(curl, owner, "HIT: the owner's main cache"));
    out.println(String.format(curl, other, "HIT-HOT: the copy the first node keeps in its hot cache"));
    out.println(String.format("  curl -s -o /dev/null -D - '%s/v2/image/jpg/42?w=300&h=300' | grep -i ^X-Cache   # MISS or PEER: a new key",
        owner));
    out.println("Ring:     curl -s " + urls.get(0) + "/_imgcache/ring");
    out.println("Metrics:  curl -s " + urls.get(0) + "/_imgcache/metrics | grep ^imgcache_");
    out.println("Stats:    curl -s " + urls.get(0) + "/_imgcache/stats");
    out.println("Cluster:  imgcache status --url " + urls.get(0) + "   (JSON: curl -s " + urls.get(0) + "/_imgcache/cluster)");
    out.println("Ctrl-C stops the demo.");
    Main.awaitShutdown(() -> closeTogether(nodes), origin);
    return 0;
  }

  /**
   * Closes every node at once and returns when all have stopped: each close blocks for its own
   * drain, and one after another they would add up.
   */
  static void closeTogether(List<Node> nodes) throws InterruptedException {
    List<Thread> closers = new ArrayList<>();
    for (Node node : nodes) {
      Thread closer = new Thread(node::close, "imgcache-demo-close-" + node.port());
      closer.start();
      closers.add(closer);
    }
    for (Thread closer : closers) {
      closer.join();
    }
  }

  /** The first port from {@code port} on that 127.0.0.1 can bind right now. */
  static int freePortFrom(int port) {
    for (int p = port; p < port + 100; p++) {
      try (ServerSocket socket = new ServerSocket()) {
        socket.setReuseAddress(true);
        socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), p));
        return p;
      } catch (IOException e) {
        // taken: try the next one
      }
    }
    throw new IllegalStateException("no free port in " + port + ".." + (port + 99));
  }
}
