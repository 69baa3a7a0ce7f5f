package io.imgcache.httpclient;

import com.google.common.collect.ImmutableSet;
import io.imgcache.httpclient.HttpClientException.Kind;
import io.undertow.client.ClientCallback;
import io.undertow.client.ClientConnection;
import io.undertow.client.ClientExchange;
import io.undertow.client.ClientRequest;
import io.undertow.client.ClientResponse;
import io.undertow.connector.PooledByteBuffer;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import io.undertow.util.Methods;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.net.URI;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.xnio.ChannelListener;
import org.xnio.XnioExecutor;
import org.xnio.channels.StreamSourceChannel;

/**
 * One bodiless request (GET, HEAD, DELETE) on one borrowed connection: send, read the whole bounded body, give the connection back
 * (or invalidate it when anything went wrong). Runs entirely on the connection's IO thread, which
 * is the only thread allowed to touch an Undertow client connection.
 */
final class Exchange implements ChannelListener<StreamSourceChannel> {
  /** Headers that describe one hop, never forwarded (RFC 9110 §7.6.1), plus the body framing. */
  private static final Set<String> HOP_BY_HOP =
      ImmutableSet.<String>builder().addAll(HopByHop.FIELDS).add("content-length").build();

  private final ClientConnection connection;
  private final ClientRequest request;
  private final long timeoutNanos;
  private final long maxBody;
  private final boolean handOver; // a too-large body is handed on (GET), not dropped
  private final CompletableFuture<HttpResponse> result;
  private final Consumer<Boolean> release; // true = reusable, false = invalidate; called once
  private final AtomicBoolean released = new AtomicBoolean();

  // Touched only on the connection's IO thread.
  private int status;
  private List<String> headers;
  private long contentLength;
  private byte[] body;
  private int length;

  Exchange(ClientConnection connection, HttpString method, URI target, String path, List<String> requestHeaders,
      long timeoutNanos, long maxBody, CompletableFuture<HttpResponse> result, Consumer<Boolean> release) {
    this.connection = connection;
    this.timeoutNanos = timeoutNanos;
    this.maxBody = maxBody;
    this.result = result;
    this.release = release;
    this.handOver = method.equals(Methods.GET);
    this.request = new ClientRequest().setMethod(method).setPath(path);
    request.getRequestHeaders().put(Headers.HOST, target.getAuthority());
    for (int i = 0; i < requestHeaders.size(); i += 2) {
      request.getRequestHeaders().add(HttpString.tryFromString(requestHeaders.get(i)), requestHeaders.get(i + 1));
    }
  }

  /** Starts the exchange on the connection's IO thread; {@code result} completes on that thread. */
  void start() {
    if (Thread.currentThread() == connection.getIoThread()) {
      send();
    } else {
      connection.getIoThread().execute(this::send);
    }
  }

  private void send() {
    XnioExecutor.Key timer = connection.getIoThread().executeAfter(
        () -> fail(Kind.TIMEOUT, "no response within " + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + "ms", null),
        timeoutNanos, TimeUnit.NANOSECONDS);
    result.whenComplete((r, e) -> timer.remove());
    connection.sendRequest(request, new ClientCallback<>() {
      @Override
      public void completed(ClientExchange exchange) {
        // No body: the client finishes the request by itself.
        exchange.setResponseListener(new ClientCallback<>() {
          @Override
          public void completed(ClientExchange exchange) {
            onResponse(exchange);
          }

          @Override
          public void failed(IOException e) {
            fail(Kind.IO, "exchange failed: " + e.getMessage(), e);
          }
        });
      }

      @Override
      public void failed(IOException e) {
        fail(Kind.IO, "cannot send request: " + e.getMessage(), e);
      }
    });
  }

  private void onResponse(ClientExchange exchange) {
    ClientResponse response = exchange.getResponse();
    status = response.getResponseCode();
    if (status < 200) {
      // Undertow's client takes an interim answer (103 Early Hints, 102) for the final one and would
      // leave the real one unread on the connection, for the next request to take as its own.
      fail(Kind.IO, "the origin sent an interim " + status + " response, which this node does not relay", null);
      return;
    }
    headers = endToEndHeaders(response);
    if (HopByHop.bodilessButFramed(status, request.getMethod(), response.getResponseHeaders())) {
      // Done at its head (a revalidation waiting for the body timed out: 504), the connection closed.
      body = new byte[0];
      finish(false);
      return;
    }
    String declared = response.getResponseHeaders().getFirst(Headers.CONTENT_LENGTH);
    long contentLength = declared == null ? -1 : parseLength(declared);
    this.contentLength = contentLength;
    if (contentLength > maxBody) {
      tooLarge("body of " + contentLength + " bytes exceeds " + maxBody, exchange.getResponseChannel(),
          ByteBuffer.allocate(0));
      return;
    }
    body = new byte[contentLength >= 0 ? (int) contentLength : 8192];
    handleEvent(exchange.getResponseChannel());
  }

