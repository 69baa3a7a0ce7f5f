/** The disk tier (DESIGN §5): responses kept in files under the memory caches, indexed in memory, checked by CRC. */
package io.imgcache.disk;
