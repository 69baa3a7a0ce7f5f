package io.imgcache;

import io.undertow.Undertow;
import io.undertow.UndertowOptions;
import io.undertow.util.Headers;
import java.nio.ByteBuffer;
import java.util.Random;

/**
 * A bare Undertow server on one IO thread that answers every request with the same body, over
 * HTTP/1.1 and cleartext HTTP/2 (prior knowledge) on one port: {@code bench/http2-cost} measures
 * what one answer costs it in each protocol, the question behind running the peer protocol over
 * HTTP/2 (issue 12). Not a unit test.
 *
 * <p>Arguments: port, body bytes.
 */
public final class Http2CostServer {
  private Http2CostServer() {}

  public static void main(String[] args) {
    int port = Integer.parseInt(args[0]);
    byte[] bytes = new byte[Integer.parseInt(args[1])];
    new Random(1).nextBytes(bytes);
    ByteBuffer body = ByteBuffer.allocateDirect(bytes.length).put(bytes).flip();
    Undertow.builder()
        .setIoThreads(1)
        .setWorkerThreads(1)
        .setServerOption(UndertowOptions.ENABLE_HTTP2, true)
        .addHttpListener(port, "127.0.0.1")
        .setHandler(exchange -> {
          exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "image/png");
          exchange.getResponseSender().send(body.duplicate());
        })
        .build()
        .start();
  }
}
