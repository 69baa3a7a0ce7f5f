package io.imgcache.http;

import io.imgcache.httpclient.HopByHop;
import io.imgcache.httpclient.PooledHttpClient;
import io.imgcache.metrics.Metrics;
import io.undertow.client.ClientCallback;
import io.undertow.client.ClientConnection;
import io.undertow.client.ClientExchange;
import io.undertow.client.ClientRequest;
import io.undertow.client.ClientResponse;
import io.undertow.connector.PooledByteBuffer;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.HeaderMap;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;
import io.undertow.util.StatusCodes;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.xnio.ChannelListeners;
import org.xnio.IoUtils;
import org.xnio.Options;
import org.xnio.StreamConnection;
import org.xnio.XnioExecutor;
import org.xnio.XnioIoThread;
import org.xnio.channels.StreamSinkChannel;
import org.xnio.channels.StreamSourceChannel;

/**
 * One streamed pass-through: the client's request (and body) to the origin over a leased
 * connection, the origin's answer (and body) back. Two IO threads are involved — the client
 * exchange's ({@code front}) and the origin connection's ({@code back}) — and each side's channels
 * are touched only on their own thread; a buffer crosses over with {@code execute}, one at a time
 * per direction, which is also the flow control.
 *
 * <p>It ends exactly once ({@link #finished}): the origin's answer read whole (the connection goes
 * back to the pool if the request went out whole too), or an abort that closes the origin
 * connection — a client body cut short, a broken connection, the timeout — so that the origin never
 * takes a partial request for a complete one.
 */
final class PassThroughExchange {

  private final HttpServerExchange exchange;
  private final PooledHttpClient.Lease lease;
  private final ClientConnection connection;
  private final HeaderMap requestHeaders;
  private final Duration timeout;
  private final Metrics metrics;
  private final XnioIoThread front;
  private final XnioIoThread back;
  private final boolean requestBody;
  /** Set by whoever ends the exchange first: the complete answer, or an abort. */
  private final AtomicBoolean finished = new AtomicBoolean();

  // Front thread only.
  private StreamSourceChannel clientBody;
  private boolean answerStarted; // the origin's status and headers are on the exchange

  // Back thread only.
  private XnioExecutor.Key timer;
  private StreamSinkChannel originBody;
  private ResponseRelay relay; // the answer's body, once it has come
  private boolean requestSent;

  PassThroughExchange(HttpServerExchange exchange, PooledHttpClient.Lease lease, HeaderMap requestHeaders,
      Duration timeout, Metrics metrics) {
    this.exchange = exchange;
    this.lease = lease;
    this.connection = lease.connection();
    this.requestHeaders = requestHeaders;
    this.timeout = timeout;
    this.metrics = metrics;
    this.front = exchange.getIoThread();
    this.back = connection.getIoThread();
    String length = requestHeaders.getFirst(Headers.CONTENT_LENGTH);
    this.requestBody = requestHeaders.contains(Headers.TRANSFER_ENCODING) || (length != null && !length.equals("0"));
  }

  /** Call on the front thread. */
  void start() {
    back.execute(this::send);
  }

  // ---- back thread: the request ----

  private void send() {
    timer = back.executeAfter(() -> abort(StatusCodes.GATEWAY_TIME_OUT,
        "origin timed out: no complete response within " + timeout.toMillis() + "ms", "pass_timeout"),
        timeout.toMillis(), TimeUnit.MILLISECONDS);
    String query = exchange.getQueryString();
    ClientRequest request = new ClientRequest()
        .setMethod(exchange.getRequestMethod())
        .setPath(query.isEmpty() ? exchange.getRequestURI() : exchange.getRequestURI() + '?' + query);
    request.getRequestHeaders().putAll(requestHeaders);
    connection.sendRequest(request, new ClientCallback<>() {
      @Override
      public void completed(ClientExchange upstream) {
        upstream.setResponseListener(new ClientCallback<>() {
          @Override
          public void completed(ClientExchange result) {
            onResponse(result);
          }

          @Override
          public void failed(IOException e) {
            abort(StatusCodes.BAD_GATEWAY, "origin connection failed: " + e.getMessage(), "pass_io");
          }
        });
        if (requestBody) {
          originBody = upstream.getRequestChannel();
          front.execute(PassThroughExchange.this::readClientBody);
        } else {
          requestSent = true; // the client ends a bodiless request by itself
        }
      }

      @Override
      public void failed(IOException e) {
        abort(StatusCodes.BAD_GATEWAY, "cannot send the request to the origin: " + e.getMessage(), "pass_io");
      }
    });
  }

  private void writeOriginBody(PooledByteBuffer pooled) {
    if (finished.get()) {
      pooled.close();
      return;
    }
    ByteBuffer buffer = pooled.getBuffer();
    try {
      while (buffer.hasRemaining()) {
        if (originBody.write(buffer) == 0) {
          originBody.getWriteSetter().set(channel -> {
            channel.suspendWrites();
            writeOriginBody(pooled);
          });
          originBody.resumeWrites();
          return;
        }
      }
    } catch (IOException e) {
      pooled.close();
      abort(StatusCodes.BAD_GATEWAY, "sending the request body to the origin failed: " + e.getMessage(), "pass_io");
      return;
    }
    pooled.close();
    front.execute(this::readClientBody);
  }

