package io.imgcache.disk;

import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A checked file's body, mapped, with a count of its users: the store's index of mapped files
 * (one) and every response lent from it not yet released. The last one to let go unmaps it at
 * once — neither the address space nor a deleted file's blocks wait for the garbage collector,
 * which is what frees a mapping otherwise — and no response can be written from it afterwards,
 * since the count only falls to zero once every lent response has been released.
 */
final class MappedBody {
  private static final Logger log = LoggerFactory.getLogger(MappedBody.class);
  private static final Unmapper UNMAPPER = Unmapper.find();

  private final MappedByteBuffer body;
  private final AtomicInteger users = new AtomicInteger(1); // the index's own
  private final AtomicLong live; // the store's count of mappings not yet unmapped

  MappedBody(MappedByteBuffer body, AtomicLong live) {
    this.body = body;
    this.live = live;
    live.incrementAndGet();
  }

  /**
   * A new user's lease, or null when the body is unmapped already (or about to be). Views of the
   * body are valid until the lease is run; runs after its first do nothing.
   */
  Runnable lend() {
    for (int n = users.get(); n > 0; n = users.get()) {
      if (users.compareAndSet(n, n + 1)) {
        return new Lease();
      }
    }
    return null;
  }

  /** The index lets go of it (once); it is unmapped now, or when the last lease is run. */
  void drop() {
    release();
  }

  private void release() {
    if (users.decrementAndGet() == 0) {
      live.decrementAndGet();
      UNMAPPER.unmap(body);
    }
  }

  /** One user's hold: released once, however often run (a writer may release twice). */
  private final class Lease extends java.util.concurrent.atomic.AtomicBoolean implements Runnable {
    @Override
    public void run() {
      if (compareAndSet(false, true)) {
        release();
      }
    }
  }

  /** A read-only view of the body, position 0: valid while its user holds a lease. */
  ByteBuffer view() {
    return body.duplicate();
  }

  /** Whether the body's pages are all in memory (mincore): a view is then written without waiting for the device. */
  boolean resident() {
    return body.isLoaded();
  }

  /** Faults the body's pages in (reads them from the device if need be): for a disk thread. */
  void load() {
    body.load();
  }

  /**
   * Java unmaps a mapping only when its buffer is collected; {@code sun.misc.Unsafe.invokeCleaner}
   * (module jdk.unsupported, there to stay until a supported API replaces it) does it now. Without
   * it, mappings go when the collector gets to them.
   */
  private interface Unmapper {
    void unmap(ByteBuffer mapped);

    static Unmapper find() {
      try {
        Class<?> unsafeClass = Class.forName("sun.misc.Unsafe");
        Field field = unsafeClass.getDeclaredField("theUnsafe");
        field.setAccessible(true);
        Object unsafe = field.get(null);
        java.lang.reflect.Method invokeCleaner = unsafeClass.getMethod("invokeCleaner", ByteBuffer.class);
        return mapped -> {
          try {
            invokeCleaner.invoke(unsafe, mapped);
          } catch (ReflectiveOperationException e) {
            log.debug("disk cache: cannot unmap: {}", e.toString());
          }
        };
      } catch (ReflectiveOperationException | RuntimeException e) {
        log.info("disk cache: mappings are freed by the garbage collector ({})", e.toString());
        return mapped -> {};
      }
    }
  }
}
