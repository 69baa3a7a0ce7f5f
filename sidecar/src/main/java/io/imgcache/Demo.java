package io.imgcache;

import com.typesafe.config.ConfigFactory;
import io.imgcache.config.ImgcacheConfig;
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
  static final int NODES = 1;

  private Demo() {}

  static int run(PrintStream out) {
    SampleOrigin origin = SampleOrigin.start("127.0.0.1", 0, Duration.ofMillis(50));
    List<AutoCloseable> running = new ArrayList<>();
    List<Integer> ports = new ArrayList<>();
    int port = FIRST_PORT;
    for (int i = 0; i < NODES; i++) {
      port = freePortFrom(port);
      ports.add(port);
      port++;
    }
    for (int nodePort : ports) {
      Map<String, Object> overrides = Map.of(
          "imgcache.listen.host", "127.0.0.1",
          "imgcache.listen.port", nodePort,
          "imgcache.self-url", "http://127.0.0.1:" + nodePort,
          "imgcache.origin.url", "http://127.0.0.1:" + origin.port());
      ImgcacheConfig config = ImgcacheConfig.from(ConfigFactory.parseMap(overrides)
          .withFallback(ImgcacheConfig.effective(null)).resolve());
      running.add(Node.start(config));
    }
    running.add(origin);

    String image = "/v2/image/png/003?w=850&h=200&type=.png";
    out.println();
    out.println("imgcache demo: sample origin on http://127.0.0.1:" + origin.port() + " (50 ms per image)");
    for (int nodePort : ports) {
      out.println("  node on http://127.0.0.1:" + nodePort);
    }
    out.println();
    out.println("Try it (the first request is a MISS, the next ones HITs):");
    for (int nodePort : ports) {
      out.println("  curl -s -o /dev/null -D - 'http://127.0.0.1:" + nodePort + image + "' | grep -iE '^(HTTP|X-Cache|Content-Length)'");
    }
    out.println("Metrics:  curl -s http://127.0.0.1:" + ports.get(0) + "/metrics | grep ^imgcache_");
    out.println("Stats:    curl -s http://127.0.0.1:" + ports.get(0) + "/_imgcache/stats");
    out.println("Ctrl-C stops the demo.");
    Main.awaitShutdown(running.toArray(AutoCloseable[]::new));
    return 0;
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