  /** The client's body arrived whole: only now does the origin see its end (the last chunk). */
  private void endOriginBody() {
    if (finished.get()) {
      return;
    }
    try {
      originBody.shutdownWrites();
      if (originBody.flush()) {
        requestSent = true;
        return;
      }
      originBody.getWriteSetter().set(ChannelListeners.flushingChannelListener(
          channel -> requestSent = true,
          (channel, e) -> abort(StatusCodes.BAD_GATEWAY, "sending the request to the origin failed: "
              + e.getMessage(), "pass_io")));
      originBody.resumeWrites();
    } catch (IOException e) {
      abort(StatusCodes.BAD_GATEWAY, "sending the request to the origin failed: " + e.getMessage(), "pass_io");
    }
  }

  // ---- front thread: the client's body ----

  private void readClientBody() {
    if (finished.get()) {
      return;
    }
    if (clientBody == null) {
      clientBody = exchange.getRequestChannel();
      clientBody.getReadSetter().set(channel -> {
        channel.suspendReads();
        readClientBody();
      });
    }
    PooledByteBuffer pooled = exchange.getConnection().getByteBufferPool().allocate();
    int n;
    try {
      n = clientBody.read(pooled.getBuffer());
    } catch (IOException e) {
      pooled.close();
      // Cut short (the client went away mid-body, a bad chunk, over the size cap): the origin
      // connection is closed before it could see the end of the body.
      abort(StatusCodes.BAD_REQUEST, "request body incomplete: " + e.getMessage(), "pass_client_body");
      return;
    }
    if (n > 0) {
      pooled.getBuffer().flip();
      back.execute(() -> writeOriginBody(pooled));
    } else if (n == 0) {
      pooled.close();
      clientBody.resumeReads();
    } else {
      pooled.close();
      if (!exchange.isRequestComplete()) {
        // Undertow's chunked conduit reports the client's close mid-body as an end of stream too:
        // only a body read to its last chunk (or its Content-Length) may end the origin's request.
        abort(StatusCodes.BAD_REQUEST, "request body incomplete: the client closed mid-body", "pass_client_body");
        return;
      }
      back.execute(this::endOriginBody);
    }
  }

  // ---- back thread: the response ----

  private void onResponse(ClientExchange upstream) {
    if (finished.get()) {
      return; // timed out meanwhile: the client has its 504
    }
    ClientResponse response = upstream.getResponse();
    int status = response.getResponseCode();
    if (status < 200) { // see Exchange: the final answer would stay unread on the connection
      abort(StatusCodes.BAD_GATEWAY, "the origin sent an interim " + status + " response, which this node does not relay",
          "pass_io");
      return;
    }
    HeaderMap headers = response.getResponseHeaders();
    front.execute(() -> startAnswer(response));
    relay = new ResponseRelay(exchange, back, upstream.getResponseChannel(), connection.getBufferPool(), finished,
        new ResponseRelay.Ends() {
          @Override
          public void upstreamDone() {
            finish(requestSent);
          }

          @Override
          public void upstreamFailed(IOException e) {
            abort(StatusCodes.BAD_GATEWAY, "origin connection failed: " + e.getMessage(), "pass_io");
          }

          @Override
          public void clientGone() {
            // Stop reading the origin's answer, close its connection.
            if (finished.compareAndSet(false, true)) {
              timer.remove();
              lease.release(false);
            }
          }
        });
    if (HopByHop.bodilessButFramed(status, exchange.getRequestMethod(), headers)) {
      finish(false); // Undertow's client would wait for a body that never comes: done, but not reusable
      return;
    }
    relay.read();
  }

  /** The origin's answer is read whole: the connection goes back (or is closed), the client's ends. */
  private void finish(boolean reusable) {
    if (!finished.compareAndSet(false, true)) {
      return;
    }
    timer.remove();
    lease.release(reusable);
    front.execute(relay::endClientResponse);
  }

  // ---- front thread: the answer ----

  private void startAnswer(ClientResponse response) {
    if (exchange.isResponseStarted()) {
      return; // aborted and answered meanwhile
    }
    HeaderMap in = response.getResponseHeaders();
    Set<String> named = HopByHop.namedIn(in);
    HeaderMap out = exchange.getResponseHeaders();
    for (HeaderValues values : in) {
      String lower = values.getHeaderName().toString().toLowerCase(Locale.ROOT);
      if (!HopByHop.FIELDS.contains(lower) && !named.contains(lower)) { // Content-Length kept: the framing
        out.addAll(values.getHeaderName(), values);
      }
    }
    exchange.setStatusCode(response.getResponseCode());
    answerStarted = true;
  }

  // ---- either thread ----

  /**
   * Ends the pass-through early: the origin connection is closed (on its thread), the client gets
   * {@code status} with {@code reason} if nothing of the origin's answer went out yet, else its
   * connection is closed (a truncated answer is the honest signal).
   */
  private void abort(int status, String reason, String metric) {
    if (!finished.compareAndSet(false, true)) {
      return;
    }
    metrics.originError(metric);
    back.execute(() -> {
      if (timer != null) {
        timer.remove();
      }
      try {
        // A reset of the raw socket, not a close of the client connection: that lets Undertow's
        // chunked conduit end the body with its last chunk, and the origin would take half an
        // upload for a whole one.
        StreamConnection raw = connection.performUpgrade();
        raw.setOption(Options.CLOSE_ABORT, true);
        IoUtils.safeClose(raw);
      } catch (IOException | IllegalArgumentException e) {
        // closed already
      }
      lease.release(false);
    });
    front.execute(() -> {
      if (answerStarted || exchange.isResponseStarted()) {
        IoUtils.safeClose(exchange.getConnection());
        return;
      }
      exchange.setPersistent(false);
      Responses.text(exchange, status, reason);
    });
  }
}
