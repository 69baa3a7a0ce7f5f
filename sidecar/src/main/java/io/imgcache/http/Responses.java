package io.imgcache.http;

import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** Small answers every handler sends the same way. */
final class Responses {
  static final String TEXT = "text/plain; charset=utf-8";
  static final String JSON = "application/json";

  private Responses() {}

  /** Ends the exchange with {@code status} and a one-line plain-text body; non-blocking. */
  static void text(HttpServerExchange exchange, int status, String text) {
    send(exchange, status, TEXT, (text + "\n").getBytes(StandardCharsets.UTF_8));
  }

  static void send(HttpServerExchange exchange, int status, String contentType, byte[] body) {
    if (exchange.isResponseStarted()) {
      // Too late for a status: the client sees a truncated response, which is the honest signal.
      exchange.endExchange();
      return;
    }
    exchange.setStatusCode(status);
    exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, contentType);
    exchange.getResponseHeaders().put(Headers.CONTENT_LENGTH, body.length);
    exchange.getResponseHeaders().put(Headers.CACHE_CONTROL, "no-store");
    exchange.getResponseSender().send(ByteBuffer.wrap(body));
  }
}
