/**
 * The disk tier (DESIGN §5): responses kept in files under the memory caches, indexed in memory,
 * checked by CRC.
 *
 * <p>Why the plain filesystem and not an embedded engine (RocksDB with blob files was the
 * candidate), measured with bench/disk-engines on the same 20,000 entries of 20 KiB (a busy 2-core
 * machine, 2026-12-02): a warm read costs RocksDB 10.10 7.9 µs (block cache, checksums off) against
 * 10.1 µs for open + pread + close of a file; writes 183 against 51 MB/s; RocksDB opens at once
 * where the file index is rebuilt by a scan (0.6 s for 20,000 files; reads go straight to a key's
 * file meanwhile). RocksDB's edge on reads is the open and close a file read pays, which a cache
 * of open descriptors would remove; writes go behind the answer through a bounded queue, where 51
 * MB/s (2,500 entries a second) is far above a node's load rate. What decided: the tier must stay
 * within {@code max-bytes} (by 5 % + 4 MiB): a deleted file frees its space at once, where RocksDB
 * frees deleted blobs only when blob garbage collection and compaction rewrite them, and has no
 * byte-bounded eviction of its own, so a second policy and index would sit beside it anyway;
 * Caffeine, already the memory tier's policy, bounds the directory with W-TinyLFU by weighing each
 * file. A crash leaves whole files or temporary ones (written, then renamed), and a damaged file
 * costs one entry, not a database to repair before the node can start; and no native library
 * (29 MB, its memory outside the JVM's accounting) joins the RPM. The price is one file per entry
 * (an inode and at least one block each) and the start-up scan. Also measured: bench/run's disk
 * phase (CPU per disk hit against a memory hit) and bench/disk-restart (time to serving on 100,000
 * files).
 *
 * <p>Where a read runs, also measured: a warm disk hit that hops to a disk thread and back to the
 * IO thread cost about twice the CPU of one read where it was asked (bench/run's disk phase, 2.13
 * × a memory hit). The hops, not the read (open, fstat, pread of 20 KiB, close: 9 µs), were the
 * difference. So a file this process used in the last 30 s is read on the caller's IO thread,
 * where a page-cache copy does not block, and the rest on the disk threads; Linux offers no
 * portable "read only if cached" to Java ({@code preadv2(RWF_NOWAIT)} needs native code, {@code
 * mincore} a mapping per read, 8 µs), so the rule is recency, checked after the fact by the
 * thread's own storage counter (see {@link io.imgcache.disk.FileStore}).
 *
 * <p>What a hit then cost, measured (perf, the same phase, ParallelGC): the open and close and the
 * pread's copy into a new direct buffer each time, whose memory the JVM returns only when the
 * collector runs (under ParallelGC the direct-memory limit forced full collections: p99 37 ms).
 * A bounded cache of open descriptors with pooled read buffers took it from 2.3 × to about 1.7 ×;
 * keeping the most read files mapped instead (a bounded number, unmapped by the store once no
 * response is being sent from them) took it to 1.34 × (15.7 vs 11.7 µs, p99 1.5-2.4 ms): no read
 * at all, the socket write copies from the page cache as a memory hit copies from its buffer.
 */
package io.imgcache.disk;
