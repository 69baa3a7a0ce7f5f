package io.imgcache.http;

import io.undertow.connector.ByteBufferPool;
import io.undertow.connector.PooledByteBuffer;
import io.undertow.server.HttpServerExchange;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicBoolean;
import org.xnio.ChannelListeners;
import org.xnio.IoUtils;
import org.xnio.XnioIoThread;
import org.xnio.channels.StreamSinkChannel;
import org.xnio.channels.StreamSourceChannel;

/**
 * Pumps a response body from an upstream channel, read on its connection's IO thread ({@code
 * back}), into a client exchange's response, written on the exchange's IO thread ({@code front}).
 * One buffer is in flight at a time: a slow client slows the reads, which is the flow control.
 *
 * <p>The owner decides the status and headers before the first byte and how the relay ends: {@link
 * Ends#upstreamDone} when the body was read whole, {@link Ends#upstreamFailed} when reading it
 * failed, {@link Ends#clientGone} when the client's connection broke (it is closed by then). Setting {@code stopped} stops the reads; the owner then
 * closes the upstream and answers the client itself.
 */
final class ResponseRelay {
  /** How a relay ends; called on the back thread, at most one of them, once. */
  interface Ends {
    /** The upstream body was read to its end; {@link #endClientResponse} ends the client's. */
    void upstreamDone();

    /** Reading the upstream body failed: abort. */
    void upstreamFailed(IOException e);

    /** Writing to the client failed and its connection is closed: close the upstream too. */
    void clientGone();
  }

  private final HttpServerExchange exchange;
  private final XnioIoThread front;
  private final XnioIoThread back;
  private final StreamSourceChannel source; // back thread only
  private final ByteBufferPool buffers;
  private final AtomicBoolean stopped;
  private final Ends ends;
  private StreamSinkChannel sink; // front thread only
  private boolean reading; // back thread only: the read listener is set

  ResponseRelay(HttpServerExchange exchange, XnioIoThread back, StreamSourceChannel source, ByteBufferPool buffers,
      AtomicBoolean stopped, Ends ends) {
    this.exchange = exchange;
    this.front = exchange.getIoThread();
    this.back = back;
    this.source = source;
    this.buffers = buffers;
    this.stopped = stopped;
    this.ends = ends;
  }

  /** Front thread: writes {@code prefix} (the body's start, read already), then relays the rest. */
  void start(ByteBuffer prefix) {
    if (!prefix.hasRemaining()) {
      back.execute(this::read);
      return;
    }
    write(prefix, null);
  }

  /** Back thread: reads what has arrived and passes it on, or waits for more. */
  void read() {
    if (stopped.get()) {
      return;
    }
    if (!reading) {
      reading = true;
      source.getReadSetter().set(channel -> {
        channel.suspendReads();
        read();
      });
    }
    PooledByteBuffer pooled = buffers.allocate();
    int n;
    try {
      n = source.read(pooled.getBuffer());
    } catch (IOException e) {
      pooled.close();
      ends.upstreamFailed(e);
      return;
    }
    if (n > 0) {
      pooled.getBuffer().flip();
      front.execute(() -> write(pooled.getBuffer(), pooled));
    } else if (n == 0) {
      pooled.close();
      source.resumeReads();
    } else {
      pooled.close();
      ends.upstreamDone();
    }
  }

  /** Front thread: writes {@code buffer} whole, then asks the back thread for more. */
  private void write(ByteBuffer buffer, PooledByteBuffer pooled) {
    try {
      StreamSinkChannel channel = sink();
      while (buffer.hasRemaining()) {
        if (channel.write(buffer) == 0) {
          channel.getWriteSetter().set(c -> {
            c.suspendWrites();
            write(buffer, pooled);
          });
          channel.resumeWrites();
          return;
        }
      }
    } catch (IOException e) {
      if (pooled != null) {
        pooled.close();
      }
      IoUtils.safeClose(exchange.getConnection());
      back.execute(ends::clientGone);
      return;
    }
    if (pooled != null) {
      pooled.close();
    }
    back.execute(this::read);
  }

  private StreamSinkChannel sink() {
    if (sink == null) {
      sink = exchange.getResponseChannel();
    }
    return sink;
  }

  /** Front thread: ends the client's response once everything written is flushed. */
  void endClientResponse() {
    try {
      StreamSinkChannel channel = sink();
      channel.shutdownWrites();
      if (channel.flush()) {
        exchange.endExchange();
        return;
      }
      channel.getWriteSetter().set(ChannelListeners.flushingChannelListener(
          c -> exchange.endExchange(), (c, e) -> IoUtils.safeClose(exchange.getConnection())));
      channel.resumeWrites();
    } catch (IOException e) {
      IoUtils.safeClose(exchange.getConnection());
    }
  }
}