  /** Reads what has arrived; re-arms itself until the end of the body. */
  @Override
  public void handleEvent(StreamSourceChannel channel) {
    if (result.isDone()) {
      return;
    }
    if (contentLength >= 0) {
      readDeclared(channel);
      return;
    }
    try (PooledByteBuffer pooled = connection.getBufferPool().allocate()) {
      ByteBuffer buffer = pooled.getBuffer();
      while (true) {
        buffer.clear();
        int n = channel.read(buffer);
        if (n == 0) {
          channel.getReadSetter().set(this);
          channel.resumeReads();
          return;
        }
        if (n < 0) {
          finish(true);
          return;
        }
        if (length + (long) n > maxBody) {
          buffer.flip();
          ByteBuffer prefix = ByteBuffer.allocate(length + n).put(body, 0, length).put(buffer).flip();
          body = null;
          tooLarge("body exceeds " + maxBody + " bytes", channel, prefix);
          return;
        }
        if (length + n > body.length) {
          body = Arrays.copyOf(body, (int) Math.min(maxBody, Math.max(body.length * 2L, length + (long) n)));
        }
        buffer.flip();
        buffer.get(body, length, n);
        length += n;
      }
    } catch (IOException e) {
      fail(Kind.IO, "reading the body failed: " + e.getMessage(), e);
    }
  }

  /**
   * A body of declared length (at most maxBody, checked before): read straight into its array. The
   * channel then reads as much as the socket holds per call — a 200 KB answer in a few reads, where
   * 16 KB pooled buffers took thirteen and a copy out of each.
   */
  private void readDeclared(StreamSourceChannel channel) {
    try {
      ByteBuffer rest = ByteBuffer.wrap(body, length, body.length - length);
      int n;
      do {
        // Once the body is whole this read returns -1 without a system call, and only it tells the
        // client connection that the response is over (an empty body is read too): else the
        // connection would go back to the pool with a response still open on it.
        n = channel.read(rest);
      } while (n > 0);
      length = rest.position();
      if (n == 0 && !rest.hasRemaining()) {
        // More than declared: the framing was chunked after all (a sender that sent both headers,
        // RFC 9112 §6.3). Read on as for an undeclared length, which grows the array up to maxBody.
        contentLength = -1;
        handleEvent(channel);
        return;
      }
      if (n == 0) {
        channel.getReadSetter().set(this);
        channel.resumeReads();
        return;
      }
      finish(true); // n < 0: the body is whole (or ended early: what arrived is the body, as when chunked)
    } catch (IOException e) {
      fail(Kind.IO, "reading the body failed: " + e.getMessage(), e);
    }
  }

  /** The body read so far is the answer; the connection is reused if {@code reusable} and still open. */
  private void finish(boolean reusable) {
    byte[] complete = length == body.length ? body : Arrays.copyOf(body, length);
    if (result.complete(new HttpResponse(status, headers, complete)) && released.compareAndSet(false, true)) {
      release.accept(reusable && connection.isOpen());
    }
  }

  /**
   * The body will not fit: a GET's response is handed on, open, to whoever claims it (the
   * connection and its release go with it); anything else fails and closes the connection.
   */
  private void tooLarge(String message, StreamSourceChannel channel, ByteBuffer prefix) {
    if (!handOver) {
      fail(Kind.TOO_LARGE, message, null);
      return;
    }
    channel.suspendReads();
    channel.getReadSetter().set(null);
    if (!released.compareAndSet(false, true)) {
      return;
    }
    OpenResponse open = new OpenResponse(status, headers, contentLength, prefix, connection, channel, release::accept);
    if (!result.completeExceptionally(new HttpClientException(Kind.TOO_LARGE, message, null, open)) && open.claim()) {
      open.release(false); // timed out meanwhile: nobody will take it
    }
  }

  private void fail(Kind kind, String message, Throwable cause) {
    if (result.completeExceptionally(new HttpClientException(kind, message, cause))
        && released.compareAndSet(false, true)) {
      // The connection may hold an unread body or a request in flight: never reuse it.
      release.accept(false);
    }
  }

  private static long parseLength(String value) {
    try {
      return Long.parseLong(value.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private static List<String> endToEndHeaders(ClientResponse response) {
    var map = response.getResponseHeaders();
    Set<String> named = HopByHop.namedIn(map);
    List<String> out = new ArrayList<>(map.size() * 2);
    for (HeaderValues values : map) {
      String name = values.getHeaderName().toString();
      String lower = name.toLowerCase(Locale.ROOT);
      if (HOP_BY_HOP.contains(lower) || named.contains(lower)) {
        continue;
      }
      for (String value : values) {
        out.add(name);
        out.add(value);
      }
    }
    return out;
  }
}
