package io.imgcache.http;

import io.undertow.server.Connectors;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.SameThreadExecutor;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import org.xnio.IoUtils;

/**
 * Holds client requests that arrive before the node has its first member list. Until then its
 * ring holds itself alone: it would take every key for its own, load other owners' keys from its
 * origin and keep them. With etcd the list comes within a second of start, usually; clients that
 * only changed the port do not wait for {@code /_imgcache/readyz} as a load balancer does. A held
 * request goes on when {@code gate} completes: the list is there, or the node stopped waiting
 * for it (etcd unreachable at start) and serves with what it has. Holding takes no thread; peer
 * and node requests never reach this handler.
 */
final class AwaitMembers implements HttpHandler {
  private final CompletableFuture<Void> gate;
  private final HttpHandler next;

  AwaitMembers(CompletableFuture<Void> gate, HttpHandler next) {
    this.gate = gate;
    this.next = next;
  }

  @Override
  public void handleRequest(HttpServerExchange exchange) throws Exception {
    if (gate.isDone()) {
      next.handleRequest(exchange);
      return;
    }
    exchange.dispatch(SameThreadExecutor.INSTANCE, () -> gate.whenComplete((ignored, failure) -> {
      try {
        exchange.getIoThread().execute(() -> Connectors.executeRootHandler(next, exchange));
      } catch (RejectedExecutionException e) {
        IoUtils.safeClose(exchange.getConnection()); // the node stopped meanwhile: nothing will answer it
      }
    }));
  }
}
