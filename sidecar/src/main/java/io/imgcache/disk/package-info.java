/**
 * The disk tier (DESIGN §5): responses kept in files under the memory caches, indexed in memory,
 * checked by CRC.
 *
 * <p>Why the plain filesystem and not an embedded engine (RocksDB with blob files was the
 * candidate): a stored response is written once, read many times and never updated in place,
 * which is what files do well; a file's body can be mapped and handed to the socket without
 * passing through the Java heap, where RocksDB's Java binding copies every value out of its block
 * cache into a Java array or buffer; Caffeine, already the memory tier's policy, bounds the
 * directory with W-TinyLFU by weighing each file, so no second eviction policy is needed; a crash
 * leaves whole files or temporary ones (written, then renamed), and a damaged file costs one entry,
 * not a database to repair; and it adds no native library to the RPM. The price is one file per
 * entry (an inode and at least one block each) and an index rebuilt at start — in the background,
 * reads going straight to a key's file meanwhile. Measured: bench/run's disk phase (CPU per disk
 * hit against a memory hit) and bench/disk-restart (time to serving on 100,000 files). RocksDB was
 * not measured here: it is not in this build's dependency set, and the copy it makes per read is
 * exactly what the tier is meant to avoid.
 */
package io.imgcache.disk;
