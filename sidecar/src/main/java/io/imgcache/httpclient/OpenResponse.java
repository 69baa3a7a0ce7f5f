package io.imgcache.httpclient;

import io.undertow.client.ClientConnection;
import io.undertow.connector.ByteBufferPool;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.xnio.XnioIoThread;
import org.xnio.channels.StreamSourceChannel;

/**
 * A response whose body is still arriving on its connection: its status and end-to-end headers,
 * the part of the body read so far, and the channel the rest comes on. A request that turns out
 * too large to keep ({@link HttpClientException.Kind#TOO_LARGE}) hands it on like this, so that the
 * caller can stream the answer to its client instead of asking the server a second time.
 *
 * <p>Exactly one taker may {@link #claim} it; the taker reads the channel on {@link #ioThread()}
 * only and ends with one {@link #release}. Nobody claiming it within {@link #CLAIM_WITHIN_SECONDS}
 * closes its connection. Thread-safe.
 */
public final class OpenResponse {
  /** How long an unclaimed response may hold its connection (and its budget permit). */
  static final long CLAIM_WITHIN_SECONDS = 10;

  private final int status;
  private final List<String> headers;
  private final long contentLength;
  private final ByteBuffer prefix;
  private final ClientConnection connection;
  private final StreamSourceChannel channel;
  private final Consumer<Boolean> release; // once, on the IO thread: true = reusable
  private final AtomicBoolean claimed; // shared with copies made by withHeaders

  OpenResponse(int status, List<String> headers, long contentLength, ByteBuffer prefix, ClientConnection connection,
      StreamSourceChannel channel, Consumer<Boolean> release) {
    this(status, headers, contentLength, prefix, connection, channel, release, new AtomicBoolean());
    connection.getIoThread().executeAfter(() -> {
      if (claim()) {
        release(false);
      }
    }, CLAIM_WITHIN_SECONDS, TimeUnit.SECONDS);
  }

  private OpenResponse(int status, List<String> headers, long contentLength, ByteBuffer prefix,
      ClientConnection connection, StreamSourceChannel channel, Consumer<Boolean> release, AtomicBoolean claimed) {
    this.status = status;
    this.headers = List.copyOf(headers);
    this.contentLength = contentLength;
    this.prefix = prefix;
    this.connection = connection;
    this.channel = channel;
    this.release = release;
    this.claimed = claimed;
  }

  /** The same response with other headers (e.g. a protocol's own removed); one claim covers both. */
  public OpenResponse withHeaders(List<String> replaced) {
    return new OpenResponse(status, replaced, contentLength, prefix, connection, channel, release, claimed);
  }

  public int status() {
    return status;
  }

  /** End-to-end headers, alternating name and value; no Content-Length (see {@link #contentLength}). */
  public List<String> headers() {
    return headers;
  }

  /** The whole body's declared length, or -1 when the server did not declare one. */
  public long contentLength() {
    return contentLength;
  }

  /** True for the first caller only, who must then stream (or drop) the body and release. */
  public boolean claim() {
    return claimed.compareAndSet(false, true);
  }

  /** The body's start, already read: to be sent before anything read from {@link #channel}. */
  public ByteBuffer prefix() {
    return prefix.duplicate();
  }

  /** The rest of the body; reads suspended, no listener set. Touch on {@link #ioThread()} only. */
  public StreamSourceChannel channel() {
    return channel;
  }

  public XnioIoThread ioThread() {
    return connection.getIoThread();
  }

  public ByteBufferPool buffers() {
    return connection.getBufferPool();
  }

  /**
   * Gives the connection back ({@code reusable}: the body was read to its end) or closes it; call
   * once, on {@link #ioThread()}.
   */
  public void release(boolean reusable) {
    release.accept(reusable && connection.isOpen());
  }
}
