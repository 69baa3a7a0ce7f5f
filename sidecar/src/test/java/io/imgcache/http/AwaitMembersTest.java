package io.imgcache.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.undertow.Undertow;
import io.undertow.server.HttpHandler;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Client requests that reach a node before its first member list wait for it (the gate), then go
 * on, every one answered; none is handled before the gate opens, and once it is open nothing
 * waits. The order is checked by the handler behind the gate, not by timing.
 */
class AwaitMembersTest {
  private final CompletableFuture<Void> gate = new CompletableFuture<>();
  private final AtomicInteger arrived = new AtomicInteger();
  private final AtomicInteger handledEarly = new AtomicInteger();
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private Undertow server;
  private int port;

  @BeforeEach
  void start() {
    HttpHandler behind = exchange -> {
      if (!gate.isDone()) {
        handledEarly.incrementAndGet();
      }
      exchange.getResponseSender().send("served " + exchange.getRequestPath());
    };
    AwaitMembers await = new AwaitMembers(gate, behind);
    server = Undertow.builder()
        .addHttpListener(0, "127.0.0.1")
        .setIoThreads(1)
        .setWorkerThreads(1)
        .setHandler(exchange -> {
          arrived.incrementAndGet();
          await.handleRequest(exchange);
        })
        .build();
    server.start();
    port = ((InetSocketAddress) server.getListenerInfo().get(0).getAddress()).getPort();
  }

  @AfterEach
  void stop() {
    server.stop();
  }

  private CompletableFuture<HttpResponse<String>> get(String path) {
    return http.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void requestsBeforeTheFirstMemberListWaitForItAndAreAllAnswered() throws Exception {
    List<CompletableFuture<HttpResponse<String>>> held = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      held.add(get("/v2/image/png/" + i));
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (arrived.get() < held.size() && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertEquals(held.size(), arrived.get(), "every request reached the server");
    assertTrue(held.stream().noneMatch(CompletableFuture::isDone), "answered before the member list");

    gate.complete(null);

    for (int i = 0; i < held.size(); i++) {
      HttpResponse<String> response = held.get(i).get(20, TimeUnit.SECONDS);
      assertEquals(200, response.statusCode());
      assertEquals("served /v2/image/png/" + i, response.body());
    }
    assertEquals(0, handledEarly.get(), "handled while the gate was closed");
    assertEquals("served /later", get("/later").get(20, TimeUnit.SECONDS).body(), "nothing waits once open");
  }
}
