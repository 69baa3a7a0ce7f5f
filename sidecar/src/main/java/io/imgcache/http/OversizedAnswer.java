package io.imgcache.http;

import io.imgcache.group.Failures;
import io.imgcache.group.ObjectTooLargeException;
import io.imgcache.httpclient.OpenResponse;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.HeaderMap;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.xnio.IoUtils;
import org.xnio.XnioExecutor;
import org.xnio.XnioIoThread;

/**
 * Streams an answer too large to cache to one client as it arrives from the server that sent it
 * (the origin, or the owner relaying its origin's), so that a load which learns the object is too
 * large costs no second request (issue 10 item 4). Coalesced waiters of the same load find it taken
 * and pass through themselves: one origin request each, never more.
 */
final class OversizedAnswer {
  private OversizedAnswer() {}

  /** The open answer {@code failure} carries, claimed for the caller; null when there is none or it is taken. */
  static OpenResponse claim(Throwable failure) {
    return Failures.cause(failure) instanceof ObjectTooLargeException e && e.answer() instanceof OpenResponse open
        && open.claim() ? open : null;
  }

  /**
   * Front thread: answers {@code exchange} with {@code open}'s status, headers and body ({@code
   * head}: headers only, the body dropped). {@code timeout} bounds the rest of the transfer; past
   * it, or when the upstream breaks, both connections are closed (a truncated answer is the honest
   * signal once the status went out).
   */
  static void relay(HttpServerExchange exchange, OpenResponse open, boolean head, Duration timeout) {
    HeaderMap out = exchange.getResponseHeaders();
    List<String> headers = open.headers();
    for (int i = 0; i < headers.size(); i += 2) {
      out.add(HttpString.tryFromString(headers.get(i)), headers.get(i + 1));
    }
    if (open.contentLength() >= 0) {
      out.put(Headers.CONTENT_LENGTH, open.contentLength());
    }
    exchange.setStatusCode(open.status());
    XnioIoThread back = open.ioThread();
    if (head) {
      back.execute(() -> open.release(false));
      exchange.endExchange();
      return;
    }
    new Transfer(exchange, open, timeout).start();
  }

  /** One relayed body; ends exactly once ({@link #finished}). */
  private static final class Transfer implements ResponseRelay.Ends {
    private final HttpServerExchange exchange;
    private final OpenResponse open;
    private final Duration timeout;
    private final AtomicBoolean finished = new AtomicBoolean();
    private final ResponseRelay relay;
    private XnioExecutor.Key timer; // back thread only

    Transfer(HttpServerExchange exchange, OpenResponse open, Duration timeout) {
      this.exchange = exchange;
      this.open = open;
      this.timeout = timeout;
      this.relay = new ResponseRelay(exchange, open.ioThread(), open.channel(), open.buffers(), finished, this);
    }

    /** Front thread. The timer is set on the back thread before the relay's first read there. */
    void start() {
      XnioIoThread back = open.ioThread();
      back.execute(() -> timer = back.executeAfter(() -> end(false), timeout.toMillis(), TimeUnit.MILLISECONDS));
      relay.start(open.prefix());
    }

    @Override
    public void upstreamDone() {
      end(true);
    }

    @Override
    public void upstreamFailed(IOException e) {
      end(false);
    }

    @Override
    public void clientGone() {
      end(false);
    }

    /** Back thread: releases the upstream; the client's response is ended, or its connection closed. */
    private void end(boolean whole) {
      if (!finished.compareAndSet(false, true)) {
        return;
      }
      if (timer != null) {
        timer.remove();
      }
      open.release(whole);
      exchange.getIoThread().execute(whole ? relay::endClientResponse : () -> IoUtils.safeClose(exchange.getConnection()));
    }
  }
}
