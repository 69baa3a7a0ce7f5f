package io.imgcache;

import com.sun.management.ThreadMXBean;
import java.lang.management.ManagementFactory;

/** Heap and allocation figures, and their formatting, shared by the bench mains (RingBench, ClusterSim). */
public final class BenchFigures {
  private static final ThreadMXBean THREADS = (ThreadMXBean) ManagementFactory.getThreadMXBean();

  private BenchFigures() {}

  /** Heap in use after a few full collections. */
  public static long usedAfterGc() {
    for (int i = 0; i < 3; i++) {
      System.gc();
    }
    Runtime r = Runtime.getRuntime();
    return r.totalMemory() - r.freeMemory();
  }

  /** Bytes the calling thread has allocated so far. */
  public static long allocated() {
    return THREADS.getThreadAllocatedBytes(Thread.currentThread().getId());
  }

  public static String millis(long nanos) {
    return nanos >= 10_000_000 ? String.format("%,d ms", nanos / 1_000_000) : String.format("%.1f ms", nanos / 1e6);
  }

  public static String mb(long bytes) {
    return bytes >= 10 << 20 ? String.format("%,d MB", bytes >> 20) : String.format("%.1f MB", bytes / 1048576.0);
  }
}
